"""IPython magics: thin argument parsers in front of the features' Python APIs.

Everything a magic does is one call to a feature's API with the same options
(``%finetune`` -> :func:`jupyter_dl.finetuning.finetune`, ``%browse`` ->
:func:`jupyter_dl.browser.browse`, ...); the help (``%finetune?``) is generated
from the arguments below. Reading the line (shared option groups, exact option names, the one
translation of the APIs' errors into ``UsageError``) is :mod:`jupyter_dl.magic_args`'s job.
"""
from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .magic_args import (
    check_name,
    data_source_arguments,
    data_source_options,
    exact_options,
    finetune_options,
    one_word,
    parse_line,
    split_positionals,
    training_arguments,
    training_options,
    unquote,
    usage_errors,
)


@magics_class
class DLMagics(Magics):
    """The jupyter_dl magics: %finetune, %lr_find, %browse, %label, %runs and %gpu."""

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's variables (a magic always runs in a shell)."""
        if self.shell is None:
            raise UsageError("jupyter_dl's magics run in an IPython shell: load them with %load_ext jupyter_dl.")
        return self.shell.user_ns

    @exact_options
    @magic_arguments()
    @training_arguments
    @argument("--epochs", type=int, default=1, help="epochs with the whole model unfrozen (default 1)")
    @argument("--freeze-epochs", type=int, default=1, help="epochs training only the new head first (default 1)")
    @argument("--lr", type=str, default=None,
              help="learning rate of the head (default 1e-2), or 'find' to run the LR finder and use its suggestion")
    @argument("--background", action="store_true",
              help="train in a background thread: the cell returns at once with the learner "
                   "(learn.status, learn.wait(), learn.stop()); the dashboard keeps updating")
    @argument("--auto-bs", action="store_true",
              help="if the GPU runs out of memory, halve the batch size and retry until it fits (default: stop "
                   "with an error that says how much memory was asked and free)")
    @argument("--no-train-bn", action="store_true",
              help="freeze BatchNorm layers with the body in the frozen phase (faster; fastai trains them)")
    @argument("--metrics", default="accuracy",
              help="comma-separated: accuracy, error_rate, f1 (default accuracy)")
    @argument("--devices", default=None, metavar="N",
              help="train in several processes with torch.distributed: N GPUs of this machine, or cpu:N CPU "
                   "processes; --bs is then per process (default: one device)")
    @argument("--sync-bn", action="store_true", help="with --devices N: BatchNorm statistics over all GPUs")
    @argument("--resume", default=None, metavar="RUN",
              help="go on with a stopped or crashed run from the state its folder saved at its last epoch end, "
                   "with that run's settings: its name as %%runs lists it, or its folder")
    @line_magic
    def finetune(self, line: str) -> None:
        """Fine-tune a pretrained image classifier on DATA and store the learner (``learn``).

        Examples::

            %finetune sample --epochs 3 --size 64
            %finetune resnet34 data/pets --label-re '^(.*)_\\d+\\.jpg$' --aug flip
            %finetune data/flowers --lr find --as flowers_learn
            %finetune data/flowers --resume resnet34-flowers-3
        """
        args = parse_line(self.finetune, line, "finetune")
        check_name(args.as_)
        arch, data = split_positionals(args.words, "finetune")
        from .finetuning import api

        # finetune() stores the learner as --as itself, and gives the variable its previous value back
        # when the run finishes no epoch: nothing to assign here.
        with usage_errors(self.finetune):
            api.finetune(data, arch=arch, **finetune_options(args), namespace=self.user_ns, learner_name=args.as_)

    @exact_options
    @magic_arguments()
    @training_arguments
    @argument("--start-lr", type=float, default=1e-7, help="lowest learning rate tried (default 1e-7)")
    @argument("--end-lr", type=float, default=10.0, help="highest learning rate tried (default 10)")
    @argument("--num-it", type=int, default=100, help="number of mini-batches in the sweep (default 100)")
    @line_magic
    def lr_find(self, line: str) -> None:
        """Sweep the learning rate on DATA, plot loss against it and suggest one (fastai's valley).

        The learner (with untouched weights) is stored as ``learn`` (see --as), and the
        suggestion as ``learn.suggested_lr``. Example::

            %lr_find sample --size 64
        """
        args = parse_line(self.lr_find, line, "lr_find")
        check_name(args.as_)
        arch, data = split_positionals(args.words, "lr_find")
        from .finetuning import api

        with usage_errors(self.lr_find):
            learner = api.lr_find(
                data, arch=arch, start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it,
                quiet=args.quiet, namespace=self.user_ns, **training_options(args),
            )
        self.user_ns[args.as_] = learner

    @exact_options
    @magic_arguments()
    @argument("words", nargs="+", metavar="TARGET",
              help="what to browse: anything %%finetune takes as DATA (a folder, a .csv file, 'sample', or the "
                   "name of a variable holding a DataFrame, torch Dataset or fastai DataLoaders), or a learner "
                   "variable (e.g. learn): its mistakes on the validation images, worst first")
    @argument("--class", dest="label", default=None, metavar="CLASS", help="start filtered to this class")
    @argument("--split", default="all", help="start with all, train or valid images (default all)")
    @argument("--page-size", type=int, default=48, metavar="N", help="thumbnails per page (default 48)")
    @argument("--size", type=int, default=128, metavar="PX", help="thumbnail side in pixels (default 128)")
    @argument("--data", default=None, metavar="DATA",
              help="with a learner as TARGET: its mistakes on this test set (anything %%finetune takes as DATA; "
                   "--label-col, --path-col and --label-re then describe it) instead of the validation images")
    @data_source_arguments
    @argument("--as", dest="as_", default=None, metavar="NAME",
              help="also keep the browser in this variable (its .selected, .editor, .health, ...)")
    @line_magic
    def browse(self, line: str) -> None:
        """Browse a data set: thumbnails, health check, filters; select, relabel, remove and undo.

        With a learner: its mistakes, sorted by loss, with an interactive confusion matrix. Examples::

            %browse data/pets
            %browse data/pets --class cat --split valid
            %browse labels.csv --label-col breed
            %browse learn
            %browse learn --data data/test
        """
        args = parse_line(self.browse, line, "browse")
        if args.as_ is not None:
            check_name(args.as_)
        target = one_word(args.words, "browse", "TARGET")
        from .browser import api

        with usage_errors(self.browse):
            browser = api.browse(target, namespace=self.user_ns, size=args.size, page_size=args.page_size,
                                 label=unquote(args.label), split=args.split, data=unquote(args.data),
                                 **data_source_options(args))
        if args.as_ is not None:
            self.user_ns[args.as_] = browser

    @exact_options
    @magic_arguments()
    @argument("words", nargs="+", metavar="DATA",
              help="a folder of class sub-folders (it may have none yet) whose images to label are in "
                   "DATA/unlabelled (or --pool); or a .csv file / DataFrame variable whose label column is empty "
                   "for the images to label")
    @argument("--classes", default=None, metavar="A,B,C",
              help="class names, comma-separated (the class folders and labels already there count too; more "
                   "can be added in the widget)")
    @argument("--pool", default=None, metavar="DIR", help="the folder of images to label (default DATA/unlabelled)")
    @argument("--page-size", type=int, default=24, metavar="N", help="images per page (default 24)")
    @argument("--size", type=int, default=128, metavar="PX", help="thumbnail side in pixels (default 128)")
    @argument("--arch", default=None,
              help="the pretrained model whose body embeds the images for suggestions and which the background "
                   "fine-tunes train (default efficientnet_lite0, weights ship offline)")
    @argument("--retrain-every", type=int, default=50, metavar="N",
              help="fine-tune in the background every N new labels; its predictions then replace the "
                   "suggestions (default 50; 0: only with the Fine-tune now button)")
    @argument("--epochs", type=int, default=1, help="epochs of each background fine-tune, unfrozen (default 1)")
    @argument("--strategy", default="mixed",
              help="page order: mixed (a quarter least certain, the rest surest; default), uncertain or confident")
    @argument("--label-col", default="label", help="CSV/DataFrame column holding labels (default label)")
    @argument("--path-col", default="path", help="CSV/DataFrame column holding image paths (default path)")
    @argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    @argument("--as", dest="as_", default="labeller", metavar="NAME",
              help="keep the labeller in this variable (default labeller: .label(), .accept(), .undo(), .page)")
    @line_magic
    def label(self, line: str) -> None:
        """Label a pool of images fast: a keyboard-first page grid with suggestions from a model in the loop.

        Keys (click the grid first): arrows move, 1-9 label, a accepts the page's suggestions, x skips,
        u undoes, Enter shows the next page. Every label moves the file into its class folder (or writes
        that row of the table) safely, with undo, a change log and a provenance line. Examples::

            %label data/pets --classes cat,dog
            %label data/pets --pool ~/Downloads/new_photos
            %label labels.csv --label-col breed
        """
        args = parse_line(self.label, line, "label")
        check_name(args.as_)
        data = one_word(args.words, "label", "DATA")
        from .labelling import api

        with usage_errors(self.label):
            labeller = api.label(data, classes=unquote(args.classes), pool=unquote(args.pool),
                                 namespace=self.user_ns, arch=unquote(args.arch), thumb_size=args.size,
                                 page_size=args.page_size, retrain_every=args.retrain_every, epochs=args.epochs,
                                 strategy=args.strategy, label_col=unquote(args.label_col),
                                 path_col=unquote(args.path_col), device=args.device)
        self.user_ns[args.as_] = labeller

    @exact_options
    @magic_arguments()
    @argument("names", nargs="*", metavar="NAME",
              help="runs to show and compare: a run folder's name, or a unique start or part of it "
                   "(e.g. 20261127-0001 or lite0-pets); none: list every run")
    @argument("--metric", default=None,
              help="the per-epoch column to compare: valid_loss (default: valid and train loss), train_loss, "
                   "accuracy, ...; the table's 'best' column shows it too")
    @argument("--last", type=int, default=None, metavar="N", help="show and compare the N newest runs")
    @argument("--root", default=None, metavar="DIR", help="the runs folder (default: $JUPYTER_DL_RUNS, else ./runs)")
    @line_magic
    def runs(self, line: str) -> None:
        """List the recorded runs (newest first), or show the chosen ones and overlay their curves.

        Works after a kernel restart: it reads the run logs on disk. Examples::

            %runs
            %runs --last 2
            %runs 20261127-0001 20261127-0002 --metric accuracy
        """
        args = parse_line(self.runs, line, "runs")
        from .history import api

        with usage_errors(self.runs):
            api.show_runs(*[unquote(n) for n in args.names], metric=args.metric, last=args.last,
                          root=unquote(args.root))

    @exact_options
    @magic_arguments()
    @argument("--interval", default=1.0, metavar="SECONDS",
              help="seconds between readings (default 1, at least 0.1)")
    @argument("--history", default=300.0, metavar="SECONDS",
              help="seconds of history the chart shows (default 300, at most 600)")
    @argument("--once", action="store_true",
              help="one static table of the current numbers instead of the live widget")
    @argument("--stop", action="store_true", help="stop this kernel's live monitor")
    @line_magic
    def gpu(self, line: str) -> None:
        """Live GPU monitor: per GPU utilisation, memory, temperature and power, CPU and RAM, and a chart.

        Without an NVIDIA GPU it says why in one line and shows CPU and RAM. It stops when its
        output is cleared or a newer %gpu starts, and pauses while no page shows it. Examples::

            %gpu
            %gpu --interval 0.5
            %gpu --once
        """
        args = parse_line(self.gpu, line, "gpu")
        from .gpu import api

        if args.stop:
            if not api.stop_gpu_monitor():
                print("No live GPU monitor is running in this kernel.")
            return
        with usage_errors(self.gpu):
            api.gpu_monitor(interval=args.interval, once=args.once, history=args.history)

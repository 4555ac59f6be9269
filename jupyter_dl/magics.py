"""IPython magics: thin argument parsers in front of the features' Python APIs.

Everything a magic does is one call to a feature's API with the same options
(``%finetune`` -> :func:`jupyter_dl.finetuning.finetune`, ``%browse`` ->
:func:`jupyter_dl.browser.browse`, ...); the help (``%finetune?``) is generated
from the arguments below. Options that several magics share are declared once,
as argument groups (:func:`data_source_arguments`, :func:`training_arguments`).
Bad input raises ``UsageError`` itself, which IPython prints as one line: the
APIs' :class:`~jupyter_dl.errors.UserInputError` is translated in one place,
:func:`usage_errors`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .errors import UserInputError

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """Bad input found by an API (:class:`UserInputError`) becomes the magic's one-line ``UsageError``."""
    try:
        yield
    except UserInputError as exc:
        raise UsageError(str(exc)) from None


def check_name(name: str) -> str:
    """``--as NAME`` must be a Python variable name."""
    if not name.isidentifier():
        raise UsageError(f"--as needs a Python variable name, not {name!r}.")
    return name


@overload
def _unquote(token: str) -> str: ...
@overload
def _unquote(token: None) -> None: ...
def _unquote(token: str | None) -> str | None:
    """IPython's splitter keeps quotes ('a b' stays quoted): drop one matching pair."""
    if token and len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def _lr(text: str) -> float | str:
    if text == "find":
        return "find"
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--lr takes a number (e.g. 3e-3) or 'find', not {text!r}.") from None
    return value


def _split_positionals(words: list[str], magic: str) -> tuple[str | None, str]:
    words = [_unquote(w) for w in words]
    if len(words) == 1:
        return None, words[0]
    if len(words) == 2:
        return words[0], words[1]
    raise UsageError(
        f"%{magic} takes DATA or ARCH DATA, got {len(words)} words ({' '.join(words)}): "
        "quote paths that contain spaces."
    )


def _apply(arguments: list[Callable[[F], F]], func: F) -> F:
    for decorate in reversed(arguments):
        func = decorate(func)
    return func


def data_source_arguments(func: F) -> F:
    """How DATA is read and split: the options every magic that reads a data set shares."""
    return _apply([
        argument("--label-col", default="label", help="CSV/DataFrame column holding labels (default label)"),
        argument("--path-col", default="path", help="CSV/DataFrame column holding image paths (default path)"),
        argument("--label-re", default=None,
                 help="regex with one group that takes the label from each file name, e.g. '^(.*)_\\d+\\.jpg$'"),
        argument("--valid-pct", type=float, default=0.2,
                 help="share of images held out for validation when the data has no valid/ split (default 0.2)"),
        argument("--seed", type=int, default=42, help="random seed for the split, shuffling and init (default 42)"),
    ], func)


def data_source_options(args: Any) -> dict[str, Any]:
    """The :func:`data_source_arguments` as API keyword arguments."""
    return dict(label_col=_unquote(args.label_col), path_col=_unquote(args.path_col),
                label_re=_unquote(args.label_re), valid_pct=args.valid_pct, seed=args.seed)


def training_arguments(func: F) -> F:
    """The data/model/device options %finetune and %lr_find share (the data source's among them)."""
    return _apply([
        argument("words", nargs="+", metavar="[ARCH] DATA",
                 help="DATA: a folder (one sub-folder per class, or train/ and valid/), a .csv file, "
                      "'sample', or the name of a variable holding a DataFrame, torch Dataset or fastai "
                      "DataLoaders. ARCH (optional, first): a timm or torchvision model name, or a "
                      "variable holding an nn.Module; default efficientnet_lite0 (weights ship offline)."),
        argument("--bs", type=int, default=64, help="batch size (default 64)"),
        argument("--size", type=int, default=224, help="image side in pixels (default 224)"),
        data_source_arguments,
        argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)"),
        argument("--precision", default="auto", help="auto, fp32, bf16 or fp16 (default auto: mixed on CUDA)"),
        argument("--workers", type=int, default=None,
                 help="threads decoding images once into the cache (default: number of CPU cores, at most 8)"),
        argument("--weights", default=None, help="a local checkpoint file to start from (.pth, .pt, .safetensors)"),
        argument("--no-pretrained", action="store_true", help="start from random weights"),
        argument("--aug", default="light", choices=["none", "light", "flip"],
                 help="batch augmentation: none, light (zoom/rotate/shift/lighting) or flip (light + "
                      "horizontal flips; for photos) (default light)"),
        argument("--as", dest="as_", default="learn", metavar="NAME",
                 help="variable the learner is stored in (default learn)"),
        argument("--quiet", action="store_true", help="no progress display, only the final summary"),
    ], func)


def training_options(args: Any) -> dict[str, Any]:
    """The :func:`training_arguments` as API keyword arguments (not ``words``, ``--as``, ``--quiet``)."""
    return dict(bs=args.bs, size=args.size, device=args.device, precision=args.precision, workers=args.workers,
                weights=_unquote(args.weights), pretrained=not args.no_pretrained, augment=args.aug,
                **data_source_options(args))


@magics_class
class DLMagics(Magics):
    """The jupyter_dl magics: %finetune, %lr_find, %browse, %runs and %gpu."""

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's variables (a magic always runs in a shell)."""
        if self.shell is None:
            raise UsageError("jupyter_dl's magics run in an IPython shell: load them with %load_ext jupyter_dl.")
        return self.shell.user_ns

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
    @line_magic
    def finetune(self, line: str) -> None:
        """Fine-tune a pretrained image classifier on DATA and store the learner (``learn``).

        Examples::

            %finetune sample --epochs 3 --size 64
            %finetune resnet34 data/pets --label-re '^(.*)_\\d+\\.jpg$' --aug flip
            %finetune data/flowers --lr find --as flowers_learn
        """
        args = parse_argstring(self.finetune, line)
        check_name(args.as_)
        arch, data = _split_positionals(args.words, "finetune")
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
        from .finetuning import api

        with usage_errors():
            learner = api.finetune(
                data, arch=arch, epochs=args.epochs, freeze_epochs=args.freeze_epochs,
                lr=_lr(args.lr) if args.lr is not None else None, metrics=metrics, train_bn=not args.no_train_bn,
                background=args.background, auto_bs=args.auto_bs,
                quiet=args.quiet, namespace=self.user_ns, learner_name=args.as_, **training_options(args),
            )
        self.user_ns[args.as_] = learner

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
        args = parse_argstring(self.lr_find, line)
        check_name(args.as_)
        arch, data = _split_positionals(args.words, "lr_find")
        from .finetuning import api

        with usage_errors():
            learner = api.lr_find(
                data, arch=arch, start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it,
                quiet=args.quiet, namespace=self.user_ns, **training_options(args),
            )
        self.user_ns[args.as_] = learner

    @magic_arguments()
    @argument("words", nargs="+", metavar="TARGET",
              help="what to browse: anything %%finetune takes as DATA (a folder, a .csv file, 'sample', or the "
                   "name of a variable holding a DataFrame, torch Dataset or fastai DataLoaders), or a learner "
                   "variable (e.g. learn): its mistakes on the validation images, worst first")
    @argument("--class", dest="label", default=None, metavar="CLASS", help="start filtered to this class")
    @argument("--split", default="all", help="start with all, train or valid images (default all)")
    @argument("--page-size", type=int, default=48, metavar="N", help="thumbnails per page (default 48)")
    @argument("--size", type=int, default=128, metavar="PX", help="thumbnail side in pixels (default 128)")
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
        """
        args = parse_argstring(self.browse, line)
        if args.as_ is not None:
            check_name(args.as_)
        words = [_unquote(w) for w in args.words]
        if len(words) != 1:
            raise UsageError(f"%browse takes one TARGET, got {len(words)} words ({' '.join(words)}): "
                             "quote paths that contain spaces.")
        from .browser import api

        with usage_errors():
            browser = api.browse(words[0], namespace=self.user_ns, size=args.size, page_size=args.page_size,
                                 label=_unquote(args.label), split=args.split, **data_source_options(args))
        if args.as_ is not None:
            self.user_ns[args.as_] = browser

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
        args = parse_argstring(self.runs, line)
        from .history import api

        with usage_errors():
            api.show_runs(*[_unquote(n) for n in args.names], metric=args.metric, last=args.last,
                          root=_unquote(args.root))

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
        args = parse_argstring(self.gpu, line)
        from .gpu import api

        if args.stop:
            if not api.stop_gpu_monitor():
                print("No live GPU monitor is running in this kernel.")
            return
        with usage_errors():
            api.gpu_monitor(interval=args.interval, once=args.once, history=args.history)

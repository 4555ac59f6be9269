"""The command line: ``jupyter-dl finetune [ARCH] DATA [options]`` (or ``python -m jupyter_dl finetune ...``).

The options are %finetune's, parsed by the magic's own parser (one declaration, one help text, the
same "did you mean" sentences); the run goes to a run folder that ``%runs`` and ``load_learner``
read from a notebook. Started by ``torchrun`` on one or many machines, every process becomes a
rank of one job (:func:`~jupyter_dl.finetuning.multi_device.train_under_torchrun`); started alone, it
is one process, or several with ``--devices``.
"""
from __future__ import annotations

import shlex
import sys
from typing import Any

USAGE = """usage: jupyter-dl finetune [ARCH] DATA [options]     (or: python -m jupyter_dl finetune ...)

  jupyter-dl finetune sample --epochs 3 --size 64
  jupyter-dl finetune resnet34 data/pets --devices 2
  torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \\
      -m jupyter_dl finetune resnet34 /shared/pets --epochs 5

jupyter-dl finetune --help lists every option (the same as %finetune's)."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 finished or stopped, 1 failed, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] != "finetune":
        print(f"jupyter-dl: no command {argv[0]!r}; the command is finetune.\n\n{USAGE}", file=sys.stderr)
        return 2
    from IPython.core.error import UsageError

    from .errors import UserInputError

    try:
        learner = _finetune(argv[1:])
    except (UsageError, UserInputError) as exc:
        message = str(exc).replace("(%finetune? lists", "(jupyter-dl finetune --help lists")
        message = message.replace("%finetune", "jupyter-dl finetune")
        print(message if message.startswith("jupyter-dl") else f"jupyter-dl finetune: {message}", file=sys.stderr)
        return 2
    if learner is None:  # a rank other than 0: rank 0 reports
        return 0
    if learner.run_dir is not None:
        print(f"Run folder: {learner.run_dir}")
    return 1 if learner.status == "failed" else 0


def _finetune(words: list[str]):
    from .magic_args import finetune_options, parse_line, split_positionals
    from .magics import DLMagics

    magic: Any = DLMagics.finetune  # its parser is set by @magic_arguments
    if any(word in ("-h", "--help") for word in words):
        text = magic.parser.format_help()
        # The magic's options, without its docstring's notebook examples (--as and --background are for notebooks).
        print(USAGE.split("\n\njupyter-dl finetune --help")[0] + "\n\n" + text[text.index("positional arguments:"):])
        return None
    args = parse_line(magic, shlex.join(words), "finetune")
    arch, data = split_positionals(args.words, "finetune")
    options = finetune_options(args)
    if options.get("background"):
        from .errors import UserInputError

        raise UserInputError("The command line trains in the foreground: leave out --background.")
    from .finetuning.workers import launched_by_torchrun, train_under_torchrun

    if launched_by_torchrun():
        learner = train_under_torchrun(data, arch, options)
        return learner if learner.trainer.parallel.is_main else None
    from .finetuning.api import finetune

    return finetune(data, arch=arch, **options)

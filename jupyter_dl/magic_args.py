"""Reading a magic's line: the option groups the magics share, exact option names, and one error style.

- :func:`parse_line`: the line -> the options, with no abbreviations (``--epoch 3`` is an error that
  says "did you mean --epochs?", never silently ``--epochs``) and a usage with examples when DATA is missing;
- :func:`data_source_arguments`, :func:`training_arguments` (and their ``*_options`` to API keywords):
  options declared once for every magic that takes them, with one help text;
- :func:`usage_errors`: the APIs' :class:`~jupyter_dl.errors.UserInputError` -> IPython's one-line ``UsageError``.
"""
from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from .errors import UserInputError

F = TypeVar("F", bound=Callable[..., Any])


# API keywords whose magic option is not just the keyword with dashes (the rest come from the parser).
RENAMED = {"augment": "--aug", "learner_name": "--as", "label": "--class"}
_KEYWORD = re.compile(r"\b(?P<name>[a-z][a-z_]*)=(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;:)]+)?")


@contextlib.contextmanager
def usage_errors(magic_func: Callable | None = None) -> Iterator[None]:
    """Bad input found by an API (:class:`UserInputError`) becomes the magic's one-line ``UsageError``.

    The APIs name their Python keywords (``pass path_col= and label_col=``, ``use device='cpu'``); in a
    magic the sentence names the magic's options instead (``pass --path-col and --label-col``,
    ``use --device cpu``).
    """
    try:
        yield
    except UserInputError as exc:
        message = str(exc)
        if magic_func is not None:
            message = as_options(message, option_names(magic_func))
        raise UsageError(message) from None


def option_names(magic_func: Callable) -> dict[str, str]:
    """API keyword -> the magic's option that sets it (``label_col`` -> ``--label-col``)."""
    usage = magic_func.parser.format_usage()  # type: ignore[attr-defined]  # set by @magic_arguments()
    options = {name[2:].replace("-", "_"): name for name in re.findall(r"--[a-z][a-z-]*", usage)}
    return {**options, **{k: v for k, v in RENAMED.items() if v in usage}}


def as_options(message: str, options: dict[str, str]) -> str:
    """``message`` with ``keyword=value`` of known keywords written as ``--option value``."""
    def replace(match: re.Match) -> str:
        option = options.get(match.group("name"))
        if option is None:
            return match.group(0)
        value = (match.group("value") or "").strip("'\"")
        return f"{option} {value}" if value else option

    return _KEYWORD.sub(replace, message)


def check_name(name: str) -> str:
    """``--as NAME`` must be a Python variable name."""
    if not name.isidentifier():
        raise UsageError(f"--as needs a Python variable name, not {name!r}.")
    return name


def one_word(words: list[str], magic: str, what: str) -> str:
    """The single positional argument of ``%magic WHAT`` (quotes dropped); UsageError for none or several."""
    words = [unquote(word) for word in words]
    if len(words) != 1:
        raise UsageError(f"%{magic} takes one {what}, got {len(words)} words ({' '.join(words)}): "
                         "quote paths that contain spaces.")
    return words[0]


@overload
def unquote(token: str) -> str: ...
@overload
def unquote(token: None) -> None: ...
def unquote(token: str | None) -> str | None:
    """IPython's splitter keeps quotes ('a b' stays quoted): drop one matching pair."""
    if token and len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def parse_lr(text: str) -> float | str:
    """``--lr``: a number, or "find" (run the LR finder first)."""
    if text == "find":
        return "find"
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--lr takes a number (e.g. 3e-3) or 'find', not {text!r}.") from None
    return value


def split_positionals(words: list[str], magic: str) -> tuple[str | None, str]:
    """``DATA`` or ``ARCH DATA`` -> (arch or None, data), quotes dropped."""
    words = [unquote(w) for w in words]
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
    return dict(label_col=unquote(args.label_col), path_col=unquote(args.path_col),
                label_re=unquote(args.label_re), valid_pct=args.valid_pct, seed=args.seed)


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
                weights=unquote(args.weights), pretrained=not args.no_pretrained, augment=args.aug,
                **data_source_options(args))


def finetune_options(args: Any) -> dict[str, Any]:
    """%finetune's options as :func:`~jupyter_dl.finetuning.finetune` keywords (also the command line's)."""
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    return dict(epochs=args.epochs, freeze_epochs=args.freeze_epochs,
                lr=parse_lr(args.lr) if args.lr is not None else None, metrics=metrics, train_bn=not args.no_train_bn,
                background=args.background, auto_bs=args.auto_bs, resume=unquote(args.resume), quiet=args.quiet,
                devices=unquote(args.devices), sync_bn=args.sync_bn, **training_options(args))


# What a magic shows when its DATA (or TARGET) is missing: two examples each.
EXAMPLES = {
    "finetune": ("%finetune sample --epochs 3 --size 64", "%finetune resnet34 data/pets --epochs 5 --aug flip"),
    "lr_find": ("%lr_find sample --size 64", "%lr_find resnet34 data/pets"),
    "browse": ("%browse data/pets", "%browse learn"),
}
# Option names people bring from other tools, and ours.
FAMILIAR = {"--batch-size": "--bs", "--batch_size": "--bs", "--batchsize": "--bs", "--learning-rate": "--lr",
            "--image-size": "--size", "--img-size": "--size", "--num-workers": "--workers", "--name": "--as",
            "--model": "ARCH (the first word)", "--arch": "ARCH (the first word)"}
WHAT = {"finetune": "DATA (a folder, a .csv file, 'sample' or a variable's name)",
        "lr_find": "DATA (a folder, a .csv file, 'sample' or a variable's name)",
        "browse": "a TARGET (a data set as %finetune takes it, or a learner such as learn)"}


def exact_options(magic_func: Callable) -> Callable:
    """Turn off argparse's abbreviations for a magic: ``--epoch`` is not ``--epochs`` (a typo must not
    silently run something else and replace a trained ``learn``)."""
    magic_func.parser.allow_abbrev = False  # type: ignore[attr-defined]  # set by @magic_arguments()
    return magic_func


def parse_line(magic_func: Callable, line: str, magic: str) -> Any:
    """The options of ``%magic line``; a mistake is one ``UsageError`` that says what to type instead."""
    parser = magic_func.parser  # type: ignore[attr-defined]  # set by @magic_arguments()
    try:
        return parser.parse_argstring(line)
    except UsageError as exc:
        raise UsageError(_explain(str(exc), parser.format_usage(), magic)) from None


def _explain(message: str, usage: str, magic: str) -> str:
    known = sorted(set(re.findall(r"--[a-z][a-z-]*", usage)))
    unknown = re.search(r"unrecognized arguments: (.*)", message)
    if unknown:
        words = unknown.group(1).split()
        option = next((w for w in words if w.startswith("-")), None)
        if option is not None:
            name = option.split("=")[0]
            close = [FAMILIAR[name]] if name in FAMILIAR else difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            return f"%{magic} has no option {name}: {hint}(%{magic}? lists every option)."
        return (f"%{magic} takes one DATA (or ARCH DATA), not also {' '.join(words)}: quote paths that contain "
                f"spaces (%{magic}? lists every option).")
    if "the following arguments are required" in message and magic in EXAMPLES:
        first, second = EXAMPLES[magic]
        return f"%{magic} needs {WHAT[magic]}, e.g. {first}, or {second} (%{magic}? lists every option)."
    return f"{message.rstrip('.')} (%{magic}? lists every option)."

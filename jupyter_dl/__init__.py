"""jupyter_dl: fine-tune pretrained image models in one notebook line, and see everything around it.

``%load_ext jupyter_dl`` registers the magics. Importing this package is instant: torch,
torchvision, timm, fastai and plotly are imported only when a magic or API function first needs
them (see :mod:`jupyter_dl._lazy`).

One folder per feature, each with its API and its views (docs/architecture.md has the map):
:mod:`.finetuning` (``%finetune``, ``%lr_find``, the learner), :mod:`.dashboard` (the live view of
any run), :mod:`.browser` (``%browse``), :mod:`.gpu` (``%gpu``), :mod:`.history` (``%runs``),
:mod:`.integrations` (fastai, your own loop), :mod:`.labelling` (``%label``: the labeller, embeddings,
suggestions, background fine-tunes, label issues); :mod:`.ui` is the kit they share; the core is
:mod:`.train`, :mod:`.data`, :mod:`.models`, :mod:`.monitor` and :mod:`.server`.
"""
from __future__ import annotations

from typing import Any

from ._lazy import lazy_exports
from ._version import __version__

# The public API: name -> the feature package that exports it.
_API = {
    "finetune": "finetuning", "lr_find": "finetuning", "load_learner": "finetuning", "Learner": "finetuning",
    "UserInputError": "errors",
    "live": "integrations", "LiveRun": "integrations",
    "runs": "history", "compare_runs": "history",
    "gpu_monitor": "gpu", "stop_gpu_monitor": "gpu",
    "browse": "browser", "interpret": "browser", "evaluate": "browser",
    "label": "labelling", "find_label_issues": "labelling",
}
__getattr__, __dir__ = lazy_exports(__name__, _API, modules=(
    "datasets", "fastai", "finetuning", "dashboard", "browser", "gpu", "history", "integrations", "labelling",
    "ui",
    "train", "data", "models", "monitor", "server", "magics", "errors", "paths", "checks"))
__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_API]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_dl``: register the magics (no heavy imports)."""
    from .magics import DLMagics

    ipython.register_magics(DLMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_dl``: remove the magics again."""
    from .magics import DLMagics

    magics = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        for name in DLMagics.magics.get(kind, {}):
            magics[kind].pop(name, None)
    ipython.magics_manager.registry.pop("DLMagics", None)


def _jupyter_server_extension_points() -> list[dict]:
    """The jupyter_server extension (monitor REST endpoint); enabled on install via jupyter-config/."""
    return [{"module": "jupyter_dl.server"}]


def _jupyter_labextension_paths() -> list[dict]:
    """The prebuilt JupyterLab extension (built from js/), for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "jupyter_dl"}]

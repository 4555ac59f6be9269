"""jupyter_dl: fine-tune pretrained image models in one notebook line.

``%load_ext jupyter_dl`` registers the magics. Importing this package is
instant: torch, torchvision, timm and fastai are imported only when a magic or
API function first needs them (module-level ``__getattr__``, PEP 562).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first access
_LAZY = {
    "finetune": "jupyter_dl.api",
    "lr_find": "jupyter_dl.api",
    "load_learner": "jupyter_dl.learner",
    "Learner": "jupyter_dl.learner",
    "UserInputError": "jupyter_dl.errors",
    "live": "jupyter_dl.live_run",
    "LiveRun": "jupyter_dl.live_run",
    "runs": "jupyter_dl.run_history",
    "compare_runs": "jupyter_dl.run_history",
    "gpu_monitor": "jupyter_dl.monitor_api",
    "stop_gpu_monitor": "jupyter_dl.monitor_api",
    "browse": "jupyter_dl.browse_api",
}
# sub-packages reachable as attributes (jupyter_dl.api.build_learner) without importing them up front
_LAZY_MODULES = {name: f"jupyter_dl.{name}" for name in
                 ("datasets", "api", "learner", "data", "models", "train", "ui", "magics", "errors", "paths",
                  "fastai", "integrations", "monitor", "server")}

__all__ = ["load_ipython_extension", "unload_ipython_extension", "datasets", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(_LAZY_MODULES[name])
    else:
        raise AttributeError(f"module 'jupyter_dl' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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

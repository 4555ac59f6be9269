"""PEP 562 re-exports: a package's public names, imported from their modules on first use.

Every package of jupyter_dl exports this way, so importing a package costs nothing until a name
is used (``%load_ext`` stays instant; browsing data never imports torch). A package's
``__init__`` is its docstring (an index of its modules) and one call::

    __getattr__, __dir__ = lazy_exports(__name__, {"Trainer": "trainer", ...})

A public name must not be the name of a module of the same package: once that module is imported,
Python sets the package attribute to the module and ``__getattr__`` is never asked again.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str],
                 modules: Iterable[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a name to its module (relative),
    ``modules`` are sub-modules reachable as attributes (``jupyter_dl.train``) without importing them."""
    exports = dict(exports)
    submodules = frozenset(modules)

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports) | submodules)

    sys.modules[package].__all__ = sorted(exports)  # type: ignore[attr-defined]  # `from package import *`
    return __getattr__, __dir__

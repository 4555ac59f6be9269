"""Where jupyter_dl keeps files: caches (sample data, decoded images) and run logs.

``JUPYTER_DL_CACHE`` and ``JUPYTER_DL_RUNS`` override the defaults, which follow
the XDG convention (``~/.cache/jupyter_dl``) and the notebook's working
directory (``./runs``) respectively, like TensorBoard's ``runs/``.
"""
import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def cache_dir(*parts: str) -> Path:
    """``$JUPYTER_DL_CACHE/<parts>`` (default ``~/.cache/jupyter_dl/<parts>``), created when missing."""
    root = os.environ.get("JUPYTER_DL_CACHE")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        base = Path(xdg) / "jupyter_dl"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Where run folders go: ``$JUPYTER_DL_RUNS``, else ``./runs``."""
    return Path(os.environ.get("JUPYTER_DL_RUNS", "runs"))


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write via a temp file in the same folder + os.replace: the file is complete or absent."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

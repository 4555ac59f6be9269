"""Warnings a decoder (PIL) gives while images are decoded: collected per file, never printed.

A warning printed from a decode thread lands in the cell's output as red stderr text and is saved
with the notebook. Instead, callers wrap a whole (parallel) decode in :func:`collect` and decode
each file inside ``collector.file(path)``; the warnings are then ``collector.items``, (path,
"UserWarning: message") pairs, for the run summary or the health report to mention once.

Why this is thread-safe: ``warnings.catch_warnings`` swaps module-global state (``showwarning``
and the filters) and is not safe to enter from several threads at once. So one shared hook is
installed by the first active :func:`collect` (in any thread) and removed by the last one, under
a lock, whatever the order in which threads enter and leave. Workers only set a thread-local
"current file"; the hook reads it: a warning raised in a thread that is decoding a file goes to
that file's collector, any other warning (another thread, the user's own code) goes to the
``showwarning`` that was there before, unchanged. While a collection is active PIL's warnings are
set to "always", so each file's warning reaches the hook (the default shows one only once).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_local = threading.local()  # .current: (collector, path) while this thread decodes a file
_lock = threading.Lock()
_active = 0
_saved: Any = None  # the catch_warnings() that restores the filters and showwarning of before
_previous: Any = warnings.showwarning  # where other threads' warnings go (kept: a late call still works)


class DecodeWarnings:
    """The warnings of one decode, per file, in the order they came (from any thread)."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, str]] = []
        self._by_path: dict[Path, list[str]] = {}
        self._lock = threading.Lock()

    def add(self, path: Path, text: str) -> None:
        """Record ``text`` for ``path`` (once per distinct warning of a file)."""
        with self._lock:
            texts = self._by_path.setdefault(path, [])
            if text not in texts:
                texts.append(text)
                self.items.append((path, text))

    def text_of(self, path: str | Path) -> str | None:
        """The warnings recorded for ``path``, joined with "; " (None when it gave none)."""
        with self._lock:
            texts = self._by_path.get(Path(path))
            return "; ".join(texts) if texts else None

    @contextlib.contextmanager
    def file(self, path: str | Path) -> Iterator[None]:
        """Warnings raised in this thread inside the block belong to ``path``."""
        before = getattr(_local, "current", None)
        _local.current = (self, Path(path))
        try:
            yield
        finally:
            _local.current = before


def _hook(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    current = getattr(_local, "current", None)
    if current is None:
        _previous(message, category, filename, lineno, file, line)
        return
    collector, path = current
    collector.add(path, f"{category.__name__}: {' '.join(str(message).split())}")


@contextlib.contextmanager
def collect() -> Iterator[DecodeWarnings]:
    """Collect the warnings of files decoded inside ``collector.file(path)`` blocks (in any thread)."""
    global _active, _saved, _previous
    with _lock:
        if _active == 0:
            _saved = warnings.catch_warnings()
            _saved.__enter__()
            if warnings.showwarning is not _hook:  # a hook left by a foreign catch_warnings: keep the one before
                _previous = warnings.showwarning
            warnings.filterwarnings("always", module=r"PIL(\.|$)")
            warnings.showwarning = _hook
        _active += 1
    try:
        yield DecodeWarnings()
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                _saved.__exit__(None, None, None)
                _saved = None


def summary(items: list[tuple[Path, str]], limit: int = 3) -> str:
    """"3 images gave decoder warnings: a.png (UserWarning: ...), ..." ("" when there are none)."""
    files: dict[Path, str] = {}
    for path, text in items:
        files.setdefault(path, text)
    if not files:
        return ""
    shown = [f"{path.name} ({text if len(text) <= 100 else text[:99] + chr(0x2026)})"
             for path, text in list(files.items())[:limit]]
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    noun = "image gave a decoder warning" if len(files) == 1 else "images gave decoder warnings"
    return f"{len(files)} {noun}: {', '.join(shown)}{more}."

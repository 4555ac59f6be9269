"""The line shown while images are decoded into the cache for the first time (``%finetune``, ``evaluate``).

A :class:`DecodeProgress` is the ``progress(done, total)`` hook of
:func:`jupyter_dl.data.loaders.make_loaders` / :func:`jupyter_dl.data.cache.build_image_cache`.
In a kernel it shows one display-handle line (HTML + text: JupyterLab, Notebook 6/7, Colab, VS Code,
nbconvert; no widget) once decoding has taken :data:`SHOW_AFTER` seconds, updates it at most every
:data:`EVERY` seconds ("Decoding 312/720 images · 45 img/s · about 9 s left") and replaces it at the
end by one line ("Decoded 720 images in 16 s (cached for next time)"). Outside a kernel it prints only
that final line, and only after a decode of :data:`TERMINAL_AFTER` seconds or more. Decoding that is
over before :data:`SHOW_AFTER` (a cached run calls the hook not at all) shows nothing; ``quiet=True``
shows nothing. ``verb``/``past`` reword it for other once-per-image work ("Embedding 312/720 images").
"""
from __future__ import annotations

import html
import sys
import time
from typing import Any, Callable

from . import frontend
from .formatting import about_seconds

SHOW_AFTER = 0.5   # seconds of decoding before the line appears (shorter decodes show nothing)
EVERY = 0.25       # seconds between updates of the line
TERMINAL_AFTER = 5.0  # outside a kernel, only a decode at least this long prints its final line


class DecodeProgress:
    """``progress(done, total)`` for first-time decoding; use as a context manager (or call :meth:`finish`).

    The first call marks where decoding starts (``done`` may count images reused from the cache);
    ``clock`` is injectable for tests.
    """

    def __init__(self, *, quiet: bool = False, clock: Callable[[], float] = time.monotonic,
                 verb: str = "Decoding", past: str = "Decoded") -> None:
        self.quiet = quiet
        self.verb, self.past = verb, past  # "Embedding" / "Embedded" for %label's embeddings
        self.clock = clock
        self.start: float | None = None
        self.base = 0            # images already done (reused) at the first call
        self.done = 0
        self.total = 0
        self.last_drawn = -1.0
        self.handle: Any = None  # the display handle once the line is shown
        self.shown = False
        self.lines: list[str] = []  # every text drawn, for tests and the terminal

    def __enter__(self) -> DecodeProgress:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.finish(ok=exc_type is None)

    def __call__(self, done: int, total: int) -> None:
        """The hook: ``done`` of ``total`` images are decoded (or reused)."""
        if self.quiet:
            return
        now = self.clock()
        if self.start is None:
            self.start, self.base = now, done
        self.done, self.total = done, total
        if now - self.start < SHOW_AFTER or (now - self.last_drawn < EVERY and done < total):
            return
        self.last_drawn = now
        self.shown = True
        self._draw(self.progress_text(now), final=False)

    def progress_text(self, now: float) -> str:
        """"Decoding 312/720 images · 45 img/s · about 9 s left" (the rate once it is known)."""
        decoded, to_decode = self.done - self.base, self.total - self.base
        text = f"{self.verb} {decoded}/{to_decode} images"
        elapsed = now - (self.start if self.start is not None else now)
        if decoded <= 0 or elapsed <= 0:
            return text + "\u2026"
        rate = decoded / elapsed
        return f"{text} \u00b7 {rate:.0f} img/s \u00b7 about {about_seconds((to_decode - decoded) / rate)} left"

    def final_text(self, ok: bool = True) -> str:
        """"Decoded 720 images in 16 s (cached for next time)", or where it stopped."""
        decoded, to_decode = self.done - self.base, self.total - self.base
        if not ok:
            return f"{self.verb} stopped at {decoded}/{to_decode} images."
        elapsed = self.clock() - (self.start if self.start is not None else 0.0)
        return f"{self.past} {decoded} images in {about_seconds(elapsed)} (cached for next time)."

    def finish(self, ok: bool = True) -> None:
        """Replace the line by the final one; nothing when the line never showed (or ``quiet``)."""
        if self.quiet or self.start is None:
            return
        if not self.shown and self.clock() - self.start < SHOW_AFTER:
            return
        self.shown = True
        self._draw(self.final_text(ok), final=True)
        self.start = None  # finished: a later finish() does nothing

    def _draw(self, text: str, *, final: bool) -> None:
        self.lines.append(text)
        if not frontend.in_kernel():
            if final and self.start is not None and self.clock() - self.start >= TERMINAL_AFTER:
                print(text, file=sys.stdout)
            return
        from IPython.display import display

        colour = "" if final else "color:var(--jp-ui-font-color2,#57606a);"
        bundle = {"text/plain": text,
                  "text/html": f"<div class='jupyter-dl-decode' style='{colour}'><b>jupyter_dl</b> \u00b7 "
                               f"{html.escape(text)}</div>"}
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)

"""Training progress that works in every front end, without widgets.

In a kernel (JupyterLab, Notebook, VS Code, Colab, nbconvert) it is one display
updated in place through a display handle, like fastprogress: an HTML progress
bar and per-epoch table, with a plain-text alternative in the same bundle. In a
terminal it writes a carriage-return progress line and one row per epoch.

The view subscribes to the Trainer's event stream and draws at most every
``min_interval`` seconds; the running loss is read from the device only then.
When the training steps wait for data more than ``DATA_WAIT_WARN_SHARE`` of the
time, one sentence under the bar says so with the fix (a terminal gets it once).
"""
from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable
from typing import Any

from ..train import events as ev
from ..train.timing import TIMING_KEYS, RunTiming
from ..ui import frontend
from ..ui.formatting import format_duration
from ..ui.output import show_summary_text
from .render import cell_text, column_header, final_status_text, table_header_text, table_row_text


class ProgressState:
    """What a progress display shows, kept up to date from events."""

    def __init__(self, total_epochs: int | None = None) -> None:
        self.total_epochs = total_epochs
        self.phase = ""
        self.epoch = 0           # global epoch number being run (1-based)
        self.batch = 0
        self.n_batches = 0
        self.bs = 0
        self.loss: float | None = None
        self.lr: float | None = None
        self.status = "starting"
        self.rows: list[dict] = []
        self.run_start: float | None = None
        self.phase_start = 0.0
        self.phase_steps = 0
        self.phase_epochs = 0
        self.epochs_done_before_phase = 0
        self.advice: str | None = None   # the data-wait sentence (set by the view when it draws)

    def elapsed(self) -> float:
        """Seconds since the run's first fit started (0 before)."""
        return time.perf_counter() - self.run_start if self.run_start else 0.0

    def items_per_second(self) -> float:
        """Training items per second in this phase so far (0 before its first step)."""
        spent = time.perf_counter() - self.phase_start
        return self.phase_steps * self.bs / spent if spent > 0 and self.phase_steps else 0.0

    def remaining(self) -> float | None:
        """Seconds left, from this phase's speed (validation time included per epoch)."""
        if not self.phase_steps or not self.n_batches:
            return None
        per_step = (time.perf_counter() - self.phase_start) / self.phase_steps
        total = self.total_epochs or (self.epochs_done_before_phase + self.phase_epochs)
        steps_left = (total - self.epoch) * self.n_batches + (self.n_batches - self.batch)
        return per_step * max(steps_left, 0)

    def apply(self, event: ev.Event) -> None:
        """Bring the state up to date with one event of the run."""
        data = event.data
        if event.kind == ev.FIT_START:
            now = time.perf_counter()
            self.run_start = self.run_start or now
            self.phase, self.phase_start, self.phase_steps = data.get("phase", ""), now, 0
            self.n_batches = data.get("n_batches", 0)
            self.phase_epochs = data.get("epochs", 0)
            self.epochs_done_before_phase = len(self.rows)
            self.status = "running"
        elif event.kind == ev.EPOCH_START:
            self.epoch = data.get("epoch", 1)  # global across fits (1-based)
            self.batch = 0
        elif event.kind == ev.BATCH_END:
            self.batch = data.get("batch", self.batch)
            self.n_batches = data.get("n_batches", self.n_batches)
            self.bs = data.get("bs", self.bs)
            self.lr = data.get("lr", self.lr)
            self.phase_steps += 1
        elif event.kind == ev.EPOCH_END:
            self.rows.append(dict(data))
        elif event.kind == ev.STOP:
            reason = data.get("reason", "user")
            where = f"epoch {self.epoch}, batch {data.get('batch', self.batch)}"
            self.status = ("interrupted" if reason == "interrupted" else "stopped by user") + f" at {where}"
        elif event.kind == ev.ERROR:
            self.status = f"failed: {data.get('message', '')}"
        elif event.kind == ev.FIT_END and self.status == "running":
            self.status = "running" if data.get("status") == "finished" else data.get("status", "")

    def columns(self) -> list[str]:
        """The epoch table's columns: every record key seen, in order (not the lr or the timings)."""
        cols: list[str] = []
        for row in self.rows:
            cols += [k for k in row if k not in cols and k != "lr" and k not in TIMING_KEYS]
        return cols

    def parts(self, remaining: bool = True) -> list[str]:
        """The progress line's parts: phase, epoch i/n, batch j/m, elapsed<remaining, items/s, loss.

        ``remaining``: show the time left (while the run goes on).
        """
        parts = []
        if self.phase:
            parts.append(self.phase)
        if self.epoch:
            parts.append(f"epoch {self.epoch}/{self.total_epochs or '?'}")
        if self.n_batches:
            parts.append(f"batch {self.batch}/{self.n_batches}")
        left = self.remaining() if remaining else None
        parts.append(format_duration(self.elapsed()) + (f"<{format_duration(left)}" if left is not None else ""))
        speed = self.items_per_second()
        if speed:
            parts.append(f"{speed:.0f} items/s")
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        return parts

    def headline(self) -> str:
        """The status, then :meth:`parts` (the time left only while running)."""
        return " · ".join([self.status, *self.parts(remaining=self.status == "running")])

    def fraction(self) -> float:
        """How much of the run is done, 0..1 (whole epochs once it ended)."""
        total = self.total_epochs or max(self.epoch, 1)
        if not self.n_batches:
            return len(self.rows) / total if total else 0.0
        done = (self.epoch - 1 + self.batch / self.n_batches) if self.epoch else 0.0
        if self.status != "running" and self.status != "starting":
            done = max(done, len(self.rows))
        return min(max(done / total, 0.0), 1.0)


def _bar(state: ProgressState, width: int = 30) -> str:
    filled = int(state.fraction() * width)
    return "[" + "#" * filled + "-" * (width - filled) + "] " + state.headline()


def render_text(state: ProgressState) -> str:
    """The progress as text: a bar line, the data-wait sentence, the epoch table."""
    lines = [_bar(state)]
    if state.advice:
        lines.append(state.advice)
    cols = state.columns()
    if cols:
        lines.append(table_header_text(cols))
        lines += [table_row_text(cols, row) for row in state.rows]
    return "\n".join(lines)


def render_html(state: ProgressState) -> str:
    """The progress as HTML: a progress bar with its line, the data-wait sentence, the epoch table."""
    pct = state.fraction() * 100
    cols = state.columns()
    head = "".join(f"<th style='text-align:right;padding:2px 8px'>{html.escape(column_header(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(
            f"<td style='text-align:right;padding:2px 8px'>{html.escape(cell_text(c, row.get(c)))}</td>"
            for c in cols) + "</tr>"
        for row in state.rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if cols else ""
    advice = f"<div class='jdl-advice'>{html.escape(state.advice)}</div>" if state.advice else ""
    return (
        "<div class='jupyter-dl-progress'>"
        f"<progress value='{pct:.1f}' max='100' style='width:300px;vertical-align:middle'></progress> "
        f"<span style='font-family:monospace'>{html.escape(state.headline())}</span>"
        f"{advice}{table}</div>"
    )


class ProgressView:
    """Event subscriber that draws :class:`ProgressState` in place, throttled."""

    def __init__(self, total_epochs: int | None = None, min_interval: float = 0.3,
                 kernel: bool | None = None, stream: Any = None) -> None:
        self.state = ProgressState(total_epochs)
        self.min_interval = min_interval
        self.kernel = frontend.in_kernel() if kernel is None else kernel
        self.stream = stream or sys.stdout
        self._handle: Any = None
        self._last_draw = 0.0
        self._source: Any = None
        self._printed_rows = 0
        self.timing = RunTiming()
        self._printed_advice = False
        # A log file or a captured stream gets epoch rows only, not redrawn bar lines.
        self._live_line = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, event: ev.Event) -> None:
        """One event of the run: state updated; a draw for every event but a batch, and for a batch when due."""
        if event.source is not None:
            self._source = event.source
        self.state.apply(event)
        if event.kind == ev.BATCH_END:
            if time.perf_counter() - self._last_draw >= self.min_interval:
                self.draw()
        else:
            self.timing.update(event.kind, event.data, event.source)
            self.draw()

    def _read_loss(self) -> None:
        reader: Callable[[], float | None] | None = getattr(self._source, "running_loss", None)
        if reader is not None:
            value = reader()
            if value is not None:
                self.state.loss = value

    def draw(self) -> None:
        """Read the running loss (one device read) and redraw the display or the terminal lines."""
        self._last_draw = time.perf_counter()
        self._read_loss()
        self.state.advice = self.timing.advice(self._source)
        if self.kernel:
            self._draw_display()
        else:
            self._draw_terminal()

    def _draw_display(self) -> None:
        from IPython.display import display

        bundle = {"text/html": render_html(self.state), "text/plain": render_text(self.state)}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _draw_terminal(self) -> None:
        # Epoch rows are printed once, as they arrive; on a terminal the bar line is rewritten.
        state, out = self.state, self.stream
        clear = "\r\033[K" if self._live_line else ""
        if len(state.rows) > self._printed_rows:
            cols = state.columns()
            out.write(clear)
            if self._printed_rows == 0:
                out.write(table_header_text(cols) + "\n")
            for row in state.rows[self._printed_rows:]:
                out.write(table_row_text(cols, row) + "\n")
            self._printed_rows = len(state.rows)
        if state.advice and not self._printed_advice:  # once: a log should not repeat it every draw
            out.write(clear + state.advice + "\n")
            self._printed_advice = True
        if self._live_line:
            out.write(clear + _bar(state))
        out.flush()

    def close(self, status: str | None = None, summary: str | None = None) -> None:
        """Draw the final state (``status``), then the run's ``summary`` below it."""
        if status is not None:
            self.state.status = final_status_text(status, self.state.status)
        self.draw()
        if not self.kernel:
            self.stream.write("\n" if self._live_line else _bar(self.state) + "\n")
            self.stream.flush()
        if summary:
            show_summary_text(summary)

"""The ``%gpu`` views: a live widget (cards + time series) and a static table.

Live (:class:`GpuMonitor`, ipywidgets + a plotly ``FigureWidget``, or an SVG chart with plotly 5):

- per GPU a card: name, utilisation (number and bar), memory used/total (bar coloured by how full
  it is), temperature, power draw/limit and what this kernel holds on it; a card for torch's own
  allocator numbers (CUDA or Apple MPS) when torch uses a device; CPU and RAM cards (RAM with this
  kernel's resident memory). Without an NVIDIA GPU, the one-line reason above the CPU/RAM cards.
- a time series of the last minutes (x: seconds before the newest reading): per GPU util % (solid)
  and memory % (dashed); CPU % and RAM % (shown when there is no GPU, one legend click away when there is).

It subscribes to the process's one sampler (:func:`jupyter_dl.monitor.get_sampler`); the callback
runs on the sampler thread and costs a few small widget updates: the cards change only when their
text does, the chart redraws at most every ``min_draw_interval`` seconds with at most
``max_points`` points per trace. The samples it keeps cover ``history_seconds`` and no more.

It stops (the subscription closes, and with the last one the sampler thread) when:
its output is cleared (the front end counts the widget's views, ``_view_count``, and the count
falls to 0), its widget is closed, its stop button or :meth:`GpuMonitor.stop` is used, or a newer
monitor starts (one live monitor per kernel: an old one never keeps updating an output nobody
looks at). A monitor stopped in any way but the first two leaves the static table of its last
reading in its output, which survives saving and reopening the notebook.
It pauses (sampling stops too) when no page has shown it for a while, e.g. its notebook tab was
closed, which the view count does not see (:mod:`jupyter_dl.gpu.presence`); it resumes when a page
shows it again.

The cards and the static table (``%gpu --once``, the fallback where widgets cannot show) are
rendered by :mod:`jupyter_dl.gpu.cards`. After the widget comes a snapshot output, the table of
the first reading, which a notebook reopened without this kernel shows instead of a widget error
(:mod:`jupyter_dl.ui.snapshot`); it is emptied when the monitor stops.

DOM hooks (stable class names, for people and browser tests): the widget ``.jdl-gpu-monitor``;
``.jdl-gpu-status`` (``live`` / ``stopped``, with ``.jdl-gpu-updated``, the time of the shown
reading); cards ``.jdl-card`` with ``.jdl-gpu-card`` (``data-index``), ``.jdl-torch-card``,
``.jdl-cpu-card``, ``.jdl-ram-card``, their numbers in ``.jdl-gpu-util``, ``.jdl-gpu-mem``,
``.jdl-cpu-util``, ``.jdl-ram-mem``; ``.jdl-gpu-error`` (no GPU: the reason); the chart
``.jdl-gpu-plot`` (plotly's, or ``svg.jdl-gpu-svg`` with a ``path.jdl-gpu-line[data-name]`` per
line). Static: ``table.jdl-gpu-table``; the snapshot ``.jdl-snapshot``.
"""
from __future__ import annotations

import contextlib
import html
import math
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from ..monitor.readings import Reading
from ..monitor.sampler import MIN_INTERVAL
from ..ui.output import display_widget
from ..ui.snapshot import LIVE_CLASS, live_style, new_token, snapshot_html
from .cards import MUTED, card_htmls, clock_time, error_html, static_bundle
from .chart import usage_chart

if TYPE_CHECKING:
    from .presence import KernelActivity


SNAPSHOT_NOTE = "the first reading of a live monitor, whose kernel is gone: run the cell again"
DEFAULT_HISTORY = 300.0      # seconds the chart shows
MIN_DRAW_INTERVAL = 0.5      # the chart redraws at most this often (the cards follow every sample)
MAX_POINTS = 600             # per trace: a longer history is thinned to this many points


# ------------------------------------------------------------------------------------- the widget
_active: GpuMonitor | None = None      # the live monitor of this kernel
_retired: list[GpuMonitor] = []        # stopped monitors whose widgets close when the next one starts
_registry_lock = threading.Lock()


def active_monitor() -> GpuMonitor | None:
    """The live monitor of this kernel, if one is running."""
    with _registry_lock:
        return _active


def stop_active(reason: str = "stopped") -> bool:
    """Stop this kernel's live monitor (``%gpu --stop``); False when none was running."""
    monitor = active_monitor()
    return monitor.stop(reason) if monitor is not None else False


class GpuMonitor:
    """The live ``%gpu`` widget; see the module docstring.

    ``sampler``: a :class:`jupyter_dl.monitor.Sampler` (default: the process's one).
    ``show=False`` builds the widgets without displaying them (tests); :meth:`start` subscribes.
    ``lease_seconds``: pause after this long without word from a page (kernel idle);
    ``activity``: the kernel's cell tracker (tests pass their own).
    """

    def __init__(self, *, interval: float = 1.0, history_seconds: float = DEFAULT_HISTORY, sampler: Any = None,
                 show: bool = True, min_draw_interval: float = MIN_DRAW_INTERVAL,
                 max_points: int = MAX_POINTS, lease_seconds: float | None = None,
                 activity: KernelActivity | None = None) -> None:
        import ipywidgets as widgets

        from .presence import ACTIVITY, LEASE_SECONDS, PagePresence

        if sampler is None:
            from ..monitor.sampler import get_sampler

            sampler = get_sampler()
        self.sampler = sampler
        self.interval = float(interval)
        self.history_seconds = float(history_seconds)
        self.min_draw_interval = float(min_draw_interval)
        self.max_points = max(int(max_points), 2)
        self._lock = threading.RLock()
        self.samples: deque[Reading] = deque(maxlen=int(self.history_seconds / MIN_INTERVAL) + 2)
        self.subscription: Any = None
        self.stopped = False
        self.stop_reason: str | None = None
        self.paused = False         # no page showed it for a while; a page showing it again resumes it
        self.draws = 0              # chart redraws
        self.failures = 0
        self.last_error: BaseException | None = None
        self._last_accepted = -math.inf
        self._last_draw = -math.inf
        self._handle: Any = None

        self.header = widgets.HTML(value=self._header_html(None))
        self.stop_button = widgets.Button(description="stop", tooltip="stop updating (the last reading stays)",
                                          layout=widgets.Layout(width="auto", height="24px"))
        self.stop_button.add_class("jdl-gpu-stop")
        self.stop_button.on_click(lambda _button: self.stop("stopped"))
        top = widgets.HBox([self.header, self.stop_button],
                           layout=widgets.Layout(justify_content="space-between", align_items="center",
                                                 width="100%"))
        self.error = widgets.HTML(value="")
        self.cards: dict[str, Any] = {}
        self.cards_box = widgets.Box(layout=widgets.Layout(display="flex", flex_flow="row wrap",
                                                           grid_gap="8px", width="100%"))
        self.cards_box.add_class("jdl-gpu-cards")
        self.chart = usage_chart(self.history_seconds, self.max_points)
        self.figure = self.chart.widget
        self.figure.add_class("jdl-gpu-plot")
        if activity is None:
            from IPython import get_ipython

            activity = ACTIVITY
            activity.watch(get_ipython())
        self.presence = PagePresence(lease_seconds=LEASE_SECONDS if lease_seconds is None else lease_seconds,
                                     activity=activity, on_shown=self._on_shown)
        # The snapshot displayed after the widget, for a notebook reopened without the kernel (see
        # jupyter_dl.ui.snapshot); this hidden HTML carries the CSS that hides it while the widget shows.
        self._token = new_token()
        self._snapshot: Any = None
        self._snapshot_drawn = False
        style = widgets.HTML(live_style(self._token), layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([style, top, self.error, self.cards_box, self.figure, self.presence],
                                   layout=widgets.Layout(width="100%", max_width="980px"))
        self.widget.add_class("jdl-gpu-monitor")
        self.widget.add_class(LIVE_CLASS)
        # The front end counts this widget's views once the count is a number: 0 again means the
        # output was cleared. The comm going away means the widget was closed. A closed notebook
        # tab does neither: its views stop pinging (self.presence) and the monitor pauses.
        self.widget._view_count = 0
        self.widget.observe(self._on_view_count, names="_view_count")
        self.widget.observe(self._on_comm, names="comm")

        for sample in sampler.history(self.history_seconds):
            self._keep(sample)
        if self.samples:
            self._render(self.samples[-1], force_figure=True)
        if show:
            self.show()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> GpuMonitor:
        """Subscribe to the sampler; a previous live monitor of this kernel stops (and this one takes over)."""
        global _active
        with _registry_lock:
            previous, _active = _active, self
            retired, _retired[:] = list(_retired), []
        if previous is not None and previous is not self:
            previous.stop("a newer %gpu monitor took over")
        for monitor in retired:
            if monitor is not self:
                monitor.dispose()
        with self._lock:
            if self.stopped or self.subscription is not None:
                return self
            self.subscription = self.sampler.subscribe(self._on_sample, self.interval)
        return self

    @property
    def running(self) -> bool:
        """Subscribed to the sampler: started, and neither stopped nor paused."""
        return self.subscription is not None and not self.stopped

    def stop(self, reason: str = "stopped", *, leave_static: bool = True) -> bool:
        """Stop updating: close the subscription (the sampler thread ends with its last one).

        ``leave_static``: replace the widget in the output by the table of the last reading.
        Returns False when it had already stopped.
        """
        global _active
        with self._lock:
            if self.stopped:
                return False
            self.stopped = True
            self.stop_reason = reason
            subscription, self.subscription = self.subscription, None
        # Outside the lock: closing may wait for the sampler thread, which may be waiting for the lock.
        if subscription is not None:
            subscription.close()
        with _registry_lock:
            if _active is self:
                _active = None
            _retired.append(self)
        with self._lock:
            last = self.samples[-1] if self.samples else None
            try:
                self.header.value = self._header_html(last)
                self.stop_button.disabled = True
            except Exception:  # the widget may already be closed
                pass
            if leave_static and last is not None and self._handle is not None:
                self._handle.update(static_bundle(last, note=f"stopped: {reason}"), raw=True)
            if self._snapshot is not None:  # its widget is gone from here on: nothing to stand in for
                self._snapshot.update({"text/plain": ""}, raw=True)
                self._snapshot = None
        return True

    def _pause(self) -> None:
        """No page has shown the widget for a while: stop sampling until one does again."""
        with self._lock:
            if self.stopped or self.paused:
                return
            self.paused = True
            subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.close()
        self._set_header()

    def _on_shown(self) -> None:
        """A view of the widget said it is shown: resume if paused."""
        with self._lock:
            if self.stopped or not self.paused:
                return
            self.paused = False
            self.subscription = self.sampler.subscribe(self._on_sample, self.interval)
        self._set_header()

    def _set_header(self) -> None:
        with self._lock, contextlib.suppress(Exception):  # the widget may already be closed
            self.header.value = self._header_html(self.samples[-1] if self.samples else None)

    def close(self) -> None:
        """Stop and close the widgets (their views disappear from the page)."""
        self.stop("closed", leave_static=False)
        self.dispose()

    def dispose(self) -> None:
        """Close its widgets without stopping it (:meth:`close` does both; the next monitor disposes stopped ones)."""
        for widget in (self.widget, self.figure, self.header, self.stop_button, self.error, self.cards_box,
                       self.presence, *self.cards.values()):
            with contextlib.suppress(Exception):
                widget.close()

    def _on_view_count(self, change: dict) -> None:
        old, new = change.get("old"), change.get("new")
        if isinstance(new, int) and new <= 0 and isinstance(old, int) and old > 0:
            self.stop("its output was cleared or closed", leave_static=False)

    def _on_comm(self, change: dict) -> None:
        if change.get("new") is None and change.get("old") is not None:
            self.stop("its widget was closed", leave_static=False)

    # ------------------------------------------------------------------ display
    def show(self) -> None:
        """Display the widget; where widgets cannot render, its text and HTML say what it showed."""
        from IPython.display import display

        # what viewers without widgets (nbconvert, GitHub) show: the reading at the start
        static = static_bundle(self.samples[-1], note="first reading of a live monitor") if self.samples else {}
        text = "jupyter_dl \u00b7 GPU monitor (a live widget: needs a Jupyter widget front end)"
        self._handle = display_widget(self.widget, text, **static)
        # What a notebook reopened without this kernel shows instead of a widget error: the first reading
        # (filled in when it comes, if there is none yet).
        self._snapshot = display(self._snapshot_bundle(text), raw=True, display_id=True)
        self._snapshot_drawn = bool(self.samples)

    def _snapshot_bundle(self, text: str = "") -> dict:
        first = static_bundle(self.samples[0], note=SNAPSHOT_NOTE) if self.samples else {"text/html": "",
                                                                                         "text/plain": text}
        return {"text/html": snapshot_html(first["text/html"], self._token, ""), "text/plain": first["text/plain"]}

    def _ipython_display_(self) -> None:  # ``display(monitor)`` shows the widget (another view of it)
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        state = "live" if self.running else f"stopped ({self.stop_reason})" if self.stopped else "not started"
        return f"<jupyter_dl GPU monitor: {state}, every {self.interval:g} s; .stop() ends the updates>"

    # ------------------------------------------------------------------ samples
    def _on_sample(self, sample: Reading) -> None:
        """The sampler's callback (on its thread): keep the sample, update what changed."""
        if self.stopped:
            return
        if self.presence.gone():
            self._pause()
            return
        try:
            with self._lock:
                if self.stopped or self.paused:
                    return
                # The sampler runs at its fastest subscriber's pace: follow ours.
                if sample.time - self._last_accepted < 0.8 * self.interval:
                    return
                self._keep(sample)
                self._render(sample)
                if self._snapshot is not None and not self._snapshot_drawn:
                    self._snapshot_drawn = True
                    self._snapshot.update(self._snapshot_bundle(), raw=True)
        except Exception as exc:  # a broken draw must not end monitoring; the next sample tries again
            self.failures += 1
            self.last_error = exc

    def _keep(self, sample: Reading) -> None:
        self._last_accepted = sample.time
        samples = self.samples
        samples.append(sample)
        cutoff = sample.time - self.history_seconds
        while samples and samples[0].time < cutoff:
            samples.popleft()

    def _render(self, sample: Reading, force_figure: bool = False) -> None:
        self._set_cards(sample)
        error = error_html(sample)
        if self.error.value != error:
            self.error.value = error
        header = self._header_html(sample)
        if self.header.value != header:
            self.header.value = header
        if force_figure or sample.time - self._last_draw >= self.min_draw_interval:
            self.chart.draw(self.samples, self.interval)
            self.draws += 1
            self._last_draw = sample.time

    def _set_cards(self, sample: Reading) -> None:
        import ipywidgets as widgets

        htmls = card_htmls(sample)
        if list(htmls) != list(self.cards):  # a device appeared or went: rebuild the row
            old = self.cards
            self.cards = {key: old.get(key) or widgets.HTML() for key in htmls}
            self.cards_box.children = tuple(self.cards.values())
            for key, widget in old.items():
                if key not in self.cards:
                    widget.close()
        for key, value in htmls.items():
            card = self.cards[key]
            if card.value != value:  # a widget sends an update only when its value changes
                card.value = value

    def _header_html(self, sample: Reading | None) -> str:
        if self.stopped:
            state, color = "stopped", "var(--jp-warn-color1, #b26a00)"
            detail = self.stop_reason or ""
        elif self.paused:
            state, color = "paused", "var(--jp-ui-font-color2, #57606a)"
            detail = "no page showed it; it resumes when one does"
        else:
            state, color = "live", "var(--jp-success-color1, #2e7d32)"
            detail = f"every {self.interval:g} s"
        updated = clock_time(sample.time) if sample is not None else "reading\u2026"
        return (
            "<div style='display:flex;align-items:center;gap:10px;flex-wrap:wrap;font-size:13px'>"
            "<b>GPU monitor</b>"
            f"<span class='jdl-gpu-status jdl-gpu-status-{state}' style='color:{color};border:1px solid {color};"
            f"border-radius:999px;padding:0 8px;font-size:0.92em'>{state}</span>"
            f"<span style='{MUTED};font-size:0.92em'>{html.escape(detail)} \u00b7 "
            f"<span class='jdl-gpu-updated'>{updated}</span></span></div>"
        )

    def series(self) -> tuple[list[float], list[list[float | None]]]:
        """(x, one y list per trace) of what the chart shows (see :meth:`~jupyter_dl.gpu.chart.UsageChart.series`)."""
        return self.chart.series(self.samples, self.interval)

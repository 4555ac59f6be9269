"""The progress view without widgets: draws from events, throttled, the loss curves as SVG, reads the
losses only when it draws; beside it the Stop control where widgets render, else how to interrupt."""
import base64
import io
import re
import sys
import types
import warnings

import pytest
from dashboard_fakes import Clock, Source

from jupyter_dl.dashboard import views
from jupyter_dl.dashboard.progress import ProgressView, render_html
from jupyter_dl.dashboard.stop_hints import STOP_HINTS
from jupyter_dl.train import events as ev
from jupyter_dl.ui import frontend
from jupyter_dl.ui.output import WIDGET_MIME


class FakeTrainer:
    """A source with only a running loss (no per-step points)."""

    def __init__(self):
        self.loss_reads = 0

    def running_loss(self):
        self.loss_reads += 1
        return 0.5


def run_events(view, source, n_batches=50, epochs=2, clock=None, tick=0.05, fits=None):
    fits = fits or [("unfrozen", epochs)]
    epoch = 0
    for phase, count in fits:
        view(ev.Event(ev.FIT_START, dict(phase=phase, epochs=count, n_batches=n_batches), source))
        for _ in range(count):
            epoch += 1
            view(ev.Event(ev.EPOCH_START, dict(phase=phase, epoch=epoch, epochs=count), source))
            for batch in range(1, n_batches + 1):
                if hasattr(source, "log"):
                    source.log.append(2.0 / (1 + 0.05 * source.log.steps))
                if clock is not None:
                    clock.now += tick
                view(ev.Event(ev.BATCH_END, dict(epoch=epoch, batch=batch, n_batches=n_batches, bs=8, lr=1e-3),
                              source))
            view(ev.Event(ev.EPOCH_END, dict(epoch=epoch, phase=phase, train_loss=0.6, valid_loss=0.55 / epoch,
                                             accuracy=0.8 + epoch / 100, seconds=1.0), source))
        view(ev.Event(ev.FIT_END, dict(phase=phase, status="finished"), source))


class Page:
    """Stands in for IPython's display: what the cell's outputs show, updated through their handles."""

    def __init__(self, monkeypatch):
        self.outputs: list[dict] = []
        self.updates = 0
        monkeypatch.setattr("IPython.display.display", self.display)

    def display(self, bundle, raw, display_id=False, metadata=None):
        self.outputs.append(bundle)
        index = len(self.outputs) - 1
        page = self

        class Handle:
            def update(self, new, raw, **kw):
                page.outputs[index] = new
                page.updates += 1
        return Handle()

    def html(self) -> str:
        return "".join(out.get("text/html", "") for out in self.outputs)


def train_points(html: str) -> int:
    match = re.search(r"class='jdl-svg-train' data-points='(\d+)'", html)
    return int(match.group(1)) if match else 0


def final_svg(html: str) -> str:
    """The SVG inside the final output's image (img.jdl-svg-image, a data: URI); "" when there is none."""
    match = re.search(r"<img class='jdl-svg-image'[^>]* src='data:image/svg\+xml;base64,([^']+)'", html)
    return base64.b64decode(match.group(1)).decode() if match else ""


def test_terminal_view_prints_one_row_per_epoch_and_throttles_loss_reads():
    stream, source = io.StringIO(), FakeTrainer()
    view = ProgressView(total_epochs=2, min_interval=60, kernel=False, stream=stream)
    run_events(view, source)
    view.state.status = "finished"
    view.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].split() == ["epoch", "phase", "train_loss", "valid_loss", "accuracy", "time"]
    assert [line.split()[0] for line in lines[1:3]] == ["1", "2"]
    assert lines[1].split()[-1] == "00:01"  # seconds shown as a duration
    assert "finished" in lines[-1] and "epoch 2/2" in lines[-1]
    # 100 batches, but the loss is read only when something is drawn (never per batch here).
    assert source.loss_reads < 10
    assert view.chart is None and "<svg" not in stream.getvalue()      # no SVG in a terminal


def test_kernel_view_redraws_the_loss_curve_in_one_display(monkeypatch):
    page, clock, source = Page(monkeypatch), Clock(), Source()
    view = ProgressView(total_epochs=2, kernel=True, title="learn", clock=clock)
    seen = []
    original = view._draw_display

    def spy():
        original()
        seen.append(train_points(page.outputs[0]["text/html"]))
    monkeypatch.setattr(view, "_draw_display", spy)
    run_events(view, source, n_batches=40, clock=clock)
    view.close("finished", "Finished 2 epochs in 00:02.")
    assert len(page.outputs) == 1 and page.updates > 6                  # one output, updated in place
    grown = [n for n in seen if n]
    assert grown == sorted(grown) and grown[-1] == 80 and len(set(grown)) > 3   # the curve grew while it trained
    final = page.outputs[0]
    # The end keeps the drawing as an image (shown even where a notebook opened untrusted strips inline SVG).
    assert "<svg" not in final["text/html"] and "data-epochs='2'" in final["text/html"]
    svg = final_svg(final["text/html"])
    assert svg.startswith("<svg class='jdl-svg-chart'") and train_points(svg) == 80 and "color:#6e7781" in svg
    assert "class='jdl-svg-valid'" in svg and "data-name='accuracy'" in svg
    assert "alt='train loss " in final["text/html"]                   # the text alternative, for screen readers
    assert "<progress" in final["text/html"] and "<table class='jdl-table'>" in final["text/html"]
    assert "<b class='jdl-title'>learn</b>" in final["text/html"]
    text = final["text/plain"]
    assert "0.8200" in text and "train loss " in text and "(80 steps)" in text  # the text alternative
    # The summary is in the same output (a background run's thread would put a new output in another cell).
    assert "class='jdl-summary jupyter-dl-summary'" in final["text/html"]
    assert text.endswith("jupyter_dl \u00b7 Finished 2 epochs in 00:02.")
    assert "<script" not in final["text/html"]                           # nothing to run, nothing to fetch


def test_throttled_one_device_read_per_draw_never_per_batch(monkeypatch):
    Page(monkeypatch)
    clock, source = Clock(), Source()
    view = ProgressView(total_epochs=2, kernel=True, min_interval=0.3, clock=clock)
    run_events(view, source, n_batches=100, clock=clock, tick=0.01)      # 2 s of batches
    assert source.reads == view.draws and source.running_reads == 0
    # 2 s at one draw per >= 0.3 s, plus the draws for the epoch and fit events.
    assert view.draws <= 2 / 0.3 + 1 + 6
    view.close("finished")
    assert train_points(render_html(view.state, view.chart.svg())) == 200


def test_phase_change_is_marked(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    view = ProgressView(kernel=True, clock=clock)
    run_events(view, Source(), n_batches=5, clock=clock, fits=[("frozen", 1), ("unfrozen", 1)])
    view.close("finished")
    html = page.outputs[0]["text/html"]
    assert "class='jdl-svg-phase'" in final_svg(html) and ">unfrozen</text>" in final_svg(html)


def test_a_source_without_points_still_shows_the_running_loss(monkeypatch):
    page = Page(monkeypatch)
    source = FakeTrainer()
    view = ProgressView(total_epochs=2, kernel=True, clock=Clock())
    run_events(view, source, n_batches=3)
    view.close("finished")
    assert "loss 0.5000" in page.outputs[0]["text/plain"] and source.loss_reads > 0
    assert "data-name='accuracy'" in final_svg(page.outputs[0]["text/html"])   # the epochs still make a chart


def test_a_failing_chart_or_source_never_stops_training(monkeypatch):
    page = Page(monkeypatch)
    view = ProgressView(kernel=True, clock=Clock())
    monkeypatch.setattr(view.chart, "svg", lambda title="", color="": 1 / 0)
    with pytest.warns(UserWarning, match="loss plot could not be drawn"):
        run_events(view, Source(), n_batches=3)
    view.close("finished")
    assert "<progress" in page.outputs[0]["text/html"] and "jdl-svg" not in page.outputs[0]["text/html"]

    class Broken(Source):
        def loss_points(self, since=0):
            raise RuntimeError("device lost")

    view = ProgressView(kernel=True, clock=Clock())
    with pytest.warns(UserWarning, match="could not draw"):
        run_events(view, Broken(), n_batches=3)
    view.close("finished")


def test_html_escapes_and_shows_status():
    view = ProgressView(kernel=False, stream=io.StringIO())
    view.state.status = "failed: <bad>"
    assert "&lt;bad&gt;" in render_html(view.state)


# ---------------------------------------------------------------------- which view, which Stop
def kernel_frontend(monkeypatch, name, takes_input=True, figure_widgets=False):
    """Pretend to run in a kernel shown by ``name`` ("jupyter", "colab", "vscode")."""
    class Shell:
        pass

    kernel = type("ZMQInteractiveShell", (Shell,), {})()
    monkeypatch.setattr(frontend, "kernel_shell", lambda: kernel)
    monkeypatch.setattr(frontend, "frontend_takes_input", lambda shell: takes_input)
    monkeypatch.setattr(frontend, "plotly_figure_widgets", lambda: figure_widgets)
    monkeypatch.delenv("JUPYTER_DL_WIDGETS", raising=False)
    monkeypatch.delenv("VSCODE_PID", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if name == "colab":
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    elif name == "vscode":
        monkeypatch.setenv("VSCODE_PID", "4242")


def test_plotly_5_gets_the_svg_view_with_a_stop_button_that_is_removed_at_the_end(monkeypatch):
    pytest.importorskip("anywidget")
    kernel_frontend(monkeypatch, "colab")                                # Colab's stack: plotly 5, ipywidgets 7
    page = Page(monkeypatch)
    calls = []
    view = views.make_training_view(total_epochs=2, title="learn", on_stop=calls.append)
    assert isinstance(view, ProgressView) and view.stop_control is not None
    control = view.stop_control
    assert control.frontend == "colab" and control.hints == STOP_HINTS and control.mode == "foreground"
    assert "jdl-stop-inline" in control._dom_classes
    # Both are shown by the cell that starts the run, before any event (a background thread draws later).
    assert len(page.outputs) == 2 and "starting" in page.outputs[1]["text/plain"]
    clock = Clock()
    view._clock = clock
    run_events(view, Source(), n_batches=5, clock=clock)
    assert page.outputs[0][WIDGET_MIME]["model_id"] == control.model_id      # the button, right above
    assert "<svg" in page.outputs[1]["text/html"] and STOP_HINTS["colab"] not in page.outputs[1]["text/html"]
    assert control.epoch == 2
    view.close("interrupted", "Interrupted.")
    assert WIDGET_MIME not in page.outputs[0] and not control.running   # no widget left in the saved notebook
    assert "interrupted" in page.outputs[1]["text/plain"]
    # The Stop click's message reaches the kernel after the cell: the status says who stopped it.
    control._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "stop"}}}, "buffers": []})
    assert calls == [] and "stopped by user" in page.outputs[1]["text/plain"]
    assert final_svg(page.outputs[1]["text/html"])
    views.make_training_view(total_epochs=1)                             # the next run closes the old control
    assert control.comm is None


def test_background_stop_and_stop_after_this_epoch_work_beside_the_svg_view(monkeypatch):
    pytest.importorskip("anywidget")
    kernel_frontend(monkeypatch, "jupyter")
    Page(monkeypatch)
    calls = []
    view = views.make_training_view(total_epochs=3, mode="background", on_stop=calls.append)
    control = view.stop_control
    assert control.mode == "background" and view.stop_hint == ""
    control._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "stop", "why": "button"}}},
                         "buffers": []})
    assert calls == ["user"]
    calls.clear()
    control.stop_after_epoch = True                                      # the box, as synced from the page
    run_events(view, Source(), n_batches=3, fits=[("frozen", 1), ("unfrozen", 1)])
    assert calls and set(calls) == {"user"} and len(calls) >= 2          # at epoch 1's end, again at the next fit
    view.close("stopped")


@pytest.mark.parametrize("name", ["vscode", "jupyter", "colab"])
def test_without_widgets_a_foreground_run_says_how_to_interrupt(monkeypatch, name):
    kernel_frontend(monkeypatch, name)
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "0")                        # VS Code is off by itself
    page = Page(monkeypatch)
    view = views.make_training_view(total_epochs=1)
    assert isinstance(view, ProgressView) and view.stop_control is None
    run_events(view, Source(), n_batches=3, epochs=1)
    assert len(page.outputs) == 1 and "class='jdl-stop-hint'" in page.outputs[0]["text/html"]
    assert STOP_HINTS[name].replace("'", "&#x27;").replace(">", "&gt;") in page.outputs[0]["text/html"]
    view.close("finished")
    assert "jdl-stop-hint" not in page.outputs[0]["text/html"] and final_svg(page.outputs[0]["text/html"])
    assert views.make_training_view(total_epochs=1, mode="background").stop_hint == ""


def test_vscode_gets_no_button_and_nbclient_no_hint(monkeypatch):
    kernel_frontend(monkeypatch, "vscode")
    Page(monkeypatch)
    assert not frontend.widgets_available()
    view = views.make_training_view(total_epochs=1)
    assert view.stop_control is None and view.stop_hint == STOP_HINTS["vscode"]
    kernel_frontend(monkeypatch, "jupyter", takes_input=False)           # nbclient / nbconvert
    view = views.make_training_view(total_epochs=1)
    assert view.stop_control is None and view.stop_hint == "" and view.chart is not None


def test_the_widget_dashboard_only_where_plotly_figure_widgets_render(monkeypatch):
    pytest.importorskip("plotly")
    kernel_frontend(monkeypatch, "jupyter", figure_widgets=True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    from jupyter_dl.dashboard.widget import Dashboard

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = views.make_training_view(total_epochs=1)
    assert isinstance(view, Dashboard)
    view.close("finished")
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "0")
    assert isinstance(views.make_training_view(total_epochs=1), ProgressView)

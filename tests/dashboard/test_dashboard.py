"""The live dashboard, headless: recorded events + a fake loss source, assertions on widget state.

No wall clock: throttling runs on a fake clock the test advances.
"""
import json
import sys
import types

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")
pytest.importorskip("plotly")

from dashboard_fakes import Clock, Source  # noqa: E402

from jupyter_dl.dashboard import views  # noqa: E402
from jupyter_dl.dashboard.figure import LR, RAW, SMOOTH, VALID, BoundedSeries
from jupyter_dl.dashboard.progress import ProgressView  # noqa: E402
from jupyter_dl.dashboard.stop_control import StopControl, kernel_id_from_connection_file  # noqa: E402
from jupyter_dl.dashboard.widget import Dashboard  # noqa: E402
from jupyter_dl.train import events as ev  # noqa: E402
from jupyter_dl.ui import frontend  # noqa: E402
from jupyter_dl.ui.output import (
    PLOTLY_MIME,  # noqa: E402
    WIDGET_MIME,  # noqa: E402
)


def make(clock=None, **kw):
    kw.setdefault("total_epochs", 3)
    kw.setdefault("title", "learn")
    return Dashboard(show=False, clock=clock or Clock(), **kw)


def feed(view, source, *, fits=(("frozen", 1), ("unfrozen", 2)), n_batches=40, clock=None, tick=0.01,
         metrics=True, after_batch=None):
    """Events of a fine_tune: one frozen epoch, then unfrozen epochs; returns the epoch records."""
    epoch, records = 0, []
    for phase, epochs in fits:
        view(ev.Event(ev.FIT_START, dict(phase=phase, epochs=epochs, n_batches=n_batches,
                                         total_steps=epochs * n_batches, lrs=[1e-3]), source))
        for _ in range(epochs):
            epoch += 1
            view(ev.Event(ev.EPOCH_START, dict(phase=phase, epoch=epoch, epochs=epochs), source))
            for batch in range(1, n_batches + 1):
                source.log.append(2.0 / (1 + 0.05 * source.log.steps))
                if clock is not None:
                    clock.now += tick
                view(ev.Event(ev.BATCH_END, dict(phase=phase, epoch=epoch, batch=batch, n_batches=n_batches,
                                                 step=batch, bs=8, lr=1e-3 * batch / n_batches), source))
                if after_batch is not None:
                    after_batch(epoch, batch)
            record = dict(epoch=epoch, phase=phase, train_loss=0.6 / epoch, valid_loss=0.5 / epoch, seconds=2.0)
            if metrics:
                record["accuracy"] = [0.7, 0.9, 0.8, 0.85][(epoch - 1) % 4]
            records.append(record)
            view(ev.Event(ev.EPOCH_END, record, source))
        view(ev.Event(ev.FIT_END, dict(phase=phase, status="finished"), source))
    return records


def test_traces_grow_and_epoch_points_follow_the_records():
    clock, source = Clock(), Source()
    view = make(clock)
    sizes = []
    feed(view, source, clock=clock, tick=0.05,
         after_batch=lambda e, b: sizes.append(len(view.figure.data[RAW].x)))
    data = view.figure.data
    assert sizes[0] < sizes[len(sizes) // 2] < sizes[-1] <= 120        # the raw loss grows as it trains
    assert len(data[RAW].x) == len(data[SMOOTH].x) == 120 and len(data[LR].x) == 120         # one lr per step
    assert list(data[RAW].x[:3]) == [1, 2, 3]
    assert list(data[VALID].x) == [40, 80, 120] and list(data[VALID].customdata) == [1, 2, 3]
    assert [round(v, 4) for v in data[VALID].y] == [0.5, 0.25, 0.1667]
    accuracy = data[LR + 1]
    assert accuracy.name == "accuracy" and list(accuracy.y) == [0.7, 0.9, 0.8]
    assert accuracy.yaxis == "y2" and data[LR].yaxis == "y3"             # own subplots
    assert list(data[RAW].customdata[:1]) == [1] and data[RAW].customdata[-1] == 3  # hover: epoch
    assert "epoch" in data[RAW].hovertemplate and "step" in data[RAW].hovertemplate


def test_phase_change_is_marked_where_the_unfrozen_fit_starts():
    view = make()
    feed(view, Source(), n_batches=10)
    shapes, notes = view.figure.layout.shapes, view.figure.layout.annotations
    assert len(shapes) == 1 and shapes[0].x0 == shapes[0].x1 == 10.5 and shapes[0].yref == "paper"
    assert [n.text for n in notes] == ["unfrozen"]


def test_metric_row_note_until_the_first_epoch_and_no_row_without_metrics():
    view = make()
    assert "after each epoch" in view.figure.layout.annotations[0].text
    feed(view, Source(), fits=(("unfrozen", 1),), n_batches=3, metrics=False)
    assert not view.figure.layout.annotations and view.figure.layout.yaxis2.visible is False
    assert view.figure.layout.yaxis.domain == (0.22, 1.0)


def test_log_scale_toggle_is_client_side():
    view = make()
    menu = view.figure.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["linear", "log"]
    assert menu.buttons[1].method == "relayout" and menu.buttons[1].args[0] == {"yaxis.type": "log"}


def test_x_axis_counts_from_this_run_when_the_trainer_trained_before():
    view, source = make(), Source(earlier_steps=25)
    feed(view, source, fits=(("unfrozen", 1),), n_batches=5)
    assert list(view.figure.data[RAW].x) == [1, 2, 3, 4, 5]


def test_throttled_one_read_per_draw_and_never_per_batch():
    clock, source = Clock(), Source()
    view = make(clock, min_interval=0.3)
    feed(view, source, n_batches=200, clock=clock, tick=0.01)    # 600 batches, 6 s of fake time
    assert source.reads == view.draws                            # each draw reads loss_points once
    assert view.draws < 40                                       # ~20 throttled + epoch/fit events
    assert source.running_reads == 0                             # the smoothed loss comes with the points
    assert len(view.figure.data[RAW].x) == 600                   # nothing lost by throttling


def test_series_are_bounded():
    clock, source = Clock(), Source()
    view = make(clock, max_points=100)
    feed(view, source, fits=(("unfrozen", 2),), n_batches=500, clock=clock, tick=0.05)
    data = view.figure.data
    assert 50 <= len(data[RAW].x) <= 101 and 50 <= len(data[LR].x) <= 101
    assert data[RAW].x[-1] == 1000                               # the newest point is always shown
    assert list(data[RAW].x) == sorted(data[RAW].x)


def test_series_decimation_keeps_every_kth_point():
    series = BoundedSeries(2, max_points=8)
    for i in range(1, 40):
        series.extend([i], [i * 10])
    x, y = series.columns()
    assert len(x) <= 9 and x[-1] == 39 and y[-1] == 390
    steps = {b - a for a, b in zip(x[:-2], x[1:-1])}
    assert steps == {series.stride}


@pytest.mark.parametrize("status, events, expected", [
    ("finished", [], "finished"),
    ("stopped", [ev.Event(ev.STOP, dict(reason="user", epoch=2, batch=7))], "stopped by user at epoch 2, batch 7"),
    ("interrupted", [ev.Event(ev.STOP, dict(reason="interrupted", epoch=1, batch=3))],
     "interrupted at epoch 1, batch 3"),
    ("failed", [ev.Event(ev.ERROR, dict(message="RuntimeError: CUDA out of memory.\nTried to allocate"))],
     "failed: RuntimeError: CUDA out of memory. Tried to allocate"),
])
def test_status_line(status, events, expected):
    view = make()
    view(ev.Event(ev.FIT_START, dict(phase="unfrozen", epochs=3, n_batches=10)))
    view(ev.Event(ev.EPOCH_START, dict(phase="unfrozen", epoch=2 if status == "stopped" else 1, epochs=3)))
    assert "jdl-status-running'" in view.header.value and ">running<" in view.header.value
    for event in events:
        view(event)
    view(ev.Event(ev.FIT_END, dict(status=status)))
    view.close(status, "summary")
    assert view.status_text == expected
    kind = expected.split(" ")[0].rstrip(":")
    assert f"jdl-status jdl-status-{kind}" in view.header.value
    _, result = view.static_bundles()
    assert expected in result["text/html"] and expected in result["text/plain"]


def test_best_epoch_marked_in_the_table():
    view = make()
    feed(view, Source(), n_batches=3)          # accuracy 0.7, 0.9, 0.8: epoch 2 is best
    table = view.table.value
    rows = table.split("<tr")[2:]              # skip the header row
    assert "jdl-best" in rows[1] and "jdl-best" not in rows[0] + rows[2]
    view(ev.Event(ev.CHECKPOINT, dict(epoch=3, monitor="accuracy", value=0.8)))  # the trainer's word wins
    assert "jdl-best" in view.table.value.split("<tr")[4]
    assert view.static_bundles()[1]["text/plain"].splitlines()[4].endswith("*best")


def test_stop_after_this_epoch_calls_on_stop_at_epoch_end_and_again_at_the_next_fit():
    calls = []
    view = make(on_stop=calls.append)

    def tick_box(epoch, batch):
        if epoch == 1 and batch == 2:
            view.stop_control.stop_after_epoch = True     # the box, as synced from the page
        if epoch == 1:
            assert calls == []                            # not before the epoch ends

    feed(view, Source(), n_batches=4, after_batch=tick_box)
    assert calls[0] == "user"
    # The frozen fit ended after epoch 1; the unfrozen fit is asked again (a trainer forgets between fits).
    assert len(calls) >= 2 and set(calls) == {"user"}
    assert view.stop_control.epoch == 3                   # the front end watches this (foreground)


def test_background_click_calls_on_stop():
    calls = []
    control = StopControl(mode="background", on_stop=calls.append, kernel_id="abc")
    # What ipywidgets does with the page's model.send({action: "stop"}).
    control._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "stop", "why": "button"}}},
                         "buffers": []})
    assert calls == ["user"] and control.stop_clicked
    assert "Stopping" in control.message
    control._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "other"}}}, "buffers": []})
    assert calls == ["user"]


def test_a_late_stop_message_never_stops_a_later_run_and_fixes_the_status():
    calls, shown = [], []
    view = make(on_stop=calls.append, mode="foreground")

    class Handle:
        def update(self, bundle, raw):
            shown.append(bundle)

    view._handle, view._info_handle = Handle(), Handle()
    view(ev.Event(ev.FIT_START, dict(phase="unfrozen", epochs=3, n_batches=10)))
    view(ev.Event(ev.EPOCH_START, dict(phase="unfrozen", epoch=1, epochs=3)))
    view(ev.Event(ev.STOP, dict(reason="interrupted", epoch=1, batch=4)))  # the button's kernel interrupt
    view.close("interrupted", "Interrupted at epoch 1, batch 4.")
    assert view.status_text == "interrupted at epoch 1, batch 4"
    # The click's message reaches the kernel after the cell ended.
    view.stop_control._handle_msg({"content": {"data": {"method": "custom", "content": {"action": "stop"}}},
                                   "buffers": []})
    assert calls == []                                            # the trainer's next fit is not stopped
    assert view.status_text == "stopped by user at epoch 1, batch 4"
    assert "stopped by user at epoch 1, batch 4" in shown[-1]["text/html"]
    assert len(shown) == 3 and PLOTLY_MIME in shown[0] and PLOTLY_MIME not in shown[2]  # only the status redrawn


def test_close_replaces_the_widget_by_a_static_figure_and_the_table(monkeypatch):
    shown, updates = [], {}

    class Handle:
        def __init__(self, n):
            self.n = n

        def update(self, bundle, raw, **kw):
            updates.setdefault(self.n, []).append(bundle)

    def fake_display(bundle, raw, display_id, metadata=None):
        shown.append(bundle)
        return Handle(len(shown) - 1)

    monkeypatch.setattr("IPython.display.display", fake_display)
    view = Dashboard(total_epochs=3, title="learn", clock=Clock())
    assert shown[0][WIDGET_MIME]["model_id"] == view.widget.model_id    # the live widget, by display handle
    feed(view, Source(), n_batches=5)
    view.close("finished", "Finished 3 epochs in 00:06.")
    figure, result = updates[0][-1], updates[1][-1]
    assert WIDGET_MIME not in figure
    plot = figure[PLOTLY_MIME]
    json.dumps(plot, allow_nan=False)                                    # plain JSON: lists, no NaN
    assert len(plot["data"][RAW]["x"]) == 15 and plot["data"][VALID]["y"][0] == 0.5
    assert plot["layout"]["title"]["text"] == "learn · training"
    assert "cdn.plot.ly" in figure["text/html"] and "jdl-static-figure" in figure["text/html"]
    assert "training curves" in figure["text/plain"]
    assert "<table class='jdl-table'" in result["text/html"] and "jupyter-dl-summary" in result["text/html"]
    assert "Finished 3 epochs in 00:06." in result["text/plain"] and "accuracy" in result["text/plain"]
    assert not view.stop_control.running
    view(ev.Event(ev.BATCH_END, dict(batch=1)))                          # events after the end are ignored


def test_nan_losses_and_a_failing_source_never_raise():
    class Broken(Source):
        def loss_points(self, since=0):
            raise RuntimeError("device lost")

    view = make()
    with pytest.warns(UserWarning, match="could not draw"):
        feed(view, Broken(), fits=(("unfrozen", 1),), n_batches=3)
    view.close("finished")                                               # still leaves a result
    view = make()
    source = Source()
    source.log.append(float("nan"))
    feed(view, source, fits=(("unfrozen", 1),), n_batches=2)
    view.close("finished")
    json.dumps(view.static_figure(), allow_nan=False)


def test_views_fall_back_to_the_progress_display_without_widgets(monkeypatch):
    assert frontend.widgets_available() is False                         # no kernel here
    assert isinstance(views.make_training_view(total_epochs=2), ProgressView)
    assert views.make_training_view(total_epochs=2, quiet=True) is None
    monkeypatch.setattr(frontend, "figure_widgets_available", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    calls = []
    view = views.make_training_view(total_epochs=2, title="t", mode="background", on_stop=calls.append)
    assert isinstance(view, Dashboard) and view.stop_control.mode == "background"
    view.close("finished", None)


def test_widgets_env_switch(monkeypatch):
    monkeypatch.setattr(frontend, "kernel_shell", lambda: object())
    monkeypatch.setattr(frontend, "frontend_takes_input", lambda shell: False)   # e.g. nbclient
    assert frontend.widgets_available() is False
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "1")
    assert frontend.widgets_available() is True
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "0")
    assert frontend.widgets_available() is False


def test_progress_view_close_keeps_where_it_stopped():
    import io

    view = ProgressView(kernel=False, stream=io.StringIO())
    view(ev.Event(ev.FIT_START, dict(phase="unfrozen", epochs=2, n_batches=5)))
    view(ev.Event(ev.EPOCH_START, dict(phase="unfrozen", epoch=1, epochs=2)))
    view(ev.Event(ev.STOP, dict(reason="user", epoch=1, batch=2)))
    view.close("stopped")
    assert view.state.status == "stopped by user at epoch 1, batch 2"


def test_kernel_id_from_the_connection_file():
    assert kernel_id_from_connection_file("/run/jupyter/kernel-4f2a-b9.json") == "4f2a-b9"
    assert kernel_id_from_connection_file("kernel-v3-1234.json") == "v3-1234"
    assert kernel_id_from_connection_file("other.json") == ""
    assert StopControl(kernel_id="x").kernel_id == "x"


def test_which_front_end_and_what_it_renders(monkeypatch):
    class Shell:                       # stands in for ipykernel's shell (matched by class name)
        pass

    Kernel = type("ZMQInteractiveShell", (Shell,), {})
    monkeypatch.setattr(frontend, "kernel_shell", lambda: Kernel())
    monkeypatch.setattr(frontend, "frontend_takes_input", lambda shell: True)
    monkeypatch.delenv("VSCODE_PID", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert frontend.frontend() == "jupyter" and frontend.widgets_available()
    assert frontend.figure_widgets_available() is frontend.plotly_figure_widgets()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert frontend.frontend() == "colab" and frontend.widgets_available()
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setenv("VSCODE_PID", "4242")     # VS Code cannot load anywidget modules: no live widgets
    assert frontend.frontend() == "vscode" and not frontend.widgets_available()
    assert not frontend.figure_widgets_available()
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "1")
    assert frontend.widgets_available()
    monkeypatch.setattr(frontend, "kernel_shell", lambda: None)
    assert frontend.frontend() is None

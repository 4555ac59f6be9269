"""The progress display: draws from events, throttled, reads the loss only when it draws."""
import io

from jupyter_dl.dashboard.progress import ProgressView, render_html
from jupyter_dl.train import events as ev


class FakeTrainer:
    def __init__(self):
        self.loss_reads = 0

    def running_loss(self):
        self.loss_reads += 1
        return 0.5


def run_events(view, source, n_batches=50, epochs=2):
    view(ev.Event(ev.FIT_START, dict(phase="unfrozen", epochs=epochs, n_batches=n_batches), source))
    for epoch in range(1, epochs + 1):
        view(ev.Event(ev.EPOCH_START, dict(phase="unfrozen", epoch=epoch, epochs=epochs), source))
        for batch in range(1, n_batches + 1):
            view(ev.Event(ev.BATCH_END, dict(epoch=epoch, batch=batch, n_batches=n_batches, bs=8, lr=1e-3), source))
        view(ev.Event(ev.EPOCH_END, dict(epoch=epoch, phase="unfrozen", train_loss=0.6, valid_loss=0.55,
                                         accuracy=0.8 + epoch / 100, seconds=1.0), source))
    view(ev.Event(ev.FIT_END, dict(status="finished"), source))


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


def test_kernel_view_updates_one_display_in_place(monkeypatch):
    shown, updates = [], []

    class Handle:
        def update(self, bundle, raw):
            updates.append(bundle)

    def fake_display(bundle, raw, display_id):
        shown.append(bundle)
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    view = ProgressView(total_epochs=2, min_interval=0, kernel=True)
    run_events(view, FakeTrainer(), n_batches=3)
    assert len(shown) == 1 and len(updates) > 6
    final = updates[-1]
    assert "<progress" in final["text/html"] and "<table>" in final["text/html"]
    assert "0.8200" in final["text/plain"]  # epoch 2's accuracy in the text alternative


def test_html_escapes_and_shows_status():
    view = ProgressView(kernel=False, stream=io.StringIO())
    view.state.status = "failed: <bad>"
    assert "&lt;bad&gt;" in render_html(view.state)

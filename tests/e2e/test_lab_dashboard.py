"""What only a browser shows: %finetune in a real JupyterLab (dashboard, live plot, Stop, reload).

Each test opens its own notebook in its own JupyterLab workspace; the kernels are shut down
after each test. Runs use the embedded sample at 32 px on the CPU (torch limited to one thread),
long enough (--epochs 20) that a Stop lands mid-run; stopped runs end in a few seconds.
Nothing here asserts on durations: every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from jdl_lab import wait_until

REPO = Path(__file__).resolve().parents[2]
FIT = "%finetune sample --size 32 --bs 32"
LONG_EPOCHS = 20                                   # + 1 frozen epoch: 21 asked
ASKED = LONG_EPOCHS + 1
PLOT = ".jdl-dashboard .js-plotly-plot"

pytestmark = [pytest.mark.e2e]


def _dashboard_landed() -> bool:
    return (REPO / "jupyter_dl" / "ui" / "dashboard.py").exists()


def _wait_for_points(nb, index: int, minimum: int = 1, timeout: float = 90) -> int:
    """Wait until the dashboard's plot has at least ``minimum`` train-loss points.

    Fails at once when cell ``index`` ended with an error instead (no waiting out the deadline).
    """
    def ready():
        points = nb.plot_points(PLOT) or 0
        if points >= minimum:
            return points
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        cell = nb.cell(index)
        if cell.locator(".jupyter-dl-progress").count() and not cell.locator(".jdl-dashboard").count():
            raise AssertionError("no dashboard: the cell shows the HTML progress fallback (.jupyter-dl-progress); "
                                 "make_training_view did not return the widget dashboard in JupyterLab")
        return 0

    return wait_until(ready, timeout, f"the dashboard plot to show >= {minimum} points")


def _wait_shown(nb, index: int, selector: str, timeout: float = 90):
    """Wait until ``selector`` is visible in cell ``index``'s output; fail at once if the cell errored."""
    loc = nb.cell(index).locator(selector).first

    def ready():
        if loc.count() and loc.is_visible():
            return True
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        return False

    wait_until(ready, timeout, f"{selector} in cell {index}")
    return loc


def _stop_button(nb):
    """The Stop button: the element with class jdl-stop, or the button inside it."""
    for selector in ("button.jdl-stop", ".jdl-stop button", ".jdl-stop"):
        loc = nb.page.locator(selector)
        if loc.count():
            return loc.first
    raise AssertionError("no .jdl-stop element in the page")


def _shown_status(nb, index: int) -> str:
    """What cell ``index`` tells a person about the run: the dashboard's status line (live), the
    text of the output (static summary), and the titles of plotly figures in it (static figure)."""
    return nb.page.evaluate(
        """(i) => {
            const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const cell = p && p.querySelectorAll('.jp-Notebook .jp-Cell')[i];
            if (!cell) return '';
            const parts = [...cell.querySelectorAll('.jdl-status')].map(e => e.innerText);
            const out = cell.querySelector('.jp-OutputArea');
            if (out) parts.push(out.innerText);
            for (const g of cell.querySelectorAll('.js-plotly-plot')) {
                const t = g.layout && g.layout.title;
                parts.push(typeof t === 'string' ? t : (t && t.text) || '');
            }
            return parts.join('\\n');
        }""", index)


def _result(nb, index: int):
    return ast.literal_eval(nb.result_text(index))


def _end_run(nb, index: int) -> None:
    """Interrupt the kernel (REST) to end a long run the test no longer needs."""
    if nb.is_busy(index):
        nb.server.interrupt(nb.kernel_id())
    nb.wait_cell_done(index, timeout=60)


@pytest.mark.timeout(180)
def test_finetune_shows_progress_and_finishes(open_notebook):
    """Harness smoke test: %load_ext + a short %finetune show a live display and a final summary."""
    nb = open_notebook("smoke.ipynb", ["%load_ext jupyter_dl", f"{FIT} --epochs 2"])
    nb.run_cell(0)
    assert nb.failure_text(0) == ""
    nb.run_cell(1, wait=False)
    # While it runs: the dashboard (widget front end) or the HTML progress display (fallback).
    _wait_shown(nb, 1, ".jdl-dashboard, .jupyter-dl-progress")
    nb.wait_cell_done(1, timeout=150)
    assert nb.failure_text(1) == "", nb.failure_text(1)
    # The end state is shown: the summary ("Finished 3 epochs ...") or the static figure's title.
    wait_until(lambda: re.search(r"finished", _shown_status(nb, 1), re.IGNORECASE), 30, "the run to show it finished")
    # A typed cell (new cell + Shift+Enter) sees the learner.
    nb.screenshot("smoke")
    i = nb.run_code("learn.status, len(learn.history)")
    assert _result(nb, i) == ("finished", 3)


@pytest.mark.timeout(150)
def test_plot_grows_while_cell_runs(open_notebook):
    """Two samples of the live plot, while the cell is still busy: more points the second time.

    Also saves the mid-run screenshot out/screenshots/dashboard.png (the README's picture).
    """
    nb = open_notebook("grows.ipynb", ["%load_ext jupyter_dl", f"{FIT} --epochs {LONG_EPOCHS}"])
    nb.run_cell(0)
    nb.run_cell(1, wait=False)
    first = _wait_for_points(nb, 1, 1)
    assert nb.is_busy(1), "the cell ended before the plot was sampled"
    second = wait_until(lambda: (nb.plot_points(PLOT) or 0) > first and nb.plot_points(PLOT), 60,
                         f"the plot to grow beyond {first} points")
    assert nb.is_busy(1), "the cell must still be running at the second sample"
    assert second > first
    dashboard = nb.cell(1).locator(".jdl-dashboard").first
    path = nb.screenshot("dashboard", dashboard)
    assert path.stat().st_size > 10_000
    nb.screenshot("dashboard-page")
    _end_run(nb, 1)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_stop_button_stops_foreground_run(open_notebook, app):
    """Stop during a foreground (busy) cell: clean stop at a batch boundary, fewer epochs than asked."""
    if app == "notebook":
        pytest.importorskip("notebook", reason="Notebook 7 is not installed")
    nb = open_notebook(f"stop_fg_{app}.ipynb", [
        "%load_ext jupyter_dl",
        f"{FIT} --epochs {LONG_EPOCHS}",
        "learn.status, len(learn.history), learn.stopped_at",
    ], app=app)
    nb.run_cell(0)
    nb.run_cell(1, wait=False)
    _wait_for_points(nb, 1, 3)           # training is in the Trainer's batch loop
    assert nb.is_busy(1)
    _stop_button(nb).click()
    nb.wait_cell_done(1, timeout=60)
    assert nb.failure_text(1) == "", nb.failure_text(1)   # a clean stop: no KeyboardInterrupt traceback
    wait_until(lambda: re.search(r"stopped|interrupted", _shown_status(nb, 1), re.IGNORECASE), 30,
                "the dashboard to say the run stopped")
    nb.screenshot(f"dashboard-stopped-{app}")
    nb.run_cell(2)
    status, epochs, where = _result(nb, 2)
    assert status in ("stopped", "interrupted")
    assert epochs < ASKED
    assert where and re.fullmatch(r"epoch \d+, batch \d+", where), where


@pytest.mark.timeout(150)
def test_stop_button_stops_background_run(open_notebook):
    """--background: the cell returns at once, the plot keeps growing, Stop ends the run."""
    nb = open_notebook("stop_bg.ipynb", [
        "%load_ext jupyter_dl",
        f"{FIT} --epochs {LONG_EPOCHS} --background",
        "learn.running, 1 + 1",
        "learn.wait(); learn.status, len(learn.history)",
    ])
    nb.run_cell(0)
    nb.run_cell(1, timeout=90)        # returns while training goes on in a thread
    assert nb.failure_text(1) == "", nb.failure_text(1)
    first = _wait_for_points(nb, 1, 1)
    nb.run_cell(2, timeout=30)        # the notebook stays usable while it trains
    assert _result(nb, 2) == (True, 2)
    wait_until(lambda: (nb.plot_points(PLOT) or 0) > first, 60, "the plot to grow after the cell returned")
    _stop_button(nb).click()
    nb.run_cell(3, timeout=60)
    status, epochs = _result(nb, 3)
    assert status == "stopped"
    assert epochs < ASKED
    wait_until(lambda: re.search(r"stopped", _shown_status(nb, 1), re.IGNORECASE), 30,
                "the dashboard to say the run stopped")


@pytest.mark.timeout(180)
def test_result_survives_save_and_reload(open_notebook, lab):
    """After a run: Ctrl+S, reload the page: the static result (plotly figure or summary) is still shown."""
    nb = open_notebook("reload.ipynb", ["%load_ext jupyter_dl", f"{FIT} --epochs 1 --freeze-epochs 0"])
    nb.run_cell(0)
    nb.run_cell(1, timeout=150)
    _wait_shown(nb, 1, ".js-plotly-plot, .jupyter-dl-summary", timeout=30)
    before = _shown_status(nb, 1)
    nb.save()
    saved = lab.read_notebook("reload.ipynb")["cells"][1]["outputs"]
    mimes = {mime for out in saved for mime in out.get("data", {})}
    assert "text/html" in mimes or "application/vnd.plotly.v1+json" in mimes, mimes
    if _dashboard_landed():
        # The live widget was replaced by a static bundle: a plotly figure that needs no kernel.
        assert "application/vnd.plotly.v1+json" in mimes, mimes
        assert "application/vnd.jupyter.widget-view+json" not in mimes, mimes
    nb.reload()
    # A plotly output renders as an interactive graph (.js-plotly-plot) in a trusted notebook and as
    # the renderer's PNG snapshot (img.plot-img) in an untrusted one: after a reload JupyterLab 4.6
    # shows this notebook as untrusted (the server logs "Notebook ... is not trusted" on save).
    _wait_shown(nb, 1, ".jp-RenderedPlotly, .js-plotly-plot, .jupyter-dl-summary", timeout=30)
    snapshot = False
    if "application/vnd.plotly.v1+json" in mimes:
        graph = nb.cell(1).locator(".jp-RenderedPlotly").first
        graph.wait_for(state="visible", timeout=30_000)
        snapshot = graph.locator("img.plot-img").count() > 0
        if snapshot:
            assert graph.locator("img.plot-img").first.evaluate("img => img.naturalWidth") > 100
        else:
            assert (nb.plot_points(".jp-Notebook .js-plotly-plot") or 0) > 0
    text = nb.output_text(1)
    assert "Error displaying widget" not in text and "model not found" not in text.lower(), text[-1000:]
    if "application/vnd.plotly.v1+json" not in mimes:
        assert "Finished 1 epoch" in text, text[-1000:]
    if not snapshot:                                  # (a PNG snapshot has no text to compare)
        after = _shown_status(nb, 1)
        for word in ("finished", "Finished 1 epoch"):  # what was said before the reload is said again
            assert (word in before) <= (word in after), (word, before[-500:], after[-500:])
    nb.screenshot("dashboard-reloaded")

"""What only a browser shows: %finetune in a real JupyterLab (dashboard, live plot, Stop, reload), and the
view that needs no custom widgets (its inline SVG curve grows and stays; beside it the Stop button where
jupyter_dl's anywidgets render but plotly's figure widget does not).

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


def _wait_for_epoch(nb, timeout: float = 90) -> None:
    """Wait until the dashboard's plot shows a valid-loss point (an epoch ended)."""
    wait_until(lambda: (nb.plot_points(PLOT, trace=2) or 0) >= 1, timeout, "the first epoch to end")


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
    _wait_for_epoch(nb)               # a run stopped before its first epoch keeps no learner
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
    _wait_for_epoch(nb)
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


# ---------------------------------------------------------------------- the view without custom widgets
NO_WIDGETS = "%env JUPYTER_DL_WIDGETS=0"
# plotly 5's stack (Colab, classic Notebook 6): jupyter_dl's anywidgets render, plotly's FigureWidget does not.
NO_FIGURE_WIDGETS = "import jupyter_dl.ui.frontend as frontend; frontend.plotly_figure_widgets = lambda: False"


def _svg_curve(nb, index: int) -> tuple[int, int, int]:
    """(points in the train-loss path, steps, epochs the chart has seen) of the SVG view in cell ``index``
    ((0, 0, 0): none)."""
    return tuple(nb.page.evaluate(
        """(i) => {
            const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const cell = p && p.querySelectorAll('.jp-Notebook .jp-Cell')[i];
            const svg = cell && cell.querySelector('.jupyter-dl-progress svg.jdl-svg-chart');
            const path = svg && svg.querySelector('path.jdl-svg-train');
            if (!path) return [0, 0, 0];
            return [(path.getAttribute('d').match(/[ML]/g) || []).length, Number(svg.dataset.steps),
                    Number(svg.dataset.epochs)];
        }""", index))


def _final_curve(nb, index: int) -> tuple[int, int]:
    """(points in the train-loss path, rendered width) of the final image (img.jdl-svg-image) in cell ``index``."""
    return tuple(nb.page.evaluate(
        """(i) => {
            const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const cell = p && p.querySelectorAll('.jp-Notebook .jp-Cell')[i];
            const img = cell && cell.querySelector('img.jdl-svg-image');
            if (!img) return [0, 0];
            const svg = new DOMParser().parseFromString(atob(img.src.split(',')[1]), 'image/svg+xml');
            const path = svg.querySelector('path.jdl-svg-train');
            return [path ? (path.getAttribute('d').match(/[ML]/g) || []).length : 0, img.naturalWidth];
        }""", index))


def _wait_for_curve(nb, index: int, more_than: tuple[int, int] = (1, 0), timeout: float = 90,
                    epochs: int = 0) -> tuple[int, int, int]:
    """Wait until the SVG curve has more points and steps than ``more_than`` and at least ``epochs`` epochs;
    fail at once if the cell errored."""
    def ready():
        points, steps, done = _svg_curve(nb, index)
        if points > more_than[0] and steps > more_than[1] and done >= epochs:
            return points, steps, done
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        if nb.cell(index).locator(".jdl-dashboard").count():
            raise AssertionError("the widget dashboard was shown, not the view without widgets")
        return None

    return wait_until(ready, timeout, f"the SVG loss curve to grow beyond {more_than}")


@pytest.mark.timeout(180)
def test_svg_view_grows_while_training_and_stays_after_the_run(open_notebook):
    """JUPYTER_DL_WIDGETS=0: one display updated in place; its SVG curve grows while the cell is busy, says how
    to interrupt here, and the final output keeps the curve."""
    nb = open_notebook("svg_grows.ipynb", ["%load_ext jupyter_dl", NO_WIDGETS, f"{FIT} --epochs {LONG_EPOCHS}"])
    nb.run_cell(0)
    nb.run_cell(1)
    nb.run_cell(2, wait=False)
    first = _wait_for_curve(nb, 2)
    assert nb.is_busy(2), "the cell ended before the curve was sampled"
    second = _wait_for_curve(nb, 2, first[:2], timeout=60)
    assert nb.is_busy(2), "the cell must still be running at the second sample"
    assert second[0] > first[0] and second[1] > first[1]
    cell = nb.cell(2)
    assert cell.locator(".jdl-stop-hint").first.inner_text().startswith("To stop: interrupt the kernel")
    assert not cell.locator(".jdl-stop-control").count() and not cell.locator(".jdl-dashboard").count()
    nb.screenshot("svg-view", cell.locator(".jupyter-dl-progress").first)
    _end_run(nb, 2)                                   # the interrupt the hint names: a clean stop
    assert nb.failure_text(2) == "", nb.failure_text(2)
    wait_until(lambda: re.search(r"interrupted at epoch", _shown_status(nb, 2)), 30, "the view to say it stopped")
    points, width = wait_until(lambda: _final_curve(nb, 2)[1] and _final_curve(nb, 2), 30, "the final image")
    assert points >= second[0] and width > 300         # the curve stayed, as an image that renders
    assert not cell.locator(".jdl-stop-hint").count()
    nb.save()
    saved = nb.server.read_notebook("svg_grows.ipynb")["cells"][2]["outputs"]
    html = "".join("".join(out.get("data", {}).get("text/html", "")) for out in saved)
    assert "<img class='jdl-svg-image'" in html and "application/vnd.jupyter.widget-view+json" not in str(saved)
    # Reopened (JupyterLab shows this notebook untrusted: inline SVG would be stripped), the image still shows,
    # and no loose chart labels leak into the text.
    nb.reload()
    _wait_shown(nb, 2, "img.jdl-svg-image", timeout=30)
    assert wait_until(lambda: _final_curve(nb, 2)[1], 30, "the reopened image to load") > 300
    assert _final_curve(nb, 2)[0] == points
    assert "train loss (smoothed)" not in nb.output_text(2)
    nb.screenshot("svg-view-reopened", nb.cell(2).locator(".jupyter-dl-progress").first)


@pytest.mark.timeout(180)
def test_stop_button_beside_the_svg_view_stops_a_foreground_run(open_notebook):
    """plotly 5's stack in JupyterLab: the SVG view with the Stop control above it; Stop ends the busy cell
    cleanly (the server's interrupt), the button leaves the output, the curve stays."""
    nb = open_notebook("svg_stop_fg.ipynb", [
        "%load_ext jupyter_dl", NO_FIGURE_WIDGETS, f"{FIT} --epochs {LONG_EPOCHS}",
        "learn.status, len(learn.history), learn.stopped_at",
    ])
    nb.run_cell(0)
    nb.run_cell(1)
    nb.run_cell(2, wait=False)
    _wait_for_curve(nb, 2, (2, 0), epochs=1)          # a run stopped before its first epoch keeps no learner
    control = nb.cell(2).locator(".jdl-stop-control.jdl-stop-inline").first
    assert control.get_attribute("data-page") == "server" and control.get_attribute("data-mode") == "foreground"
    assert not nb.cell(2).locator(".jdl-stop-hint").count()          # the button is there: no hint
    nb.screenshot("svg-view-stop", nb.cell(2).locator(".jp-Cell-outputArea").first)
    control.locator("button.jdl-stop").click()
    nb.wait_cell_done(2, timeout=60)
    assert nb.failure_text(2) == "", nb.failure_text(2)
    wait_until(lambda: re.search(r"stopped by user at epoch", _shown_status(nb, 2)), 30,
               "the view to say the Stop button stopped it")
    wait_until(lambda: not nb.cell(2).locator(".jdl-stop-control").count(), 30, "the Stop button to leave")
    assert _final_curve(nb, 2)[0] >= 2
    nb.run_cell(3)
    status, epochs, where = _result(nb, 3)
    assert status in ("stopped", "interrupted") and epochs < ASKED
    assert where and re.fullmatch(r"epoch \d+, batch \d+", where), where


@pytest.mark.timeout(180)
def test_stop_button_beside_the_svg_view_stops_a_background_run(open_notebook):
    """--background with the SVG view: the cell returns, the curve keeps growing, Stop (a widget message) ends it."""
    nb = open_notebook("svg_stop_bg.ipynb", [
        "%load_ext jupyter_dl", NO_FIGURE_WIDGETS, f"{FIT} --epochs {LONG_EPOCHS} --background",
        "learn.running, 1 + 1",
        "learn.wait(); learn.status, len(learn.history)",
    ])
    nb.run_cell(0)
    nb.run_cell(1)
    nb.run_cell(2, timeout=90)
    assert nb.failure_text(2) == "", nb.failure_text(2)
    first = _wait_for_curve(nb, 2)
    nb.run_cell(3, timeout=30)
    assert _result(nb, 3) == (True, 2)
    _wait_for_curve(nb, 2, first[:2], timeout=90, epochs=1)   # drawn from the training thread after the cell returned
    control = nb.cell(2).locator(".jdl-stop-control").first
    assert control.get_attribute("data-mode") == "background"
    control.locator("button.jdl-stop").click()
    nb.run_cell(4, timeout=60)
    status, epochs = _result(nb, 4)
    assert status == "stopped" and epochs < ASKED
    wait_until(lambda: re.search(r"stopped by user", _shown_status(nb, 2)), 30, "the view to say it stopped")
    # The run's summary joins its own output, not the cell that happened to run when the thread ended.
    wait_until(lambda: "Stopped at epoch" in nb.output_text(2), 30, "the summary under the run's view")
    assert "Stopped at epoch" not in nb.output_text(4), nb.output_text(4)

"""The live view in classic Notebook 6 on Colab's stack (plotly 5, ipywidgets 7, stand-in google.colab).

plotly 5's FigureWidget cannot render there, so a run gets the view without custom widgets (inline SVG
curves, one display updated in place) with jupyter_dl's Stop control above it. Checked here: the curve
grows while the cell is busy and stays after the run; Stop ends a foreground run through the page's own
``Jupyter.notebook.kernel.interrupt()`` (the kernel says "colab", the page's API wins); ``--background``
Stop is a widget message. Nothing asserts on durations: every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import ast
import re

import pytest
from jdl_lab import wait_until

FIT = "%finetune sample --size 32 --bs 32"
LONG_EPOCHS = 20
ASKED = LONG_EPOCHS + 1


def _curve(nb, index: int) -> tuple[int, int, int]:
    """(points in the live SVG's train-loss path, steps, epochs) in cell ``index``; zeros when none."""
    return tuple(nb.page.evaluate(
        """(i) => {
            const cell = [...document.querySelectorAll('#notebook-container .cell')][i];
            const svg = cell && cell.querySelector('.jupyter-dl-progress svg.jdl-svg-chart');
            const path = svg && svg.querySelector('path.jdl-svg-train');
            if (!path) return [0, 0, 0];
            return [(path.getAttribute('d').match(/[ML]/g) || []).length, Number(svg.dataset.steps),
                    Number(svg.dataset.epochs)];
        }""", index))


def _final_points(nb, index: int) -> int:
    """Points of the train-loss path in the final image (img.jdl-svg-image) of cell ``index``."""
    return nb.page.evaluate(
        """(i) => {
            const cell = [...document.querySelectorAll('#notebook-container .cell')][i];
            const img = cell && cell.querySelector('img.jdl-svg-image');
            if (!img || !img.naturalWidth) return 0;
            const svg = new DOMParser().parseFromString(atob(img.src.split(',')[1]), 'image/svg+xml');
            const path = svg.querySelector('path.jdl-svg-train');
            return path ? (path.getAttribute('d').match(/[ML]/g) || []).length : 0;
        }""", index)


def _wait_for_curve(nb, index: int, more_than: tuple[int, int] = (1, 0), epochs: int = 0, timeout: float = 120):
    def ready():
        points, steps, done = _curve(nb, index)
        if points > more_than[0] and steps > more_than[1] and done >= epochs:
            return points, steps, done
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        return None

    return wait_until(ready, timeout, f"the SVG curve to grow beyond {more_than} ({epochs} epochs)")


def _stop_control(nb, index: int):
    control = nb.cell(index).locator(".jdl-stop-control").first
    control.wait_for(state="visible", timeout=60_000)
    return control


def _result(nb, index: int):
    return ast.literal_eval(nb.result_text(index))


@pytest.mark.timeout(300)
def test_svg_curve_grows_and_stop_ends_a_foreground_run(classic_notebook):
    nb = classic_notebook("classic_svg_fg.ipynb", [
        "%load_ext jupyter_dl",
        f"{FIT} --epochs {LONG_EPOCHS}",
        "learn.status, len(learn.history), learn.stopped_at",
    ])
    nb.run_cell(0)
    nb.run_cell(1, wait=False)
    first = _wait_for_curve(nb, 1)
    assert nb.is_busy(1), "the cell ended before the curve was sampled"
    second = _wait_for_curve(nb, 1, first[:2], epochs=1)   # a run stopped before its first epoch keeps no learner
    assert nb.is_busy(1) and second[0] > first[0] and second[1] > first[1]
    assert not nb.cell(1).locator(".jdl-dashboard").count()          # plotly 5: no FigureWidget dashboard
    control = _stop_control(nb, 1)
    assert control.get_attribute("data-page") == "classic" and control.get_attribute("data-mode") == "foreground"
    nb.screenshot("classic-svg-view", nb.cell(1))
    control.locator("button.jdl-stop").click()
    nb.wait_cell_done(1, timeout=90)
    assert nb.failure_text(1) == "", nb.failure_text(1)              # a clean stop: no KeyboardInterrupt
    wait_until(lambda: re.search(r"stopped by user at epoch", nb.output_text(1)), 30,
               "the view to say the Stop button stopped it")
    wait_until(lambda: not nb.cell(1).locator(".jdl-stop-control").count(), 30, "the Stop button to leave")
    assert wait_until(lambda: _final_points(nb, 1), 30, "the final image of the curve") >= second[0]
    nb.run_cell(2)
    status, epochs, where = _result(nb, 2)
    assert status in ("stopped", "interrupted") and epochs < ASKED
    assert where and re.fullmatch(r"epoch \d+, batch \d+", where), where


@pytest.mark.timeout(300)
def test_background_stop_beside_the_svg_view(classic_notebook):
    nb = classic_notebook("classic_svg_bg.ipynb", [
        "%load_ext jupyter_dl",
        f"{FIT} --epochs {LONG_EPOCHS} --background",
        "learn.running, 1 + 1",
        "learn.wait(); learn.status, len(learn.history)",
    ])
    nb.run_cell(0)
    nb.run_cell(1, timeout=120)
    assert nb.failure_text(1) == "", nb.failure_text(1)
    first = _wait_for_curve(nb, 1)
    nb.run_cell(2, timeout=30)
    assert _result(nb, 2) == (True, 2)
    _wait_for_curve(nb, 1, first[:2], epochs=1)              # drawn from the training thread after the cell returned
    control = _stop_control(nb, 1)
    assert control.get_attribute("data-mode") == "background"
    control.locator("button.jdl-stop").click()
    nb.run_cell(3, timeout=90)
    status, epochs = _result(nb, 3)
    assert status == "stopped" and epochs < ASKED
    wait_until(lambda: re.search(r"stopped by user", nb.output_text(1)), 30, "the view to say it stopped")
    wait_until(lambda: "Stopped at epoch" in nb.output_text(1), 30, "the summary under the run's view")
    assert "Stopped at epoch" not in nb.output_text(3), nb.output_text(3)   # not in the cell that waited

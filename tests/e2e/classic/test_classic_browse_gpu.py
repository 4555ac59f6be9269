"""%browse and %gpu in classic Notebook 6.5 with plotly 5 and ipywidgets 7 (Colab's stack), live and reopened.

Live: a click on a class bar filters the grid, a click on a confusion-matrix cell shows its images, the
%gpu chart grows. Reopened without a kernel: each output is its static snapshot, never Notebook 6's
widget error.
"""
from __future__ import annotations

import shutil

from imagegen import make_colour_zoo
from jdl_lab import wait_until

COLOUR_LEARNER = """
from torch import nn
from jupyter_dl.finetuning.api import build_learner

class ColourNet(nn.Module):
    def forward(self, x):
        return 8.0 * x.mean(dim=(2, 3))

learn = build_learner("zoo", ColourNet(), size=16, bs=4, workers=0, device="cpu")
"""


def _in_cell(i: int, selector: str) -> str:
    return f"[...document.querySelectorAll('#notebook-container .cell')[{i}].querySelectorAll('{selector}')]"


def test_browse_and_gpu_are_live_with_plotly_5_and_reopen_as_their_snapshots(classic_notebook, classic_server):
    from jupyter_dl.data.sample_data import sample

    digits = sample()
    for label in "0123":
        for path in sorted((digits / label).iterdir())[:6]:
            (classic_server.notebooks / "digits" / label).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, classic_server.notebooks / "digits" / label / path.name)
    make_colour_zoo(classic_server.notebooks / "zoo", size=32)
    nb = classic_notebook("browse6.ipynb", ["%load_ext jupyter_dl", "%browse digits --page-size 12", COLOUR_LEARNER,
                                            "%browse learn", "%gpu --interval 0.5 --history 60"])
    for i in range(5):
        nb.run_cell(i, timeout=180)
        assert not nb.failure_text(i), nb.failure_text(i)

    # A click on the SVG bar of class 3 filters the grid to class 3.
    nb.cell(1).locator(".jdl-browser .jdl-class-bars svg.jdl-plot-svg g.jdl-svg-bar[data-x='3']").click()
    labels = f"() => {_in_cell(1, '.jdl-cell .jdl-cell-label')}.map(e => e.textContent)"
    wait_until(lambda: set(nb.page.evaluate(labels)) == {"3"}, 30, "the grid to show class 3 only")
    # A click on the confusion-matrix cell (actual dog, predicted cat) shows exactly its two images.
    nb.cell(3).locator(".jdl-browser .jdl-confusion svg g.jdl-svg-cell[data-x='cat'][data-y='dog']").click()
    names = f"() => {_in_cell(3, '.jdl-grid img.jdl-thumb')}.map(i => i.alt.split('/').pop())"
    wait_until(lambda: sorted(nb.page.evaluate(names)) == ["red_a.png", "red_b.png"], 30, "the dog -> cat cell")
    # The %gpu chart (SVG lines) grows.
    line = nb.cell(4).locator(".jdl-gpu-plot svg path.jdl-gpu-line").first
    wait_until(lambda: (line.get_attribute("d") or "").count("L") >= 3, 30, "the %gpu chart to grow")
    for i in (1, 3, 4):
        assert nb.cell(i).locator(".jdl-snapshot").count() == 1 and not nb.cell(i).locator(".jdl-snapshot").is_visible()

    wait_until(lambda: nb.cell(1).locator(".jdl-snapshot img.jdl-thumb").count() == 6, 60, "the snapshot's redraw")
    nb.save()
    classic_server.shutdown_kernels()
    nb.reload()
    assert nb.page.evaluate("() => Jupyter.notebook.trusted")
    for i in (1, 3, 4):
        snapshot = nb.cell(i).locator(".jdl-snapshot")
        snapshot.wait_for(state="visible", timeout=30_000)
        assert "could not be displayed" not in nb.output_text(i)             # Notebook 6's widget error
        assert not nb.cell(i).locator(".output_area").first.is_visible()
        assert "run the cell again" in snapshot.inner_text()

"""What only a browser shows about %label in a real JupyterLab 4 (and Notebook 7): the keys reach the
grid and never the notebook's own shortcuts, each key moves a file, `a` accepts a page, `u` undoes, and a
background fine-tune puts its point on the accuracy chart.

JupyterLab binds plain keys in command mode (a/b: insert a cell, x: cut it, arrows: select another
cell or fold a heading, 1-6: heading levels in markdown cells); a click on the grid leaves the notebook
in command mode on the %label cell, so a key that leaked out of the grid would change the notebook's
cells, their types or the active one. The pools are written by the test into the server's folder and
checked from the test process; every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import re

import pytest
from jdl_lab import wait_until
from jdl_label import COLOURS, LabelGridPage, filed_as, make_pool, tree, truth, unlabelled

pytestmark = [pytest.mark.e2e]

# The open notebook as the page shows it: cells, their types, the active one, edit mode.
NOTEBOOK_STATE = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const notebook = panel.querySelector('.jp-Notebook');
    const cells = [...notebook.querySelectorAll('.jp-Cell')];
    return {cells: cells.length,
            types: cells.map(c => c.classList.contains('jp-CodeCell') ? 'code' : 'other'),
            active: cells.findIndex(c => c.classList.contains('jp-mod-active')),
            editMode: notebook.classList.contains('jp-mod-editMode')};
}"""

LABEL = "%label {data} --classes red,green,blue --page-size 9 --retrain-every 0"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_keys_label_images_accept_a_page_and_undo_without_notebook_shortcuts(open_notebook, lab, app):
    """Also saves out/screenshots/label-<app>.png."""
    data = make_pool(lab.notebooks / f"colours_{app}")
    nb = open_notebook(f"label_{app}.ipynb", ["%load_ext jupyter_dl", LABEL.format(data=data.name)], app=app)
    nb.run_cell(0)
    nb.run_cell(1, timeout=180)
    grid = LabelGridPage(nb, 1)
    first_page = grid.wait_page(9)
    assert len(unlabelled(data)) == 24

    grid.click(0)
    before = nb.page.evaluate(NOTEBOOK_STATE)
    assert not before["editMode"] and before["active"] == 1, before   # command mode, on the %label cell

    # Digits label the image under the cursor, which moves on to the next open image: typed ahead of the
    # kernel, then one at a time.
    grid.type_ahead(data, first_page[:4])
    labelled = set(first_page[:4]) | {grid.label_cursor(data)[0] for _ in range(3)}
    assert labelled == set(first_page[:7])
    wait_until(lambda: grid.labelled_names() == labelled, 20, "the labelled cells to show as labelled")
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "a digit in the grid reached the notebook's shortcuts"
    # Arrows move the grid's cursor, not the notebook's active cell.
    start = grid.cursor_name()
    grid.press("ArrowRight")
    wait_until(lambda: grid.cursor_name() != start, 10, "the cursor to move right")
    grid.press("ArrowLeft")
    wait_until(lambda: grid.cursor_name() == start, 10, "the cursor to move back")
    grid.press("ArrowDown")
    grid.press("ArrowUp")
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "a key in the grid reached the notebook's shortcuts"
    assert len(unlabelled(data)) == 24 - 7
    nb.screenshot(f"label-{app}", nb.cell(1).locator(".jdl-labeller").first)

    # `a` labels every open image on the page with its suggestion and turns the page; `u` takes it back.
    on_disk = tree(data)
    rest = [name for name in first_page if (data / "unlabelled" / name).exists()]
    assert len(rest) == 2
    second_page = grid.turn_page("a")
    wait_until(lambda: not (set(rest) & unlabelled(data)), 30, "`a` to move the page's last two files")
    assert all(filed_as(data, name) in COLOURS for name in rest)
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "`a` in the grid inserted a cell"
    assert not set(second_page) & set(first_page)
    grid.press("u")
    wait_until(lambda: tree(data) == on_disk, 30, "`u` to put the two files back, byte for byte")
    wait_until(lambda: grid.names() == first_page, 30, "`u` to show the first page again")
    assert grid.status().startswith("Undid: Labelled 2"), grid.status()

    # `x` skips the image under the cursor (and cuts no cell); Enter turns the page (and opens no editor).
    skipped = grid.cursor_name()
    grid.press("x")
    skipped_cell = grid.grid.locator(f"figure.jdl-cell.jdl-cell-skipped[title$='/{skipped}']")
    wait_until(lambda: skipped_cell.count() == 1, 20, f"{skipped} to show as skipped")
    wait_until(lambda: grid.cursor_name() != skipped, 20, "the cursor to move on from the skipped image")
    assert (data / "unlabelled" / skipped).is_file()
    grid.turn_page("Enter")
    after = nb.page.evaluate(NOTEBOOK_STATE)
    assert after == before, f"a key in the grid reached the notebook's shortcuts: {before} -> {after}"
    assert grid.has_focus()
    assert all(filed_as(data, name) == truth(name) for name in labelled)


RETRAIN_CELLS = [
    "%load_ext jupyter_dl",
    # A tiny CNN from the notebook: the embeddings and the background fine-tunes take a second each.
    "from torch import nn\n"
    "tiny = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),\n"
    "                     nn.Linear(8, 3))",
    "%label {data} --classes red,green,blue --page-size 9 --retrain-every 6 --epochs 1 --arch tiny",
]


@pytest.mark.timeout(300)
def test_a_background_fine_tune_every_6_labels_puts_a_point_on_the_accuracy_chart(open_notebook, lab):
    """Also saves out/screenshots/label-chart.png."""
    data = make_pool(lab.notebooks / "colours_retrain")
    cells = [cell.format(data=data.name) for cell in RETRAIN_CELLS]
    nb = open_notebook("label_retrain.ipynb", cells)
    for index in range(3):
        nb.run_cell(index, timeout=180)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    grid = LabelGridPage(nb, 2)
    grid.wait_page(9)
    labeller = nb.cell(2).locator(".jdl-labeller").first
    run = labeller.locator(".jdl-label-chart-box svg.jdl-label-chart circle.jdl-label-run")
    grid.click(0)
    # Label page after page with the right keys until a fine-tune starts (6 new labels, and two of each of
    # two classes); labelling goes on while it trains.
    for _ in range(3):
        for _ in range(9):
            grid.label_cursor(data)
        if "fine-tun" in grid.status():
            break
        grid.turn_page()
    wait_until(lambda: "fine-tun" in grid.status(), 30, "the status line to say a fine-tune runs")
    wait_until(lambda: run.count() >= 1, 180, "a fine-tune's point on the accuracy chart")
    assert "held-out labels" in run.first.locator("title").text_content()
    # It takes the suggestions over, or says they stay because they were more often right (both name it).
    wait_until(lambda: re.search(r"fine-tuned on \d+ labels", grid.status()), 30, "the status line to name the run")
    assert labeller.locator(".jdl-label-run-output .jdl-dashboard").count() >= 1   # the run's live view
    nb.screenshot("label-chart", labeller)

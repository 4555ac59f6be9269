"""%label in classic Notebook 6.5 with ipywidgets 7 (Colab's stack): the keyboard grid renders, its keys
label images (the files move), `u` undoes, and none of the keys reaches Notebook 6's own shortcuts.

In command mode Notebook 6 binds plain keys: 1-6 make the cell a markdown heading, a/b insert a cell,
x cuts it, arrows select another cell, Enter edits it. A click on the grid leaves the notebook in command
mode on the %label cell, so a key that leaked out of the grid would change the cells, their types or
the selected one.
"""
from __future__ import annotations

from jdl_lab import wait_until
from jdl_label import LabelGridPage, filed_as, make_pool, tree, truth, unlabelled

# The notebook as Notebook 6's own model has it: cells, their types, the selected one, its mode.
NOTEBOOK_STATE = """() => ({cells: Jupyter.notebook.ncells(),
                            types: Jupyter.notebook.get_cells().map(c => c.cell_type),
                            selected: Jupyter.notebook.get_selected_index(),
                            mode: Jupyter.notebook.mode})"""
KEYBOARD_MANAGER_ON = "() => Jupyter.keyboard_manager.enabled"


def test_keys_label_images_and_undo_without_notebook_6_shortcuts(classic_notebook, classic_server):
    data = make_pool(classic_server.notebooks / "colours")
    nb = classic_notebook("label6.ipynb", [
        "%load_ext jupyter_dl",
        f"%label {data.name} --classes red,green,blue --page-size 9 --retrain-every 0",
        "labeller.n_labelled, ' '.join(sorted(p.parent.name for p in labeller.pool.root.glob('*/*.png')\n"
        "                                     if p.parent.name != 'unlabelled'))",
    ])
    nb.run_cell(0)
    nb.run_cell(1, timeout=180)
    grid = LabelGridPage(nb, 1)
    first_page = grid.wait_page(9)
    assert "could not be displayed" not in nb.output_text(1)       # Notebook 6's widget error
    assert nb.cell(1).locator(".jdl-label-keys").inner_text().startswith("1 red \u00b7 2 green \u00b7 3 blue")

    grid.click(0)
    assert not nb.page.evaluate(KEYBOARD_MANAGER_ON), "the grid has the focus: Notebook 6's shortcuts are off"
    before = nb.page.evaluate(NOTEBOOK_STATE)
    assert before["mode"] == "command" and before["selected"] == 1 and before["cells"] == 3, before

    # Digits (1-3: headings, had they leaked), typed ahead of the kernel, then one at a time.
    grid.type_ahead(data, first_page[:3])
    labelled = set(first_page[:3]) | {grid.label_cursor(data)[0] for _ in range(3)}
    assert labelled == set(first_page[:6]) and len(unlabelled(data)) == 24 - 6
    wait_until(lambda: grid.labelled_names() == labelled, 20, "the labelled cells to show as labelled")
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "a digit in the grid reached Notebook 6's shortcuts"

    # `x` skips the image under the cursor and cuts no cell; arrows move the grid's cursor only.
    skipped = grid.cursor_name()
    grid.press("x")
    wait_until(lambda: grid.grid.locator(f"figure.jdl-cell-skipped[title$='/{skipped}']").count() == 1, 20,
               f"{skipped} to show as skipped")
    assert (data / "unlabelled" / skipped).is_file()
    start = grid.cursor_name()
    grid.press("ArrowLeft")
    wait_until(lambda: grid.cursor_name() != start, 10, "the cursor to move left")
    grid.press("ArrowDown")
    grid.press("ArrowUp")
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "`x` or an arrow in the grid reached Notebook 6's shortcuts"

    # `a` labels the page's open images with their suggestions (inserting no cell); `u` takes them back.
    on_disk = tree(data)
    rest = [name for name in first_page if (data / "unlabelled" / name).exists() and name != skipped]
    assert len(rest) == 2
    grid.turn_page("a")
    wait_until(lambda: not set(rest) & unlabelled(data), 30, "`a` to move the page's open files")
    assert (data / "unlabelled" / skipped).is_file()                       # a skipped image is not accepted
    assert nb.page.evaluate(NOTEBOOK_STATE) == before, "`a` in the grid inserted a cell"
    grid.press("u")
    wait_until(lambda: tree(data) == on_disk, 30, "`u` to put the files back, byte for byte")
    wait_until(lambda: grid.names() == first_page, 30, "`u` to show the first page again")
    assert grid.status().startswith("Undid: Labelled 2"), grid.status()
    assert nb.page.evaluate(NOTEBOOK_STATE) == before
    assert grid.has_focus() and not nb.page.evaluate(KEYBOARD_MANAGER_ON)
    nb.screenshot("classic-label", nb.cell(1))

    # Leaving the grid gives Notebook 6 its shortcuts back; the kernel saw what the page showed.
    nb.cell(2).locator(".input_prompt").click()
    wait_until(lambda: nb.page.evaluate(KEYBOARD_MANAGER_ON), 10, "Notebook 6's shortcuts to be on again")
    nb.run_cell(2)
    assert nb.result_text(2) == repr((6, " ".join(sorted(truth(name) for name in labelled))))
    assert all(filed_as(data, name) == truth(name) for name in labelled)

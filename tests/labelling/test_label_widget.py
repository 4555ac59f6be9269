"""The live labeller headless: what the page's keys and clicks do, as the widget's state shows it."""
from __future__ import annotations

import numpy as np
import pytest
from label_pools import colour_vectors, make_pool_folder, tree, truth

from jupyter_dl.data.label_pool import open_pool
from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling.widget import Labeller


@pytest.fixture
def labeller(tmp_path):
    data = make_pool_folder(tmp_path, per_class=10)
    pool = open_pool(data, classes="red,green,blue")
    labeller = Labeller(pool, vectors=colour_vectors(pool), page_size=9, retrain_every=0, show=False)
    labeller.data = data
    yield labeller
    labeller.close()


def press(labeller, action, key=-1, label=""):
    labeller.grid._on_page_message(None, {"action": action, "key": key, "label": label})


def cell(labeller, key):
    return next(c for c in labeller.grid.cells if c["key"] == key)


def test_the_page_shows_nine_thumbnails_with_the_class_keys(labeller):
    grid = labeller.grid
    assert len(grid.images) == 9 and all(i["src"].startswith("data:image/jpeg;base64,") for i in grid.images)
    assert grid.key_map == [["1", "red"], ["2", "green"], ["3", "blue"]] and grid.cursor == labeller.page[0]
    assert [b.description for b in labeller.class_box.children] == ["1 red", "2 green", "3 blue"]
    assert "labelled 0" in labeller.header.value and "30 to go" in labeller.header.value


def test_digit_keys_label_and_move_files_and_the_cells_say_so(labeller):
    images = labeller.grid.images
    for key in list(labeller.page):
        press(labeller, "label", key, truth(labeller.pool.item(key).path))
    assert all(cell(labeller, key)["kind"] == "labelled" for key in labeller.page)
    assert labeller.grid.images == images                       # labels never re-send the page's images
    assert sum(1 for _ in (labeller.data / "red").iterdir()) >= 1
    assert "Labelled 1 image" in labeller.status.value


def test_accept_turns_the_page_and_undo_brings_it_back(labeller):
    for key in list(labeller.page):
        press(labeller, "label", key, truth(labeller.pool.item(key).path))
    press(labeller, "next")
    page = list(labeller.page)
    assert all(cell(labeller, key)["lines"][0].endswith("?") for key in page)    # a suggestion on every image
    before = tree(labeller.data)
    press(labeller, "accept")
    assert labeller.page != page and labeller.n_labelled == 18
    press(labeller, "undo")
    assert labeller.page == page and tree(labeller.data) == before
    assert [image["key"] for image in labeller.grid.images] == page


def test_a_bad_key_is_a_sentence_in_the_status_line_and_changes_nothing(labeller):
    before = tree(labeller.data)
    press(labeller, "accept")
    assert "no suggestions yet" in labeller.status.value
    press(labeller, "undo")
    assert "Nothing to undo." in labeller.status.value
    assert tree(labeller.data) == before


def test_a_class_added_in_the_field_gets_a_button_and_a_key(labeller):
    labeller.new_class.value = "purple"
    labeller._add_from_field()
    assert labeller.grid.key_map[-1] == ["4", "purple"] and labeller.class_box.children[-1].description == "4 purple"
    press(labeller, "label", labeller.page[0], "purple")
    assert (labeller.data / "purple").is_dir()
    labeller.new_class.value = "purple"
    labeller._add_from_field()
    assert "purple" in labeller.status.value and [name for _, name in labeller.grid.key_map].count("purple") == 1


def test_skip_marks_the_image_and_it_comes_last(labeller):
    key = labeller.page[0]
    press(labeller, "skip", key)
    assert cell(labeller, key)["kind"] == "skipped"
    press(labeller, "next")
    assert key not in labeller.page


def test_close_leaves_a_static_summary_with_the_counts(labeller):
    press(labeller, "label", labeller.page[0], "red")
    html = labeller.summary_html()
    assert "jdl-label-counts" in html and "labelled 1" in html


def test_a_key_leaves_the_cursor_to_the_page_and_a_class_button_moves_it_on(labeller):
    first, second, third = labeller.page[:3]
    labeller.grid.cursor = first
    press(labeller, "label", first, "red")
    # The page moved its own cursor on at the key press and may be keys ahead: none is sent from here.
    assert labeller.pool.item(first).label == "red" and labeller.grid.cursor == first
    labeller.grid.cursor = second
    labeller.class_box.children[1].click()
    assert labeller.pool.item(second).label == "green" and labeller.grid.cursor == third
    press(labeller, "next")
    assert labeller.grid.cursor in labeller.page                # a new page: the cursor is on it


def test_the_run_view_joins_the_labeller_with_the_first_run_and_a_refusal_is_said(tmp_path, shell):
    from jupyter_dl.errors import UserInputError

    data = make_pool_folder(tmp_path, per_class=4)
    pool = open_pool(data, classes="red,green,blue")
    labeller = Labeller(pool, vectors=colour_vectors(pool), page_size=6, retrain_every=0, show=False,
                        retrain_options={"arch": "no_such_model_anywhere"})
    children = labeller.widget.children
    assert not any(type(child).__name__ == "Output" for child in children)   # classic Notebook 6 cannot make one
    with pytest.raises(UserInputError):
        labeller.retrainer.start()                   # in a kernel (shell), where an Output would swallow it
    assert "could not fine-tune" in labeller.status.value
    assert labeller.widget.children[-1] is labeller.run_output.widget
    assert "jdl-label-run-output" in labeller.run_output.widget._dom_classes
    labeller.close()


def test_classes_named_by_digits_take_their_own_digit_key(tmp_path):
    data = tmp_path / "digits"
    (data / "unlabelled").mkdir(parents=True)
    from imagegen import make_image

    for i in range(12):
        make_image(data / "unlabelled" / f"img_{i}.png", size=12, seed=i)
    pool = open_pool(data, classes=[str(d) for d in range(10)])
    vectors = {item.key: np.eye(12, dtype=np.float32)[i] for i, item in enumerate(pool.items)}
    labeller = Labeller(pool, vectors=vectors, page_size=6, retrain_every=0, show=False)
    try:
        assert labeller.grid.key_map[0] == ["0", "0"] and labeller.grid.key_map[9] == ["9", "9"]
        assert [b.description for b in labeller.class_box.children][:3] == ["0", "1", "2"]
        press(labeller, "label", labeller.page[0], "0")
        assert labeller.pool.item(labeller.page[0]).label == "0" and (data / "0").is_dir()
    finally:
        labeller.close()


def test_the_grid_traits_shadow_nothing_of_ipywidgets():
    # A trait named like a Widget attribute breaks the widget in the page (a "keys" trait did: Widget.keys
    # lists the synced traits), which only a browser shows: guard it here.
    import ipywidgets

    from jupyter_dl.labelling.label_grid import LabelGrid

    own = set(LabelGrid.class_own_traits()) - {"_esm", "_css"}
    assert own and not own & set(dir(ipywidgets.DOMWidget))


def test_a_number_from_python_means_what_its_key_does(tmp_path):
    data = tmp_path / "digits"
    from imagegen import make_image

    for i in range(4):
        make_image(data / "unlabelled" / f"img_{i}.png", size=12, seed=i)
    pool = open_pool(data, classes=[str(d) for d in range(10)])
    vectors = {item.key: np.eye(4, dtype=np.float32)[i] for i, item in enumerate(pool.items)}
    labeller = Labeller(pool, vectors=vectors, page_size=4, retrain_every=0, show=False)
    try:
        labeller.label(labeller.page[0], 3)              # the key "3" labels class "3", not the third class
        assert labeller.pool.item(labeller.page[0]).label == "3"
        with pytest.raises(UserInputError, match="There is no class number 12: the classes are 0, 1, 2"):
            labeller.label(labeller.page[1], 12)
    finally:
        labeller.close()

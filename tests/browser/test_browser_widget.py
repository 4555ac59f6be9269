"""The %browse widget, headless: filters, paging, chart clicks, selection, cleaning and the mistakes view.

Every check goes through what a person uses: filter widgets' values, the grid's
``selected`` trait and its "open" message (what the page sends), plotly's click
message (what a FigureWidget receives from the page), and the toolbar's buttons
(``button.click()``). Files and CSV tables are checked on disk.
"""
from __future__ import annotations

import shutil

import pytest
import torch
from chart_paths import needs_figure_widgets
from imagegen import make_colour_zoo, make_corrupt_file, make_csv, make_image_folder
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from torch import nn

import jupyter_dl
from jupyter_dl.browser.session import BrowseSession
from jupyter_dl.browser.widget import Browser
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning.api import build_learner


def make_browser(target, **options) -> Browser:
    browser = Browser(build_catalog(target), show=False, **options)
    assert browser.wait_health(60) is not None, browser.health_line.error
    return browser


def names(browser: Browser, keys=None) -> list[str]:
    """File names of ``keys`` (default: what the grid shows now)."""
    keys = browser.grid.shown_keys() if keys is None else keys
    return [browser.state.item(k).path.name for k in keys]


def click_plot(figure, trace: int, x, y) -> None:
    """What the page sends when a point of a FigureWidget is clicked (plotly's widget message)."""
    figure._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [trace], "point_indexes": [0], "xs": [x], "ys": [y]},
        "device_state": {"alt": False, "ctrl": False, "meta": False, "shift": False, "button": 0, "buttons": 1},
        "selector": None,
    }


def tree(root) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), hidden bookkeeping left out."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


@pytest.fixture
def pets(tmp_path):
    """cat 8 / dog 6 images (40 px), plus a corrupt file and an exact duplicate in cat/."""
    root = make_image_folder(tmp_path / "pets", classes={"cat": 8, "dog": 6}, size=40)
    make_corrupt_file(root / "cat" / "broken.png")
    shutil.copy(root / "dog" / "dog_0.png", root / "cat" / "copy_of_dog.png")
    return root


# ----------------------------------------------------------------------------- filters and paging
def test_filters_by_class_split_status_and_search_show_exactly_the_matching_images(pets):
    b = make_browser(pets)
    catalog = b.catalog
    assert len(catalog.items) == 16 and b.grid.shown_keys() == [item.key for item in catalog.items]
    assert "16 of 16 images" in b.match_count.value

    b.filter_bar.class_filter.value = "dog"                        # as a person picks it in the dropdown
    assert sorted(names(b)) == [f"dog_{i}.png" for i in range(6)]

    b.filter_bar.split_filter.value = "valid"
    expected = [i.key for i in catalog.items if i.label == "dog" and i.split == "valid"]
    assert expected and b.grid.shown_keys() == expected
    assert "class dog \u00b7 valid" in b.match_count.value

    b.filter(label=None, split="all")
    b.filter_bar.search.value = "DOG_1"                            # any case; Enter (continuous_update=False) filters
    assert names(b) == ["dog_1.png"]

    b.filter_bar.search.value = ""
    options = dict(b.filter_bar.status_filter.options)
    assert options["unreadable (1)"] == "unreadable" and options["exact duplicates (2)"] == "duplicate"
    b.filter_bar.status_filter.value = "unreadable"
    assert names(b) == ["broken.png"]
    b.filter_bar.status_filter.value = "duplicate"
    assert sorted(names(b)) == ["copy_of_dog.png", "dog_0.png"]
    assert b.state.query.status == "duplicate" and b.filter_bar.class_filter.value == ""


def test_health_counts_are_buttons_that_filter(pets):
    b = make_browser(pets)
    buttons = {button.description: button for button in b.health_line.buttons.children}
    assert set(buttons) == {"1 unreadable", "2 exact duplicates"}
    buttons["1 unreadable"].click()
    assert names(b) == ["broken.png"] and b.filter_bar.status_filter.value == "unreadable"
    # The cell says what is wrong with it, and the large view says why.
    cell = b.grid.cells[0]
    assert cell["kind"] == "flagged" and cell["lines"][-1] == "unreadable"
    b.grid._handle_custom_msg({"action": "open", "key": cell["key"]}, [])
    assert "not a recognised image format" in b.details.info.value


def test_paging_walks_through_every_match_once(pets):
    b = make_browser(pets, page_size=5)
    seen = []
    assert b.page_label.value.endswith("page 1 of 4</span>") and b.prev_button.disabled
    for number in range(4):
        assert f"page {number + 1} of 4" in b.page_label.value
        seen += b.grid.shown_keys()
        assert len(b.grid.shown_keys()) == (5 if number < 3 else 1)
        if number < 3:
            b.next_button.click()
    assert b.next_button.disabled and not b.prev_button.disabled
    assert seen == [item.key for item in b.catalog.items]
    b.prev_button.click()
    assert "page 3 of 4" in b.page_label.value
    b.filter_bar.class_filter.value = "dog"                         # a new filter starts on its first page
    assert "page 1 of 2" in b.page_label.value
    assert b.go_to(99) == 1 and "page 2 of 2" in b.page_label.value


@needs_figure_widgets
def test_clicking_a_bar_filters_to_its_class_and_clicking_it_again_shows_all(pets):
    b = make_browser(pets)
    click_plot(b.bars, trace=0, x="dog", y=5)            # the "train" part of the dog bar
    assert b.state.query.label == "dog" and b.filter_bar.class_filter.value == "dog"
    assert {b.catalog.items[k].label for k in b.grid.shown_keys()} == {"dog"}
    assert list(b.bars.data[0].marker.color) == ["#4c78a8", "#f58518"]   # the active bar stands out
    click_plot(b.bars, trace=1, x="dog", y=1)            # the "valid" part of the same bar
    assert b.state.query.label is None and len(b.grid.shown_keys()) == 16
    counts = dict(zip(b.bars.data[0].x, (t + v for t, v in zip(b.bars.data[0].y, b.bars.data[1].y))))
    assert counts == {"cat": 10, "dog": 6}


# ----------------------------------------------------------------------------- selection and the large view
def test_selection_from_the_page_and_the_toolbar(pets):
    b = make_browser(pets, page_size=6)
    first = b.grid.shown_keys()
    b.grid.selected = first[:2]                          # two boxes ticked in the page
    assert b.selected == first[:2]
    assert "2 selected" in b.toolbar.selection_text.value and not b.toolbar.relabel_button.disabled
    b.next_button.click()
    b.toolbar.select_page.click()                        # the selection spans pages
    assert b.selected == first[:2] + b.grid.shown_keys()
    assert b.grid.selected == b.selected
    b.toolbar.clear.click()
    assert b.selected == [] and b.grid.selected == [] and b.toolbar.relabel_button.disabled


def test_clicking_a_thumbnail_opens_the_large_view(pets):
    b = make_browser(pets)
    key = next(i.key for i in b.catalog.items if i.path.name == "dog_3.png")
    assert b.details.widget.layout.display == "none"
    b.grid._handle_custom_msg({"action": "open", "key": key}, [])     # the page's click message
    info = b.details.info.value
    assert b.details.widget.layout.display == "flex" and b.grid.opened == key
    assert str(pets / "dog" / "dog_3.png") in info and "40 \u00d7 40" in info and " kB" in info
    assert ">dog<" in info and len(b.details.image.value) > 100
    b.details.close_button.click()
    assert b.details.widget.layout.display == "none" and b.grid.opened == -1


# ----------------------------------------------------------------------------- cleaning
def test_relabel_remove_and_undo_through_the_toolbar_move_files_and_restore_them(pets):
    before = tree(pets)
    b = make_browser(pets)
    key = next(i.key for i in b.catalog.items if i.path.name == "copy_of_dog.png")

    b.filter_bar.search.value = "copy_of"
    b.toolbar.select_page.click()
    b.toolbar.label_choice.value = "dog"
    b.toolbar.relabel_button.click()
    assert (pets / "dog" / "copy_of_dog.png").is_file() and not (pets / "cat" / "copy_of_dog.png").exists()
    assert "Relabelled 1 image" in b.toolbar.status.value
    assert b.state.item(key).label == "dog" and b.selected == []
    assert b.grid.cells[0]["lines"][0] == "dog"                   # the grid shows the new label
    assert dict(b.filter_bar.class_filter.options)["dog (7)"] == "dog"       # counts follow
    assert b.toolbar.undo_button.description == "Undo (1)"
    assert b.toolbar.undo_button.tooltip == "undo: Relabelled 1 image as 'dog': moved to the 'dog' class folder."

    b.filter(search="", label="cat")
    b.selected = [i.key for i in b.catalog.items if i.path.name in ("cat_0.png", "broken.png")]
    b.toolbar.remove_button.click()
    assert not (pets / "cat" / "cat_0.png").exists() and not (pets / "cat" / "broken.png").exists()
    trashed = sorted(p.name for p in (pets / ".jupyter_dl_trash").rglob("*") if p.is_file())
    assert trashed == ["broken.png", "cat_0.png"]                 # moved, never deleted
    assert len(b.catalog.items) == 14 and "7 of 14 images" in b.match_count.value

    b.toolbar.undo_button.click()
    b.toolbar.undo_button.click()
    assert "Undid" in b.toolbar.status.value and b.toolbar.undo_button.disabled
    assert tree(pets) == before                                   # byte-identical, every file where it was
    assert len(b.catalog.items) == 16 and b.state.item(key).label == "cat"
    b.toolbar.undo_button.click()                                 # nothing left: says so, no error
    assert "Nothing to undo" in b.toolbar.status.value


@needs_figure_widgets
def test_relabel_to_a_new_class_makes_its_folder(pets):
    b = make_browser(pets)
    b.selected = [i.key for i in b.catalog.items if i.path.name in ("cat_1.png", "cat_2.png")]
    b.toolbar.label_choice.value = "new class\u2026"
    assert b.toolbar.new_label.layout.display == ""
    b.toolbar.new_label.value = "fox"
    b.toolbar.relabel_button.click()
    assert sorted(p.name for p in (pets / "fox").iterdir()) == ["cat_1.png", "cat_2.png"]
    assert "fox" in b.toolbar.label_choice.options and dict(b.filter_bar.class_filter.options)["fox (2)"] == "fox"
    assert list(b.bars.data[0].x) == ["cat", "dog", "fox"]


def test_a_filter_on_a_class_that_an_edit_empties_stays_visible(pets):
    b = make_browser(pets)
    b.selected = [i.key for i in b.catalog.items if i.path.name in ("cat_1.png", "cat_2.png")]
    b.relabel("fox")
    b.filter_bar.class_filter.value = "fox"
    b.toolbar.select_page.click()
    b.toolbar.label_choice.value = "cat"
    b.toolbar.relabel_button.click()                              # fox is empty now
    assert b.filter_bar.class_filter.value == "fox" and b.state.keys() == [] and b.grid.cells == []
    assert "0 of 16 images \u00b7 class fox" in b.match_count.value


def test_editor_refusals_show_in_the_status_line_not_as_tracebacks(pets):
    b = make_browser(pets)
    b.toolbar.relabel_button.click()                              # nothing selected
    assert "Select images first" in b.toolbar.status.value
    b.selected = [i.key for i in b.catalog.items if i.label == "dog"][:2]
    b.toolbar.label_choice.value = "dog"                          # already their label
    b.toolbar.relabel_button.click()
    assert "already labelled" in b.toolbar.status.value and "jp-error-color1" in b.toolbar.status.value
    b.toolbar.label_choice.value = "new class\u2026"              # no name typed
    b.toolbar.relabel_button.click()
    assert "Type the name of the new class" in b.toolbar.status.value
    assert b.editor.history == []                                 # nothing was changed


def test_edits_made_through_the_editor_directly_show_at_the_next_look(pets):
    b = make_browser(pets)
    key = next(i.key for i in b.catalog.items if i.path.name == "cat_4.png")
    b.editor.relabel([key], "dog")                                # not through the browser
    b.next_button.click()
    b.prev_button.click()
    assert b.grid.cells[0]["lines"][0] == "cat" and dict(b.filter_bar.class_filter.options)["dog (7)"] == "dog"
    assert b.item(key).label == "dog" and key in b.filter(label="dog")


def test_relabel_and_remove_rewrite_a_csv_and_undo_restores_its_bytes(tmp_path):
    images = make_image_folder(tmp_path / "imgs", classes={"a": 5, "b": 5}, size=16)
    csv_path = make_csv(tmp_path / "labels.csv", folder=images)
    original = csv_path.read_bytes()
    b = make_browser(csv_path)
    assert b.editor is not None and b.catalog.kind == "csv"
    key = next(i.key for i in b.catalog.items if i.path.name == "a_3.png")
    b.selected = [key]
    b.toolbar.label_choice.value = "b"
    b.toolbar.relabel_button.click()
    rows = csv_path.read_text().splitlines()
    assert any(row.endswith("a_3.png,b") for row in rows) and len(rows) == 11
    assert (images / "a" / "a_3.png").is_file()                    # a table relabel moves no file
    b.selected = [next(i.key for i in b.catalog.items if i.path.name == "b_0.png")]
    b.toolbar.remove_button.click()
    assert len(csv_path.read_text().splitlines()) == 10 and "b_0.png" not in csv_path.read_text()
    assert (images / "b" / "b_0.png").is_file()
    b.toolbar.undo_button.click()
    b.toolbar.undo_button.click()
    assert csv_path.read_bytes() == original


def test_a_read_only_data_set_says_why_and_offers_no_edit_buttons(tmp_path):
    from imagegen import make_named_folder

    root = make_named_folder(tmp_path / "named", classes={"Abyssinian": 3, "beagle": 3})
    b = Browser(build_catalog(root, label_re=r"^(.*)_\d+\.jpg$"), show=False, check_health=False)
    assert b.editor is None
    texts = [getattr(w, "value", "") for w in b.toolbar.widget.children[0].children]
    assert any("Read-only: labels come from the file names" in t for t in texts)
    assert b.toolbar.relabel_button not in b.toolbar.widget.children[0].children
    with pytest.raises(UserInputError, match="cannot be edited"):
        b.relabel("beagle", [0])


# ----------------------------------------------------------------------------- mistakes
class ColourNet(nn.Module):
    """Predicts the class of the strongest colour channel: red cat, green dog, blue fox (imagegen's colours)."""

    def forward(self, x):
        return 8.0 * x.mean(dim=(2, 3))


@pytest.fixture
def zoo(tmp_path):
    """train/ + valid/ of red cats, green dogs, blue foxes; in valid/, two red images filed as dog, one green as fox."""
    root = tmp_path / "zoo"
    make_colour_zoo(root, size=16)
    learn = build_learner(root, ColourNet(), size=16, bs=4, workers=0, device="cpu")
    return root, learn


def mistakes_browser(learn) -> Browser:
    from jupyter_dl.browser.interpretation import interpret

    interp = interpret(learn)
    return Browser(interp.catalog, interpretation=interp, show=False, check_health=False)


def test_mistakes_view_sorts_by_loss_and_marks_the_wrong_ones(zoo):
    root, learn = zoo
    b = mistakes_browser(learn)
    assert len(b.grid.shown_keys()) == 12                         # the validation images only
    losses = [b.state.predictions[k].loss for k in b.grid.shown_keys()]
    assert losses == sorted(losses, reverse=True)
    assert set(names(b)[:3]) == {"red_a.png", "red_b.png", "green_a.png"}   # the mistakes come first
    first = b.grid.cells[0]
    assert first["kind"] == "wrong" and " \u2192 " in first["lines"][0] and "%" in first["lines"][1]
    assert {c["kind"] for c in b.grid.cells[3:]} == {"right"}
    b.filter_bar.outcome_filter.value = "wrong"
    assert sorted(names(b)) == ["green_a.png", "red_a.png", "red_b.png"]
    b.filter(outcome="all", predicted="cat")
    assert sorted(names(b)) == ["cat0.png", "cat1.png", "cat2.png", "red_a.png", "red_b.png"]


@needs_figure_widgets
def test_clicking_a_confusion_matrix_cell_shows_exactly_its_items(zoo):
    root, learn = zoo
    b = mistakes_browser(learn)
    heatmap = b.mistakes.figure.data[0]
    assert list(heatmap.x) == ["cat", "dog", "fox"] and list(heatmap.y) == ["cat", "dog", "fox"]
    assert [list(row) for row in heatmap.z] == [[3, 0, 0], [2, 3, 0], [0, 1, 3]]
    for actual, predicted in [("dog", "cat"), ("fox", "dog"), ("cat", "cat")]:
        click_plot(b.mistakes.figure, trace=0, x=predicted, y=actual)   # a heatmap point: x predicted, y actual
        assert sorted(b.state.keys()) == sorted(b.interpretation.items_in_cell(actual, predicted))
        assert b.filter_bar.class_filter.value == actual and b.filter_bar.predicted_filter.value == predicted
    assert len(b.mistakes.figure.layout.shapes) == 1                 # the chosen cell is outlined
    pairs = {button.description: button for button in b.mistakes.pairs.children}
    assert list(pairs) == ["dog \u2192 cat (2)", "fox \u2192 dog (1)"]
    pairs["fox \u2192 dog (1)"].click()
    assert names(b) == ["green_a.png"]
    table = b.mistakes.table.value
    assert "jdl-per-class" in table and "0.600" in table               # cat precision 3/5


@needs_figure_widgets
def test_relabelling_a_mistake_moves_the_file_and_updates_the_matrix(zoo):
    root, learn = zoo
    b = mistakes_browser(learn)
    b.show_cell("dog", "cat")
    b.toolbar.select_page.click()
    b.toolbar.label_choice.value = "cat"
    b.toolbar.relabel_button.click()
    assert sorted(p.name for p in (root / "valid" / "cat").iterdir()) == [
        "cat0.png", "cat1.png", "cat2.png", "red_a.png", "red_b.png"]
    assert [list(row) for row in b.mistakes.figure.data[0].z] == [[5, 0, 0], [0, 3, 0], [0, 1, 3]]
    assert b.state.keys() == [] and "No images" not in b.match_count.value    # the cell is empty now
    assert [p.description for p in b.mistakes.pairs.children] == ["fox \u2192 dog (1)"]
    b.toolbar.undo_button.click()
    assert (root / "valid" / "dog" / "red_a.png").is_file()
    assert [list(row) for row in b.mistakes.figure.data[0].z] == [[3, 0, 0], [2, 3, 0], [0, 1, 3]]


# ----------------------------------------------------------------------------- API, magic, fallback
def test_without_widgets_browse_shows_a_static_summary_and_returns_a_session(pets, shell):
    with capture_output() as shown:
        session = jupyter_dl.browse(str(pets), page_size=4)
    assert isinstance(session, BrowseSession) and not isinstance(session, Browser)
    html = shown.outputs[0].data["text/html"]
    assert html.count("<img class='jdl-thumb' src='data:image/jpeg;base64,") == 4
    assert "jdl-class-counts" in html and "1 unreadable" in html and "2 exact duplicates" in html
    text = shown.outputs[0].data["text/plain"]
    assert "cat" in text and "Health: 1 unreadable" in text
    # The same Python surface as the widget: filter, select, edit, undo.
    keys = session.filter(label="dog", split="train")
    assert keys and all(session.catalog.items[k].label == "dog" for k in keys)
    session.relabel("cat", keys[:1])
    assert (pets / "cat" / session.catalog.items[keys[0]].path.name).is_file()
    session.undo()
    assert (pets / "dog" / session.catalog.items[keys[0]].path.name).is_file()


def test_without_widgets_a_learner_shows_its_confusion_matrix_and_top_losses(zoo, shell):
    root, learn = zoo
    shell.user_ns["learn"] = learn
    with capture_output() as shown:
        shell.run_line_magic("browse", "learn --page-size 3")
    html = shown.outputs[0].data["text/html"]
    assert "jdl-confusion" in html and "jdl-per-class" in html and "Validation accuracy 0.7500" in html
    assert "Top losses: 3 of 12" in html and html.count("data:image/jpeg;base64,") == 3
    assert "dog \u2192 cat (2)" in shown.outputs[0].data["text/plain"]


def test_the_live_browser_comes_from_browse_where_widgets_work(pets, shell, monkeypatch):
    from jupyter_dl.ui import frontend

    monkeypatch.setattr(frontend, "widgets_available", lambda: True)
    with capture_output() as shown:
        b = jupyter_dl.browse(pets, label="dog", page_size=3)
    assert isinstance(b, Browser) and b.filter_bar.class_filter.value == "dog" and len(b.grid.cells) == 3
    assert "application/vnd.jupyter.widget-view+json" in shown.outputs[0].data
    assert b.wait_health(60) is not None
    b.close()                                                      # leaves no widget behind
    assert b.closed and b.grid.comm is None


def test_magic_passes_its_options_and_keeps_the_browser(shell, folder):
    shell.user_ns.pop("b", None)
    with capture_output():
        shell.run_line_magic("browse", f"{folder} --class dog --split valid --page-size 2 --size 64 --as b")
    b = shell.user_ns["b"]
    assert b.state.query.label == "dog" and b.state.query.split == "valid" and b.state.page_size == 2
    assert b.size == 64 and set(b.state.keys()) == {i.key for i in b.catalog.items
                                                    if i.label == "dog" and i.split == "valid"}


@pytest.mark.parametrize("line, message", [
    ("{folder} --split test", "--split must be one of all, train, valid, not 'test'."),
    ("{folder} --class bird", "--class 'bird' is not a class of this data set: use one of cat, dog."),
    ("{folder} --page-size 0", "--page-size must be a whole number from 1 to 500"),
    ("{folder} --size 8", "--size must be a whole number of pixels from 32 to 512"),
    ("{folder} more words", "%browse takes one TARGET, got 3 words"),
    ("no_such_thing", "'no_such_thing' is neither an existing path nor a variable in the notebook"),
    ("{folder} --as 1x", "--as needs a Python variable name"),
])
def test_bad_input_to_the_magic_is_one_usage_error(shell, folder, line, message):
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("browse", line.format(folder=folder))
    assert type(info.value) is UsageError and str(info.value).startswith(message)


def test_browse_is_a_lazy_public_name():
    from jupyter_dl.browser import api as browse_api

    assert jupyter_dl.browse is browse_api.browse
    with pytest.raises(UserInputError, match="--page-size"):
        jupyter_dl.browse("sample", page_size=1000)


def test_the_sample_is_browsable_but_read_only(shell):
    with capture_output() as shown:
        session = jupyter_dl.browse("sample", page_size=2, label="3")
    assert session.editor is None and "digits" in shown.outputs[0].data["text/plain"]
    assert {session.catalog.items[k].label for k in session.state.keys()} == {"3"}  # noqa: SIM118 (not a dict)
    with pytest.raises(UserInputError, match="sample data set lives in jupyter_dl's cache"):
        session.remove(session.state.keys()[:1])


def test_a_learner_variable_is_found_by_name_and_a_fastai_learner_is_recognised(zoo):
    from jupyter_dl.browser.api import _learner_in, is_learner

    _, learn = zoo
    assert _learner_in("learn", {"learn": learn}) is learn
    assert _learner_in("learn", {"learn": 3}) is None and _learner_in("learn", None) is None
    assert is_learner(learn) and not is_learner(torch.zeros(1))

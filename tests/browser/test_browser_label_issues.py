"""%browse's "likely mislabelled" filter: find the labels most likely wrong, show them first, fix each in one click.

Most tests replace the embedding step by made-up vectors (one cluster per true class, the true class read
from the file name) so that what is checked is the browser's part: the filter, its order, the captions,
the one-click relabel through the editor and Undo. One test runs end to end on real tiny images with the
packaged model's embeddings.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from imagegen import make_image_folder, make_named_folder

import jupyter_dl.labelling.issues as issues_module
from jupyter_dl.browser.session import BrowseSession
from jupyter_dl.browser.state import LABEL_ISSUES
from jupyter_dl.browser.widget import Browser
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling import Embeddings
from jupyter_dl.labelling.embeddings import catalog_of


def tree(root) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), hidden bookkeeping left out."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def made_up_embeddings(monkeypatch, true_class=lambda item: item.path.name.split("_")[0]):
    """find_label_issues embeds with: one tight cluster per ``true_class(item)``, whatever the item's label."""
    calls = []

    def embed(data, **options):
        catalog = catalog_of(data)
        calls.append(options)
        rng = np.random.default_rng(0)
        names = sorted({true_class(item) for item in catalog.items})
        centres = {name: rng.normal(size=16) for name in names}
        vectors = np.stack([centres[true_class(item)] + 0.2 * rng.normal(size=16) for item in catalog.items])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return Embeddings(vectors.astype(np.float32), list(catalog.items), list(catalog.classes), [], catalog)

    monkeypatch.setattr(issues_module, "embed", embed)
    return calls


@pytest.fixture
def pets(tmp_path):
    """cat 10 / dog 10 images (24 px) with two cats filed as dogs: cat_0.png and cat_1.png in dog/."""
    root = make_image_folder(tmp_path / "pets", classes={"cat": 10, "dog": 10}, size=24)
    for name in ("cat_0.png", "cat_1.png"):
        shutil.move(root / "cat" / name, root / "dog" / name)
    return root


def browser(target, **options) -> Browser:
    return Browser(build_catalog(target), show=False, check_health=False, **options)


def shown_names(b: Browser) -> list[str]:
    return [b.state.item(cell["key"]).path.name for cell in b.grid.cells]


def test_the_button_finds_them_and_the_filter_shows_the_planted_ones_first_with_their_suggestion(pets, monkeypatch):
    calls = made_up_embeddings(monkeypatch)
    b = browser(pets)
    assert b.issues_line.count_button.layout.display == "none"
    assert LABEL_ISSUES not in dict(b.filter_bar.status_filter.options).values()

    b.issues_line.find_button.click()
    assert calls and calls[0]["quiet"] is True                     # the line counts; nothing printed
    assert b.state.query.status == LABEL_ISSUES and b.filter_bar.status_filter.value == LABEL_ISSUES
    assert sorted(shown_names(b)) == ["cat_0.png", "cat_1.png"]
    scores = [b.state.issues[cell["key"]].score for cell in b.grid.cells]
    assert scores == sorted(scores)                                # most likely wrong first
    cell = b.grid.cells[0]
    assert cell["kind"] == "wrong" and cell["lines"][0] == f"dog \u2192 cat ({scores[0]:.2f})"
    assert cell["action"] == "\u2192 cat" and "relabel to cat" in cell["action_title"]
    assert b.issues_line.count_button.description == "2 likely mislabelled"
    assert dict(b.filter_bar.status_filter.options)["likely mislabelled (2)"] == LABEL_ISSUES
    assert b.issues_line.find_button.description == "Find again" and not b.issues_line.find_button.disabled
    assert "2 of 20 images \u00b7 likely mislabelled" in b.match_count.value

    b.filter(status=None)                                          # elsewhere the caption still says it
    by_name = {b.state.item(c["key"]).path.name: c for c in b.grid.cells}
    assert by_name["cat_0.png"]["lines"][0].startswith("dog \u2192 cat (")
    assert by_name["dog_0.png"]["lines"][0] == "dog" and "action" not in by_name["dog_0.png"]
    b.issues_line.count_button.click()
    assert b.state.query.status == LABEL_ISSUES and len(b.grid.cells) == 2


def test_one_click_moves_the_file_to_the_suggested_class_and_undo_puts_it_back_byte_identical(pets, monkeypatch):
    made_up_embeddings(monkeypatch)
    before = tree(pets)
    b = browser(pets)
    b.issues_line.find_button.click()
    key = next(c["key"] for c in b.grid.cells if b.state.item(c["key"]).path.name == "cat_0.png")

    b.grid._handle_custom_msg({"action": "accept", "key": key}, [])      # what the cell's button sends
    assert (pets / "cat" / "cat_0.png").is_file() and not (pets / "dog" / "cat_0.png").exists()
    assert b.state.item(key).label == "cat" and "Relabelled 1 image as &#x27;cat&#x27;" in b.toolbar.status.value
    assert shown_names(b) == ["cat_1.png"]                          # fixed: out of the filter
    assert b.issues_line.count_button.description == "1 likely mislabelled"
    assert dict(b.filter_bar.status_filter.options)["likely mislabelled (1)"] == LABEL_ISSUES

    b.toolbar.undo_button.click()
    assert tree(pets) == before                                      # every file where it was, same bytes
    assert sorted(shown_names(b)) == ["cat_0.png", "cat_1.png"]      # flagged again
    assert b.issues_line.count_button.description == "2 likely mislabelled"


def test_the_python_surface_is_the_same_without_widgets(pets, monkeypatch):
    made_up_embeddings(monkeypatch)
    session = BrowseSession(build_catalog(pets))
    with pytest.raises(UserInputError, match="run .find_label_issues\\(\\) first"):
        session.filter(status=LABEL_ISSUES)
    issues = session.find_label_issues(folds=3)
    assert sorted(issue.path.name for issue in issues) == ["cat_0.png", "cat_1.png"]
    assert {(issue.given, issue.suggested) for issue in issues} == {("dog", "cat")}
    keys = session.filter(status=LABEL_ISSUES)
    assert keys == [issue.key for issue in issues]                   # same order: most likely wrong first
    assert "dog \u2192 cat (" in session.static_bundle()["text/html"]

    change = session.accept_suggestion(keys[0])
    assert change.action == "relabel" and session.item(keys[0]).label == "cat"
    assert session.filter(status=LABEL_ISSUES) == keys[1:]
    with pytest.raises(UserInputError, match="not flagged as likely mislabelled \\(any more\\)"):
        session.accept_suggestion(keys[0])
    session.undo()
    assert session.filter(status=LABEL_ISSUES) == keys


def test_a_read_only_data_set_shows_the_filter_but_no_relabel_button_and_says_why(tmp_path, monkeypatch):
    root = make_named_folder(tmp_path / "named", classes={"Abyssinian": 6, "beagle": 6})
    made_up_embeddings(monkeypatch, true_class=lambda item: "Abyssinian" if item.path.name == "beagle_1.jpg"
                       else item.label)
    b = Browser(build_catalog(root, label_re=r"^(.+)_\d+\.jpg$"), show=False, check_health=False)
    assert b.editor is None
    b.issues_line.find_button.click()
    assert shown_names(b) == ["beagle_1.jpg"]
    cell = b.grid.cells[0]
    assert cell["lines"][0].startswith("beagle \u2192 Abyssinian (") and "action" not in cell
    b.issues_line.accept(cell["key"])                                # a click that reached the kernel anyway
    assert "cannot be edited" in b.toolbar.status.value and "file names" in b.toolbar.status.value
    with pytest.raises(UserInputError, match="cannot be edited"):
        b.accept_suggestion(cell["key"])


def test_a_failed_run_says_why_in_the_line_and_the_button_works_again(tmp_path, monkeypatch):
    made_up_embeddings(monkeypatch)
    root = make_image_folder(tmp_path / "few", classes={"cat": 3, "dog": 3}, size=16)
    b = browser(root)
    b.issues_line.find_button.click()                                # folds=5 but 3 images per class
    assert "folds=5 needs at least 5 images in every class" in b.issues_line.text.value
    assert not b.issues_line.find_button.disabled and b.state.issues is None and b.state.query.status is None


def test_real_embeddings_of_tiny_images_flag_the_planted_ones_and_one_click_fixes_them(tmp_path):
    """End to end: the packaged model's embeddings of 64 px colour images, linear heads, the browser, the editor."""
    root = make_image_folder(tmp_path / "colours", classes={"red": 8, "green": 8, "blue": 8}, size=16)
    shutil.move(root / "red" / "red_0.png", root / "green" / "red_0.png")
    shutil.move(root / "green" / "green_0.png", root / "blue" / "green_0.png")
    before = tree(root)
    b = browser(root)
    issues = b.find_label_issues(folds=3)
    assert {issue.path.name for issue in issues[:2]} == {"red_0.png", "green_0.png"}
    b.filter(status=LABEL_ISSUES)
    assert set(shown_names(b)[:2]) == {"red_0.png", "green_0.png"}
    for cell in b.grid.cells[:2]:
        b.grid._handle_custom_msg({"action": "accept", "key": cell["key"]}, [])
    assert (root / "red" / "red_0.png").is_file() and (root / "green" / "green_0.png").is_file()
    again = b.find_label_issues(folds=3)                              # cached embeddings, the edited labels
    assert not {"red_0.png", "green_0.png"} & {issue.path.name for issue in again}
    b.undo()
    b.undo()
    assert tree(root) == before

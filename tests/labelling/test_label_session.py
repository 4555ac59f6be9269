"""A labelling session from Python (no widget): files move as labelled, undo restores, suggestions learn."""
from __future__ import annotations

import json

import numpy as np
import pytest
from label_pools import colour_vectors, make_pool_folder, tree, truth

from jupyter_dl.data.label_pool import open_pool
from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling.session import LabelSession


def session_for(tmp_path, per_class=12, page_size=8, **options):
    data = make_pool_folder(tmp_path, per_class=per_class)
    pool = open_pool(data, classes="red,green,blue")
    return data, LabelSession(pool, vectors=colour_vectors(pool), page_size=page_size, **options)


def provenance(data):
    return [json.loads(line) for line in (data / ".jupyter_dl_labels.jsonl").read_text().splitlines()]


def test_a_label_moves_the_file_into_its_class_folder_and_leaves_a_provenance_line(tmp_path):
    data, session = session_for(tmp_path)
    key = session.page[0]
    name = session.pool.item(key).path.name
    session.label(key, 2)                                  # the key "2": the second class
    assert (data / "green" / name).exists() and not (data / "unlabelled" / name).exists()
    assert session.pool.item(key).label == "green"
    assert session.n_labelled == 1 and session.counts["green"] == 1
    line = provenance(data)[-1]
    assert line["label"] == "green" and line["how"] == "typed" and line["item"].endswith(name)
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith(".")) == ["green", "unlabelled"]


def test_the_first_page_is_a_spread_and_suggestions_come_with_the_first_labels(tmp_path):
    data, session = session_for(tmp_path, page_size=9)
    assert session.suggestion(session.page[0]) is None
    assert len({truth(session.pool.item(k).path) for k in session.page}) == 3   # every colour on page one
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))
    rest = [item for item in session.pool.items if item.label is None]
    right = [session.suggestion(item.key).label == truth(item.path) for item in rest]
    assert np.mean(right) == 1.0
    assert session.model_name.startswith("embeddings:")


def test_accept_labels_the_page_with_its_suggestions_and_undo_puts_every_file_back(tmp_path):
    data, session = session_for(tmp_path, page_size=9)
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))
    page = session.turn_page()
    before = tree(data)
    change = session.accept()
    assert len(change.items) == len(page)
    for key in page:
        item = session.pool.item(key)
        assert item.label == truth(item.path) and item.path.parent == data / item.label
    assert {line["how"] for line in provenance(data)[-len(page):]} == {"accepted"}
    assert all(line["model"].startswith("embeddings:") and 0 < line["confidence"] <= 1
               for line in provenance(data)[-len(page):])
    assert session.page and not set(session.page) & set(page)      # accept turned the page
    session.undo()
    assert tree(data) == before                                    # byte for byte
    assert session.page == page and all(session.pool.item(k).label is None for k in page)
    assert provenance(data)[-1]["how"] == "undone"


def test_a_corrected_suggestion_is_recorded_as_corrected(tmp_path):
    data, session = session_for(tmp_path, page_size=9)
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))
    key = session.turn_page()[0]
    suggested = session.suggestion(key).label
    other = next(name for name in session.classes if name != suggested)
    session.label(key, other)
    line = provenance(data)[-1]
    assert line["how"] == "corrected" and line["suggested"] == suggested and line["label"] == other
    assert session.outcomes[-1].right is False


def test_skipped_images_come_back_only_after_the_others(tmp_path):
    _, session = session_for(tmp_path, per_class=4, page_size=4)
    first = session.page[0]
    session.skip(first)
    seen = []
    while True:
        page = session.turn_page()
        if first in page:
            break
        seen += page
        for key in page:
            session.label(key, truth(session.pool.item(key).path))
    assert session.n_unlabelled <= 4 and len(seen) >= 8


def test_mixed_order_starts_a_page_with_the_least_certain(tmp_path):
    _, session = session_for(tmp_path, page_size=8)
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))
    found = session.refresh()
    assert found.order.size == session.n_unlabelled


def test_a_new_class_takes_labels_and_its_folder_is_made_with_the_first(tmp_path):
    data, session = session_for(tmp_path)
    session.add_class("purple")
    assert "purple" in session.classes and not (data / "purple").exists()
    session.label(session.page[0], "purple")
    assert len(list((data / "purple").iterdir())) == 1


@pytest.mark.parametrize(("label", "message"), [
    (7, "There is no class number 7: the classes are 1 red, 2 green, 3 blue"),
    ("purple", "'purple' is not one of the classes"),
])
def test_bad_labels_are_one_sentence_and_change_nothing(tmp_path, label, message):
    data, session = session_for(tmp_path)
    before = tree(data)
    with pytest.raises(UserInputError, match=message):
        session.label(session.page[0], label)
    assert tree(data) == before and session.n_labelled == 0


def test_accept_without_suggestions_says_to_label_a_few_first(tmp_path):
    _, session = session_for(tmp_path)
    with pytest.raises(UserInputError, match="no suggestions yet"):
        session.accept()


def test_a_file_moved_away_behind_the_labeller_is_refused_and_nothing_else_moves(tmp_path):
    data, session = session_for(tmp_path)
    key = session.page[0]
    gone = session.pool.item(key).path
    gone.rename(tmp_path / gone.name)
    before = tree(data)
    with pytest.raises(UserInputError, match="no longer exists"):
        session.label(key, 1)
    assert tree(data) == before and session.n_labelled == 0


def test_an_unreadable_image_is_listed_never_shown_and_never_moved(tmp_path, counted):
    from imagegen import make_corrupt_file

    data = make_pool_folder(tmp_path, per_class=3)
    broken = make_corrupt_file(data / "unlabelled" / "red_broken.png")
    session = LabelSession(open_pool(data, classes="red,green,blue"), page_size=20, quiet=True)
    assert [path.name for path, _ in session.skipped] == ["red_broken.png"]
    assert len(session.page) == 9 and all(session.pool.item(k).path != broken for k in session.page)
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))
    assert broken.exists() and session.n_unlabelled == 0 and session.turn_page() == []


def test_a_csv_pool_gets_its_empty_label_cells_written_and_undo_restores_the_bytes(tmp_path):
    from imagegen import make_image

    rows = ["path,label\n"]
    for i, colour in enumerate(["red", "green", "blue"] * 3):
        make_image(tmp_path / "images" / f"{colour}_{i}.png", size=16, seed=i)
        rows.append(f"images/{colour}_{i}.png,{colour if i < 3 else ''}\n")
    table = tmp_path / "labels.csv"
    table.write_text("".join(rows))
    before = table.read_bytes()
    pool = open_pool(table)
    session = LabelSession(pool, vectors=colour_vectors(pool), page_size=6)
    assert session.classes == ["blue", "green", "red"] and session.n_unlabelled == 6
    key = session.page[0]
    session.label(key, truth(session.pool.item(key).path))
    lines = table.read_text().splitlines()
    assert sum(line.endswith(",") for line in lines) == 5                 # one empty cell filled, nothing else
    assert f"{session.pool.item(key).path.name},{truth(session.pool.item(key).path)}" in table.read_text()
    session.undo()
    assert table.read_bytes() == before


def test_next_page_shows_other_images_even_when_none_was_labelled(tmp_path):
    _, session = session_for(tmp_path, per_class=4, page_size=4)
    seen = []
    for _ in range(3):
        seen.append(set(session.page))
        session.turn_page()
    assert len(set.union(*seen)) == 12                   # three pages, twelve different images
    assert set(session.turn_page()) <= set.union(*seen)  # then round again

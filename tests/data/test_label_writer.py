"""LabelWriter: %label's labels really land in class folders, CSV cells and DataFrames, and undo restores them."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imagegen import make_image, make_image_folder, make_table_pool

from jupyter_dl.data import UNLABELLED_DIR, open_pool, resolve_data
from jupyter_dl.data.cleaning import (
    CHANGE_LOG,
    PROVENANCE_LOG,
    TRASH_DIR,
    Assignment,
    LabelWriter,
    labels,
    moves,
    read_provenance,
)
from jupyter_dl.errors import UserInputError

LOGS = (CHANGE_LOG, PROVENANCE_LOG)


# ----------------------------------------------------------------------------- helpers
def snapshot(root: Path) -> dict[str, str]:
    """Every folder ("<dir>") and file (sha1 of its bytes) below root, the two logs and the trash excepted."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.name in LOGS or name.startswith(TRASH_DIR):
            continue
        found[name] = "<dir>" if path.is_dir() else hashlib.sha1(path.read_bytes()).hexdigest()
    return found


def key_of(pool, name: str) -> int:
    return next(item.key for item in pool.items if item.path.name == name)


def labels_for(writer, *pairs: tuple[str, str]) -> list[Assignment]:
    """Typed labels for the pool's images named in (file name, label) pairs."""
    return [Assignment(key_of(writer.pool, name), label) for name, label in pairs]


def refused(message: str):
    return pytest.raises(UserInputError, match=message)


@pytest.fixture
def pets(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, size=8)
    for i in range(4):
        make_image(root / UNLABELLED_DIR / f"new_{i}.png", size=8, seed=100 + i)
    return root


@pytest.fixture
def writer(pets):
    return LabelWriter(open_pool(pets))


# ----------------------------------------------------------------------------- folders
def test_labelling_moves_exactly_those_files_into_their_class_folders(pets, writer):
    before = snapshot(pets)
    pool = writer.pool
    change = writer.assign(labels_for(writer, ("new_0.png", "cat"), ("new_2.png", "bird")))

    after = snapshot(pets)
    moved = {"unlabelled/new_0.png": "cat/new_0.png", "unlabelled/new_2.png": "bird/new_2.png"}
    expected = {moved.get(name, name): digest for name, digest in before.items()} | {"bird": "<dir>"}
    assert after == expected  # those two files moved, bytes intact, nothing else touched
    assert change.action == "label" and change.summary == "Labelled 2 images: 1 'cat', 1 'bird'."
    assert [(c.old_label, c.new_label, c.new_path) for c in change.items] == [
        (None, "cat", pets / "cat" / "new_0.png"), (None, "bird", pets / "bird" / "new_2.png")]
    assert pool.item(key_of(pool, "new_0.png")).path == pets / "cat" / "new_0.png"
    assert pool.classes == ["cat", "dog", "bird"] and len(pool.unlabelled()) == 2
    items = resolve_data(pets, valid_pct=0)  # what the next %finetune trains on: the pool's rest is no class
    assert items.classes == ["bird", "cat", "dog"] and len(items.train) == 6


def test_a_name_clash_gets_a_new_name_and_undo_restores_everything(pets, writer):
    make_image(pets / UNLABELLED_DIR / "sub" / "cat_0.png", size=8, seed=7)  # same name as a cat already there
    writer = LabelWriter(open_pool(pets))
    before = snapshot(pets)
    clashing = next(item.key for item in writer.pool.unlabelled() if item.path.parent.name == "sub")
    change = writer.assign([Assignment(key_of(writer.pool, "new_1.png"), "cat"), Assignment(clashing, "cat")])
    assert change.items[1].new_path == pets / "cat" / "cat_0-1.png"
    assert snapshot(pets)["cat/cat_0.png"] == before["cat/cat_0.png"]  # never overwritten
    assert change.summary == "Labelled 2 images as 'cat' (1 renamed to avoid overwriting a file of the same name)."

    undo = writer.undo()
    assert undo.action == "undo" and undo.undoes == change.id and undo.summary == f"Undid: {change.summary}"
    assert snapshot(pets) == before  # the emptied sub/ stayed, no file renamed, bytes identical
    assert [(i.path, i.label) for i in writer.pool.items] == [(i.path, i.label) for i in open_pool(pets).items]
    assert not writer.can_undo and writer.undo() is None


def test_undo_removes_the_class_folders_it_made_and_the_classes_it_added(pets, writer):
    before = snapshot(pets)
    writer.assign([Assignment(key_of(writer.pool, "new_0.png"), "bird")])
    writer.assign(labels_for(writer, ("new_1.png", "eel"), ("new_3.png", "dog")))
    assert writer.pool.classes == ["cat", "dog", "bird", "eel"] and len(writer.history) == 2
    writer.undo()
    assert writer.pool.classes == ["cat", "dog", "bird"] and not (pets / "eel").exists()
    writer.undo()
    assert snapshot(pets) == before and writer.pool.classes == ["cat", "dog"]


def test_add_class_makes_no_folder_until_the_first_label(pets, writer):
    assert writer.add_class("bird") == "bird" and writer.pool.classes == ["cat", "dog", "bird"]
    assert not (pets / "bird").exists()  # an empty class folder would stop %finetune
    with refused("'bird' is a class already"):
        writer.add_class("bird")
    with refused("path separator"):
        writer.add_class("a/b")
    writer.assign([Assignment(key_of(writer.pool, "new_0.png"), "bird")])
    assert (pets / "bird" / "new_0.png").exists()
    writer.undo()
    assert not (pets / "bird").exists() and "bird" in writer.pool.classes  # added by hand, so it stays


def test_a_failed_move_in_the_middle_of_a_batch_moves_nothing(pets, writer, monkeypatch):
    keys = [key_of(writer.pool, f"new_{i}.png") for i in range(3)]
    real_replace = os.replace

    def deleted_meanwhile(src, dst):
        if Path(src).name == "new_1.png":
            os.unlink(src)  # someone else deletes it after the writer checked it
        return real_replace(src, dst)

    before = snapshot(pets)
    monkeypatch.setattr(moves.os, "replace", deleted_meanwhile)
    with refused(r"Could not move .*new_1\.png .*No such file or directory.*nothing was changed"):
        writer.assign([Assignment(key, "bird") for key in keys])
    del before["unlabelled/new_1.png"]
    assert snapshot(pets) == before  # new_0 moved back, no bird/ folder left
    assert len(writer.pool.unlabelled()) == 4 and writer.pool.classes == ["cat", "dog"] and not writer.can_undo
    assert writer.log_entries() == [] and writer.provenance_entries() == []


def test_a_file_moved_away_before_labelling_is_refused_and_nothing_changes(pets, writer):
    (pets / UNLABELLED_DIR / "new_2.png").rename(pets / "elsewhere.png")
    before = snapshot(pets)
    with refused(r"new_2\.png no longer exists \(moved or deleted since the labeller opened\), so nothing was "
                 "changed: open %label again"):
        writer.assign(labels_for(writer, ("new_0.png", "cat"), ("new_2.png", "cat")))
    assert snapshot(pets) == before


def test_undo_refuses_when_a_labelled_file_was_moved_meanwhile(pets, writer):
    writer.assign(labels_for(writer, ("new_0.png", "cat"), ("new_1.png", "cat")))
    (pets / "cat" / "new_1.png").rename(pets / "dog" / "new_1.png")
    meanwhile = snapshot(pets)
    with refused(r"cat/new_1\.png is no longer there \(moved or deleted since this change\)"):
        writer.undo()
    assert snapshot(pets) == meanwhile and writer.can_undo  # nothing moved back, still undoable
    (pets / "dog" / "new_1.png").rename(pets / "cat" / "new_1.png")
    writer.undo()
    assert sorted(p.name for p in (pets / UNLABELLED_DIR).iterdir()) == [f"new_{i}.png" for i in range(4)]


# ----------------------------------------------------------------------------- the logs
def test_each_label_is_a_provenance_line_saying_how_it_was_chosen(pets, writer):
    pool = writer.pool
    change = writer.assign([
        Assignment(key_of(pool, "new_0.png"), "cat", how="accepted", model="embeddings:prototype", suggested="cat",
                   confidence=np.float32(0.75)),
        Assignment(key_of(pool, "new_1.png"), "dog", how="corrected", model="embeddings:linear", suggested="cat",
                   confidence=0.5),
        Assignment(key_of(pool, "new_2.png"), "dog"),
    ])
    lines = [json.loads(line) for line in (pets / PROVENANCE_LOG).read_text().splitlines()]
    assert lines == read_provenance(pets / PROVENANCE_LOG) == writer.provenance_entries()
    assert lines[0] == {"item": "cat/new_0.png", "path": "unlabelled/new_0.png", "label": "cat", "time": change.time,
                        "how": "accepted", "model": "embeddings:prototype", "suggested": "cat", "confidence": 0.75,
                        "change": change.id}
    assert (lines[1]["how"], lines[1]["suggested"], lines[1]["label"]) == ("corrected", "cat", "dog")
    assert [lines[2][field] for field in ("how", "model", "suggested", "confidence")] == ["typed", None, None, None]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", change.time)  # ISO 8601, seconds, offset

    undo = writer.undo()
    undone = read_provenance(pets / PROVENANCE_LOG)[3:]
    assert [line["item"] for line in undone] == ["cat/new_0.png", "dog/new_1.png", "dog/new_2.png"]
    assert all(line["label"] is None and line["how"] == "undone" and line["undoes"] == change.id
               and line["time"] == undo.time for line in undone)
    assert PROVENANCE_LOG.startswith(".")  # hidden: training never sees it


def test_a_provenance_line_cut_short_is_skipped_and_does_not_spoil_the_next(pets, writer):
    (pets / PROVENANCE_LOG).write_text('{"item": "x.png", "label": "cat"}\n{"item": "y.p')  # a crash mid-line
    writer.assign([Assignment(key_of(writer.pool, "new_0.png"), "cat")])
    assert [line["item"] for line in read_provenance(pets / PROVENANCE_LOG)] == ["x.png", "cat/new_0.png"]


def test_each_label_and_undo_is_a_line_in_the_change_log(pets, writer):
    change = writer.assign([Assignment(key_of(writer.pool, "new_3.png"), "bird")])
    writer.undo()
    entries = [json.loads(line) for line in (pets / CHANGE_LOG).read_text().splitlines()]
    assert entries == writer.log_entries() and [e["action"] for e in entries] == ["label", "undo"]
    assert entries[0]["id"] == change.id and entries[0]["kind"] == "folder" and entries[0]["label"] == "bird"
    assert entries[0]["items"] == [{"key": change.items[0].key, "row": None, "from": "unlabelled/new_3.png",
                                    "to": "bird/new_3.png", "old_label": None, "new_label": "bird"}]
    assert entries[0]["created_folders"] == ["bird"] and entries[0]["summary"] == "Labelled 1 image as 'bird'."
    assert entries[1]["undoes"] == change.id and entries[1]["items"][0]["to"] == "unlabelled/new_3.png"


def test_labels_that_cannot_be_logged_are_taken_back(pets, writer, monkeypatch):
    before = snapshot(pets)
    real_append = labels.append_json_lines

    def no_room_for_the_change_log(path, entries):
        if path.name == CHANGE_LOG:
            raise OSError(28, "No space left on device")
        real_append(path, entries)

    monkeypatch.setattr(labels, "append_json_lines", no_room_for_the_change_log)
    with refused(r"Could not write .*jupyter_dl_changes\.jsonl \(No space left on device\), so the labels were "
                 "taken back"):
        writer.assign([Assignment(key_of(writer.pool, "new_0.png"), "bird")])
    assert snapshot(pets) == before and not writer.can_undo and len(writer.pool.unlabelled()) == 4
    assert [line["how"] for line in read_provenance(pets / PROVENANCE_LOG)] == ["typed", "undone"]


# ----------------------------------------------------------------------------- bad input
def test_bad_assignments_are_refused_and_change_nothing(pets, writer):
    before = snapshot(pets)
    pool = writer.pool
    with refused("There are no labels to write: label at least one image first."):
        writer.assign([])
    with refused("Image 99 is not in this pool"):
        writer.assign([Assignment(99, "cat")])
    with refused(r"cat_0\.png is already labelled 'cat': relabel it with %browse\."):
        writer.assign([Assignment(key_of(pool, "new_0.png"), "cat"), Assignment(key_of(pool, "cat_0.png"), "dog")])
    with refused(r"new_0\.png is given two labels at once"):
        writer.assign([Assignment(key_of(pool, "new_0.png"), "cat"), Assignment(key_of(pool, "new_0.png"), "dog")])
    with refused("The label '.bird' starts with '.' or '__', which makes a hidden folder"):
        writer.assign([Assignment(key_of(pool, "new_0.png"), ".bird")])
    with refused(r"Images are chosen by their keys \(whole numbers\), not 'new_0.png'"):
        writer.assign([Assignment("new_0.png", "cat")])
    with refused("how='guessed' is not one of typed, accepted, corrected"):
        writer.assign([Assignment(key_of(pool, "new_0.png"), "cat", how="guessed")])
    assert snapshot(pets) == before and writer.log_entries() == []
    writer.assign([Assignment(key_of(pool, "new_0.png"), "cat")])
    with refused(r"new_0\.png is already labelled 'cat'"):  # labelled in this session: relabelling is %browse's job
        writer.assign([Assignment(key_of(pool, "new_0.png"), "dog")])


# ----------------------------------------------------------------------------- CSV
CSV = ('\ufeffpath,label,score,note\r\n'
       'imgs/a.png,cat,1.50,"plain"\r\n'
       '\r\n'
       'imgs/b.png,,0.10,"with, comma"\r\n'
       'imgs/c.png,,007,"two\r\nlines"\r\n'
       'imgs/d.png\r\n'  # stops before the label
       'imgs/e.png,dog,2.0,last')  # no final line break


@pytest.fixture
def table_csv(tmp_path):
    return make_table_pool(tmp_path, CSV)


def test_csv_labels_change_only_those_cells_and_undo_is_byte_identical(table_csv):
    original, files = table_csv.read_bytes(), snapshot(table_csv.parent / "imgs")
    writer = LabelWriter(open_pool(table_csv))
    pool = writer.pool
    change = writer.assign([Assignment(key_of(pool, "c.png"), "bird", how="accepted", model="run-3", confidence=0.9),
                            Assignment(key_of(pool, "d.png"), "cat")])

    expected = CSV.replace('imgs/c.png,,007', 'imgs/c.png,bird,007').replace('imgs/d.png\r\n', 'imgs/d.png,cat\r\n')
    assert table_csv.read_bytes() == expected.encode()  # BOM, CRLF, quoting, blank line: every other byte kept
    assert list(pd.read_csv(table_csv)["label"].fillna("")) == ["cat", "", "bird", "cat", "dog"]
    assert snapshot(table_csv.parent / "imgs") == files  # a table label moves no file
    assert (change.trash / "data.csv").read_bytes() == original
    assert pool.item(key_of(pool, "c.png")).label == "bird" and pool.classes == ["cat", "dog", "bird"]
    entry = writer.log_entries()[0]
    assert entry["csv"] == "data.csv" and entry["before"] == f"{TRASH_DIR}/{change.id}/data.csv"
    assert entry["items"][0]["row"] == 2 and entry["items"][0]["from"] == "imgs/c.png"
    first = read_provenance(table_csv.parent / PROVENANCE_LOG)[0]
    assert (first["item"], first["label"], first["model"], first["confidence"]) == ("imgs/c.png", "bird", "run-3", 0.9)

    writer.undo()
    assert table_csv.read_bytes() == original
    assert [i.label for i in pool.items] == [i.label for i in open_pool(table_csv).items]


def test_csv_rows_labelled_elsewhere_since_are_refused(table_csv):
    writer = LabelWriter(open_pool(table_csv))
    edited = CSV.replace("imgs/b.png,,", "imgs/b.png,dog,").encode()
    table_csv.write_bytes(edited)
    with refused(r"data\.csv changed since the labeller opened it \(row 1 is no longer .*b\.png without a label\), "
                 "so nothing was changed"):
        writer.assign([Assignment(key_of(writer.pool, "b.png"), "cat")])
    assert table_csv.read_bytes() == edited and not (table_csv.parent / TRASH_DIR).exists()


def test_csv_undo_refuses_when_the_file_was_edited_since(table_csv):
    writer = LabelWriter(open_pool(table_csv))
    writer.assign([Assignment(key_of(writer.pool, "b.png"), "cat")])
    edited = table_csv.read_bytes() + b"\r\nimgs/a.png,dog,1,x"
    table_csv.write_bytes(edited)
    with refused(r"data\.csv was changed after this edit"):
        writer.undo()
    assert table_csv.read_bytes() == edited and writer.can_undo


# ----------------------------------------------------------------------------- DataFrame
@pytest.fixture
def frame(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, name in enumerate("abcd"):
        make_image(tmp_path / "imgs" / f"{name}.png", size=8, seed=i)
    return pd.DataFrame({"path": [f"imgs/{n}.png" for n in "abcd"], "label": ["cat", np.nan, "", np.nan],
                         "weight": [1, 2, 3, 4]}, index=[10, 20, 30, 40])


def test_dataframe_labels_edit_the_users_object_and_undo_restores_nan(frame):
    original = frame.copy()
    writer = LabelWriter(open_pool(frame))
    change = writer.assign([Assignment(key_of(writer.pool, "b.png"), "dog"),
                            Assignment(key_of(writer.pool, "c.png"), "cat", how="accepted", confidence=0.8)])
    assert list(frame["label"].fillna("-")) == ["cat", "dog", "cat", "-"]  # the same object, changed in place
    assert writer.log_path is None and writer.provenance_path is None
    assert [e["action"] for e in writer.log_entries()] == ["label"] and change.items[0].row == 20
    assert [(p["item"], p["how"]) for p in writer.provenance_entries()] == [(20, "typed"), (30, "accepted")]

    writer.undo()
    assert frame.equals(original) and np.isnan(frame.at[20, "label"]) and frame.at[30, "label"] == ""
    assert [p["how"] for p in writer.provenance_entries()][2:] == ["undone", "undone"]


def test_dataframe_with_an_all_empty_label_column_gets_text_labels_and_its_type_back(frame):
    frame["label"] = np.nan  # a float column
    original = frame.copy()
    writer = LabelWriter(open_pool(frame))
    writer.assign([Assignment(key_of(writer.pool, "a.png"), "cat")])
    assert frame.at[10, "label"] == "cat"
    writer.undo()
    assert frame.equals(original) and frame["label"].dtype == original["label"].dtype


def test_dataframe_undo_refuses_when_a_label_was_changed_since(frame):
    writer = LabelWriter(open_pool(frame))
    writer.assign([Assignment(key_of(writer.pool, "b.png"), "dog")])
    frame.at[20, "label"] = "eel"
    with refused("Row 20 of the DataFrame no longer has the label 'dog'"):
        writer.undo()
    assert frame.at[20, "label"] == "eel" and writer.can_undo

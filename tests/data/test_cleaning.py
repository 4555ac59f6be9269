"""DatasetEditor: relabel / remove / undo really change (and restore) folders, CSV files and DataFrames."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from imagegen import make_image, make_image_folder, make_named_folder, make_split_folder
from torch.utils.data import TensorDataset

from jupyter_dl.data import resolve_data
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.data.cleaning import CHANGE_LOG, TRASH_DIR, DatasetEditor, csv_document, moves
from jupyter_dl.errors import UserInputError


# ----------------------------------------------------------------------------- helpers
def tree(root: Path) -> dict[str, str]:
    """Every file below root (hidden ones included, the change log excepted) -> sha1 of its bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != CHANGE_LOG:
            found[path.relative_to(root).as_posix()] = hashlib.sha1(path.read_bytes()).hexdigest()
    return found


def folders(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def key_of(catalog, name: str) -> int:
    return next(item.key for item in catalog.items if item.path.name == name)


def labels_on_disk(root: Path) -> dict[str, str]:
    """File name -> label as %finetune reads the folder now."""
    items = resolve_data(root)
    return {path.name: items.classes[label] for path, label in items.train + items.valid}


def pairs(catalog) -> set[tuple[str, str]]:
    return {(str(item.path), item.label) for item in catalog.items}


@pytest.fixture
def pets(tmp_path):
    return make_image_folder(tmp_path / "pets", {"cat": 4, "dog": 4}, size=12)


@pytest.fixture
def editor(pets):
    return DatasetEditor(build_catalog(pets))


# ----------------------------------------------------------------------------- folders
def test_relabel_moves_the_file_into_the_class_folder(pets, editor):
    before = tree(pets)
    change = editor.relabel([key_of(editor.catalog, "cat_0.png")], "dog")

    assert not (pets / "cat" / "cat_0.png").exists()
    assert hashlib.sha1((pets / "dog" / "cat_0.png").read_bytes()).hexdigest() == before["cat/cat_0.png"]
    assert labels_on_disk(pets)["cat_0.png"] == "dog"  # what the next %finetune sees
    assert change.action == "relabel" and change.items[0].new_path == pets / "dog" / "cat_0.png"
    item = next(i for i in editor.catalog.items if i.path.name == "cat_0.png")
    assert item.label == "dog" and item.path == pets / "dog" / "cat_0.png"
    assert editor.catalog.counts() == {"cat": 3, "dog": 5}
    assert pairs(editor.catalog) == pairs(build_catalog(pets))


def test_relabel_to_a_new_class_makes_its_folder_and_undo_takes_it_away(pets, editor):
    before, dirs = tree(pets), folders(pets)
    keys = [key_of(editor.catalog, "cat_1.png"), key_of(editor.catalog, "dog_2.png")]
    editor.relabel(keys, "bird")

    assert sorted(p.name for p in (pets / "bird").iterdir()) == ["cat_1.png", "dog_2.png"]
    assert editor.catalog.classes == ["bird", "cat", "dog"]
    assert resolve_data(pets).classes == ["bird", "cat", "dog"]

    undo = editor.undo()
    assert undo.action == "undo" and undo.items[0].new_path == pets / "cat" / "cat_1.png"
    assert tree(pets) == before and folders(pets) == dirs
    assert editor.catalog.classes == ["cat", "dog"]
    assert editor.undo() is None


def test_remove_moves_the_file_into_the_trash_inside_the_data_set(pets, editor):
    before = tree(pets)
    change = editor.remove([key_of(editor.catalog, "dog_3.png")])

    assert not (pets / "dog" / "dog_3.png").exists()
    trashed = change.items[0].new_path
    assert trashed == pets / TRASH_DIR / change.id / "dog" / "dog_3.png" and change.trash == trashed.parent.parent
    assert hashlib.sha1(trashed.read_bytes()).hexdigest() == before["dog/dog_3.png"]
    assert "dog_3.png" not in labels_on_disk(pets)  # the trash folder is hidden from training
    assert len(editor.catalog.items) == 7 and editor.catalog.counts() == {"cat": 4, "dog": 3}

    editor.undo()
    assert tree(pets) == before and not (pets / TRASH_DIR).exists()
    assert len(editor.catalog.items) == 8 and [i.key for i in editor.catalog.items] == list(range(8))


def test_undo_reverts_changes_one_at_a_time_last_first(pets, editor):
    before = tree(pets)
    catalog = editor.catalog
    first = editor.relabel([key_of(catalog, "cat_0.png")], "dog")
    after_first = tree(pets)
    second = editor.remove([key_of(catalog, "cat_0.png"), key_of(catalog, "dog_1.png")])
    assert editor.history == [first, second]

    assert editor.undo().undoes == second.id
    assert tree(pets) == after_first and editor.history == [first]
    assert editor.undo().undoes == first.id
    assert tree(pets) == before and not editor.can_undo
    assert pairs(catalog) == pairs(build_catalog(pets))


def test_a_name_clash_gets_a_new_name_and_nothing_is_overwritten(tmp_path):
    root = tmp_path / "clash"
    for label in ("cat", "dog"):
        make_image(root / label / "x.png", size=12, seed=hash(label) % 1000)
    make_image(root / "dog" / "x-1.png", size=12, seed=7)
    before = tree(root)
    editor = DatasetEditor(build_catalog(root))

    change = editor.relabel([next(i.key for i in editor.catalog.items if i.label == "cat")], "dog")
    assert change.items[0].new_path == root / "dog" / "x-2.png"
    assert "renamed" in change.summary
    assert sorted(tree(root).values()) == sorted(before.values())  # all three images still there, bytes intact
    assert tree(root)["dog/x-2.png"] == before["cat/x.png"] and tree(root)["dog/x.png"] == before["dog/x.png"]

    editor.undo()
    assert tree(root) == before


def test_a_failure_midway_moves_back_what_was_moved(pets, editor, monkeypatch):
    before, dirs = tree(pets), folders(pets)
    catalog = editor.catalog
    keys = [key_of(catalog, name) for name in ("cat_0.png", "cat_1.png", "cat_2.png")]
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(src).name == "cat_1.png":
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(moves.os, "replace", failing_replace)
    for action in (lambda: editor.relabel(keys, "bird"), lambda: editor.remove(keys)):
        with pytest.raises(UserInputError, match=r"cat_1\.png.*Permission denied.*nothing was changed"):
            action()
        assert tree(pets) == before and folders(pets) == dirs  # cat_0 moved back, no bird/ or trash folder left
        assert pairs(catalog) == pairs(build_catalog(pets)) and not editor.can_undo
    assert editor.log_entries() == []


def test_undo_never_overwrites_a_file_that_took_the_old_place(pets, editor):
    editor.relabel([key_of(editor.catalog, "cat_0.png")], "dog")
    occupant = make_image(pets / "cat" / "cat_0.png", size=12, seed=99)
    occupied = tree(pets)

    with pytest.raises(UserInputError, match=r"Something now occupies .*cat_0\.png.*never overwrites"):
        editor.undo()
    assert tree(pets) == occupied and editor.can_undo  # nothing moved; still undoable

    occupant.rename(pets / "elsewhere.png")
    editor.undo()
    assert (pets / "cat" / "cat_0.png").exists() and not (pets / "dog" / "cat_0.png").exists()


def test_relabel_in_a_split_layout_stays_in_its_split_folder(tmp_path):
    root = make_split_folder(tmp_path / "split", train={"cat": 3, "dog": 3}, valid={"cat": 2, "dog": 2}, size=12)
    before = tree(root)
    editor = DatasetEditor(build_catalog(root))
    valid_cat = next(i for i in editor.catalog.items if "valid" in i.path.parts and i.label == "cat")
    train_cat = next(i for i in editor.catalog.items if "train" in i.path.parts and i.label == "cat")

    editor.relabel([valid_cat.key, train_cat.key], "dog")
    assert (root / "valid" / "dog" / valid_cat.path.name).exists()
    assert (root / "train" / "dog" / train_cat.path.name).exists()
    items = resolve_data(root)
    assert {p.name for p, label in items.valid if items.classes[label] == "dog"} >= {valid_cat.path.name}

    editor.remove([valid_cat.key])
    assert (root / TRASH_DIR / editor.history[-1].id / "valid" / "dog" / valid_cat.path.name).exists()
    editor.undo()
    editor.undo()
    assert tree(root) == before


def test_emptying_a_class_removes_its_folder_so_training_still_works(tmp_path):
    root = make_image_folder(tmp_path / "typo", {"cat": 3, "cta": 2, "dog": 3}, size=12)
    before, dirs = tree(root), folders(root)
    editor = DatasetEditor(build_catalog(root))
    editor.relabel([i.key for i in editor.catalog.items if i.label == "cta"], "cat")

    assert not (root / "cta").exists()
    assert resolve_data(root).classes == ["cat", "dog"] and editor.catalog.classes == ["cat", "dog"]
    editor.undo()
    assert tree(root) == before and folders(root) == dirs


def test_a_catalog_of_only_some_items_keeps_classes_the_data_set_still_has(tmp_path):
    # Like the mistakes view: only the validation items, while train/ keeps its own cats.
    root = make_split_folder(tmp_path / "split", train={"cat": 3, "dog": 3}, valid={"cat": 1, "dog": 2}, size=12)
    full = build_catalog(root)
    valid_only = dataclasses.replace(full, items=[i for i in full.items if i.split == "valid"],
                                     classes=list(full.classes))
    editor = DatasetEditor(valid_only)
    editor.relabel([i.key for i in valid_only.items if i.label == "cat"], "dog")

    assert not (root / "valid" / "cat").exists()
    assert valid_only.classes == ["cat", "dog"] and valid_only.counts() == {"cat": 0, "dog": 3}


def test_a_file_gone_since_browsing_is_refused_and_nothing_moves(pets, editor):
    (pets / "cat" / "cat_2.png").rename(pets / "moved-away.png")
    before = tree(pets)
    with pytest.raises(UserInputError, match=r"cat_2\.png no longer exists.*refresh the browser"):
        editor.relabel([key_of(editor.catalog, "cat_1.png"), key_of(editor.catalog, "cat_2.png")], "dog")
    assert tree(pets) == before


@pytest.mark.parametrize("label, message", [
    ("", "empty"), ("   ", "empty"), ("a/b", "path separator"), ("a\\b", "path separator"), ("..", "not a folder name"),
    (".hidden", "hidden folder"), ("__x", "hidden folder"), (" dog", "space"), ("do\ng", "line break"),
    ("unlabelled", "folder of images still to label"),
])
def test_a_label_that_is_no_folder_name_is_refused(pets, editor, label, message):
    before = tree(pets)
    with pytest.raises(UserInputError, match=message):
        editor.relabel([0], label)
    assert tree(pets) == before


def test_bad_selections_are_refused(pets, editor):
    with pytest.raises(UserInputError, match="No images are selected"):
        editor.remove([])
    with pytest.raises(UserInputError, match="Item 99 is not in this data set"):
        editor.relabel([0, 99], "dog")
    dog = key_of(editor.catalog, "dog_0.png")
    with pytest.raises(UserInputError, match="already labelled 'dog'"):
        editor.relabel([dog], "dog")
    with pytest.raises(UserInputError, match="keys"):
        editor.remove(["cat_0.png"])
    removed = editor.remove(dog).items[0].key
    with pytest.raises(UserInputError, match=f"Item {removed} is not in this data set"):
        editor.remove([removed])


# ----------------------------------------------------------------------------- change log
def test_every_change_and_undo_is_a_line_in_the_change_log(pets, editor):
    catalog = editor.catalog
    relabel = editor.relabel([key_of(catalog, "cat_0.png")], "bird")
    remove = editor.remove([key_of(catalog, "dog_1.png")])
    editor.undo()

    lines = (pets / CHANGE_LOG).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["relabel", "remove", "undo"]
    assert entries == editor.log_entries()
    first = entries[0]
    assert first["id"] == relabel.id and first["label"] == "bird" and first["kind"] == "folder"
    assert first["items"] == [{"key": relabel.items[0].key, "row": None, "from": "cat/cat_0.png",
                               "to": "bird/cat_0.png", "old_label": "cat", "new_label": "bird"}]
    assert first["created_folders"] == ["bird"] and "T" in first["time"]
    assert entries[1]["items"][0]["to"] == f"{TRASH_DIR}/{remove.id}/dog/dog_1.png"
    assert entries[1]["trash"] == f"{TRASH_DIR}/{remove.id}"
    assert entries[2]["undoes"] == remove.id and entries[2]["items"][0]["to"] == "dog/dog_1.png"
    assert CHANGE_LOG.startswith(".")  # hidden: training and the file listing skip it


def test_a_change_that_cannot_be_logged_is_taken_back(pets, editor, monkeypatch):
    before = tree(pets)

    def no_log(change):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(editor, "_write_log", no_log)
    with pytest.raises(UserInputError, match="change log.*No space left.*taken back"):
        editor.remove([0, 5])
    assert tree(pets) == before and not editor.can_undo and len(editor.catalog.items) == 8


# ----------------------------------------------------------------------------- read-only data
def test_data_sets_that_cannot_be_edited_say_why(tmp_path):
    named = make_named_folder(tmp_path / "named", {"cat": 3, "dog": 3}, size=12)
    with pytest.raises(UserInputError, match="cannot be edited here: labels come from the file names"):
        DatasetEditor(build_catalog(named, label_re=r"^(\w+?)_\d+"))
    dataset = TensorDataset(torch.zeros(6, 3, 8, 8), torch.tensor([0, 1] * 3))
    with pytest.raises(UserInputError, match="cannot be edited here: a torch Dataset"):
        DatasetEditor(build_catalog(dataset))
    with pytest.raises(UserInputError, match="cannot be edited here: the sample data set"):
        DatasetEditor(build_catalog("sample"))


# ----------------------------------------------------------------------------- caches
def test_after_a_relabel_the_next_run_sees_the_new_labels_through_the_caches(pets, editor):
    from jupyter_dl.data import build_image_cache
    from jupyter_dl.data.thumbnails import thumbnail

    def labels_by_name():
        items = resolve_data(pets, valid_pct=0)
        _, labels, _ = build_image_cache(items.train, size=8)
        return {path.name: items.classes[int(label)] for (path, _), label in zip(items.train, labels)}

    assert labels_by_name()["cat_0.png"] == "cat"  # decoded and cached
    key = key_of(editor.catalog, "cat_0.png")
    old_thumb = thumbnail(editor.catalog, next(i for i in editor.catalog.items if i.key == key))

    editor.relabel([key], "dog")
    assert labels_by_name()["cat_0.png"] == "dog"
    moved = next(i for i in editor.catalog.items if i.key == key)
    assert thumbnail(editor.catalog, moved) == old_thumb  # same pixels, found at the new path


# ----------------------------------------------------------------------------- CSV
CSV_TEXT = ("path,label,score,note\r\n"
            "imgs/a.png,cat,1.50,\"plain\"\r\n"
            "\r\n"
            "imgs/b.png,dog,0.10,\"with, comma\"\r\n"
            "imgs/c.png,cat,007,\"two\r\nlines\"\r\n"
            "imgs/d.png,dog,2.0,last")  # no final line break


@pytest.fixture
def table_csv(tmp_path):
    folder = tmp_path / "tab"
    for i, name in enumerate("abcd"):
        make_image(folder / "imgs" / f"{name}.png", size=12, seed=i)
    path = folder / "data.csv"
    path.write_bytes(CSV_TEXT.encode())
    return path


def csv_key(catalog, name: str) -> int:
    return key_of(catalog, name)


def test_csv_relabel_rewrites_only_that_row_and_undo_is_byte_identical(table_csv):
    original = table_csv.read_bytes()
    images = tree(table_csv.parent / "imgs")
    table_csv.chmod(0o640)
    editor = DatasetEditor(build_catalog(table_csv))
    change = editor.relabel([csv_key(editor.catalog, "c.png")], "bird")
    assert table_csv.stat().st_mode & 0o777 == 0o640  # the replacement keeps the file's permissions

    assert table_csv.read_bytes() == CSV_TEXT.replace("cat,007", "bird,007").encode()  # every other byte kept
    assert list(pd.read_csv(table_csv)["label"]) == ["cat", "dog", "bird", "dog"]
    assert tree(table_csv.parent / "imgs") == images  # a table relabel moves no file
    assert (change.trash / "data.csv").read_bytes() == original
    assert pairs(editor.catalog) == pairs(build_catalog(table_csv))

    editor.undo()
    assert table_csv.read_bytes() == original


def test_csv_remove_drops_the_rows_keeps_the_files_and_undo_is_byte_identical(table_csv):
    original = table_csv.read_bytes()
    images = tree(table_csv.parent / "imgs")
    editor = DatasetEditor(build_catalog(table_csv))
    editor.remove([csv_key(editor.catalog, "a.png"), csv_key(editor.catalog, "d.png")])

    text = table_csv.read_bytes().decode()
    assert text == ("path,label,score,note\r\n\r\nimgs/b.png,dog,0.10,\"with, comma\"\r\n"
                    "imgs/c.png,cat,007,\"two\r\nlines\"\r\n")
    assert tree(table_csv.parent / "imgs") == images
    # The catalog's rows follow the rows moving up, exactly as a fresh read numbers them.
    fresh = build_catalog(table_csv, valid_pct=0)
    assert {(i.path.name, i.row) for i in editor.catalog.items} == {(i.path.name, i.row) for i in fresh.items}
    entry = editor.log_entries()[-1]
    assert [r["text"] for r in entry["removed_rows"]] == ["imgs/a.png,cat,1.50,\"plain\"\r\n",
                                                          "imgs/d.png,dog,2.0,last"]
    assert (table_csv.parent / CHANGE_LOG).exists()

    editor.undo()
    assert table_csv.read_bytes() == original
    fresh = build_catalog(table_csv)
    assert [(i.path.name, i.row) for i in editor.catalog.items] == [(i.path.name, i.row) for i in fresh.items]


def test_csv_relabel_keeps_a_byte_order_mark_and_all_quoted_style(tmp_path):
    folder = tmp_path / "quoted"
    for i, name in enumerate("ab"):
        make_image(folder / f"{name}.png", size=12, seed=i)
    path = folder / "data.csv"
    original = b'\xef\xbb\xbf"path","label"\n"a.png","cat"\n"b.png","dog"\n'
    path.write_bytes(original)
    editor = DatasetEditor(build_catalog(path))
    editor.relabel([key_of(editor.catalog, "a.png")], "bird")
    assert path.read_bytes() == original.replace(b'"cat"', b'"bird"')
    editor.undo()
    assert path.read_bytes() == original


def test_csv_is_replaced_atomically_and_a_failed_write_changes_nothing(table_csv, monkeypatch):
    original = table_csv.read_bytes()
    editor = DatasetEditor(build_catalog(table_csv))
    targets = []

    def failing_replace(src, dst):
        targets.append((Path(src), Path(dst)))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(csv_document.os, "replace", failing_replace)
    with pytest.raises(UserInputError, match="Could not write .*data.csv.*nothing was changed"):
        editor.relabel([0], "bird")
    temp, target = targets[0]
    assert target == table_csv and temp.parent == table_csv.parent  # a temp file next to it, swapped in one step
    assert table_csv.read_bytes() == original and not temp.exists()
    assert not editor.can_undo


def test_csv_undo_refuses_when_the_file_was_edited_since(table_csv):
    editor = DatasetEditor(build_catalog(table_csv))
    editor.relabel([0], "bird")
    edited = table_csv.read_bytes() + b"\r\nimgs/a.png,dog,1,x"
    table_csv.write_bytes(edited)
    with pytest.raises(UserInputError, match="data.csv was changed after this edit.*kept in"):
        editor.undo()
    assert table_csv.read_bytes() == edited


def test_csv_rows_edited_since_browsing_are_refused(table_csv):
    editor = DatasetEditor(build_catalog(table_csv))
    table_csv.write_bytes(CSV_TEXT.replace("imgs/a.png,cat", "imgs/a.png,dog").encode())
    with pytest.raises(UserInputError, match="data.csv changed since it was browsed"):
        editor.relabel([csv_key(editor.catalog, "a.png")], "bird")


# ----------------------------------------------------------------------------- DataFrame
@pytest.fixture
def frame(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, name in enumerate("abcdef"):
        make_image(tmp_path / "imgs" / f"{name}.png", size=12, seed=i)
    return pd.DataFrame({
        "path": [f"imgs/{n}.png" for n in "abcdef"],
        "label": pd.Categorical(["cat", "dog", "cat", "dog", "cat", "dog"]),
        "weight": [1, 2, 3, 4, 5, 6],
        "score": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
        "checked": [True, False, True, False, True, False],
    }, index=[10, 20, 30, 40, 50, 60])


def test_dataframe_relabel_edits_the_users_object_and_undo_restores_it(frame):
    original = frame.copy()
    editor = DatasetEditor(build_catalog(frame))
    editor.relabel([key_of(editor.catalog, "a.png"), key_of(editor.catalog, "b.png")], "bird")

    assert list(frame["label"]) == ["bird", "bird", "cat", "dog", "cat", "dog"]  # the same object, changed
    assert editor.log_path is None and editor.log_entries()[0]["action"] == "relabel"
    editor.undo()
    assert frame.equals(original) and frame["label"].dtype == original["label"].dtype


def test_dataframe_remove_drops_rows_in_place_and_undo_restores_order_and_types(frame):
    original = frame.copy()
    editor = DatasetEditor(build_catalog(frame))
    editor.remove([key_of(editor.catalog, "b.png"), key_of(editor.catalog, "e.png")])

    assert list(frame.index) == [10, 30, 40, 60]
    assert {i.path.name for i in editor.catalog.items} == {"a.png", "c.png", "d.png", "f.png"}
    editor.undo()
    assert frame.equals(original)
    assert list(frame.index) == [10, 20, 30, 40, 50, 60] and list(frame.dtypes) == list(original.dtypes)


def test_dataframe_numeric_labels_keep_their_type(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in "abcd":
        make_image(tmp_path / f"{name}.png", size=12)
    frame = pd.DataFrame({"path": [f"{n}.png" for n in "abcd"], "label": [0, 1, 0, 1]})
    original = frame.copy()
    editor = DatasetEditor(build_catalog(frame))

    editor.relabel([0], "2")
    assert frame["label"].dtype == original["label"].dtype and 2 in list(frame["label"])
    editor.relabel([1], "cat")  # text into a column of numbers
    assert "cat" in list(frame["label"])
    editor.undo()
    editor.undo()
    assert frame.equals(original)


def test_dataframe_with_repeated_index_labels_is_refused(frame):
    frame.index = [1, 1, 2, 3, 4, 5]
    with pytest.raises(UserInputError, match="reset_index"):
        DatasetEditor(build_catalog(frame))

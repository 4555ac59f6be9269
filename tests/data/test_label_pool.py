"""open_pool: what %label sees in a folder, a CSV file or a DataFrame, and one clear sentence per bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from imagegen import make_image, make_image_folder, make_split_folder, make_table_pool
from torch.utils.data import TensorDataset

from jupyter_dl.data import UNLABELLED_DIR, open_pool
from jupyter_dl.errors import UserInputError


def make_pool(root, n=3, folder=UNLABELLED_DIR):
    for i in range(n):
        make_image(root / folder / f"new_{i}.png", size=8, seed=100 + i)
    return root


@pytest.fixture
def pets(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"dog": 2, "cat": 2}, size=8)
    return make_pool(root)


def names(items) -> list[str]:
    return [item.path.name for item in items]


# ----------------------------------------------------------------------------- folders
def test_a_folder_pool_lists_class_folders_as_labelled_and_the_pool_as_unlabelled(pets):
    make_image(pets / UNLABELLED_DIR / "batch2" / "deep.jpg", size=8)
    make_image(pets / UNLABELLED_DIR / ".hidden.png", size=8)
    (pets / UNLABELLED_DIR / "notes.txt").write_text("not an image")
    make_image(pets / ".ipynb_checkpoints" / "x.png", size=8)

    pool = open_pool(pets)

    assert pool.kind == "folder" and pool.root == pets and pool.pool_dir == pets / UNLABELLED_DIR
    assert pool.classes == ["cat", "dog"] and pool.label_dir == pets
    assert [(i.path.name, i.label) for i in pool.labelled()] == [
        ("cat_0.png", "cat"), ("cat_1.png", "cat"), ("dog_0.png", "dog"), ("dog_1.png", "dog")]
    assert names(pool.unlabelled()) == ["deep.jpg", "new_0.png", "new_1.png", "new_2.png"]
    assert [item.key for item in pool.items] == list(range(8)) and pool.item(5) is pool.items[5]
    assert all(item.path.is_absolute() and item.row is None for item in pool.items)
    assert pool.description == f"folder {pets}: 4 labelled in 2 classes, 4 to label in {pets / UNLABELLED_DIR}"


def test_given_classes_come_first_in_their_order_then_the_rest_sorted(pets):
    (pets / "empty").mkdir()  # an empty class folder names a class too
    assert open_pool(pets, classes="zebra, dog,").classes == ["zebra", "dog", "cat", "empty"]
    assert open_pool(pets, classes=["bird"]).classes == ["bird", "cat", "dog", "empty"]


def test_a_new_data_set_may_have_no_class_folder_yet(tmp_path):
    root = make_pool(tmp_path / "new")
    pool = open_pool(root)
    assert pool.classes == [] and pool.labelled() == [] and len(pool.unlabelled()) == 3
    assert open_pool(str(root), classes="cat").classes == ["cat"]  # one class is fine: more come later


def test_a_pool_elsewhere_is_absolute_or_relative_to_the_cwd(pets, tmp_path, monkeypatch):
    make_pool(tmp_path / "inbox", n=2, folder="todo")
    by_path = open_pool(pets, pool=tmp_path / "inbox" / "todo")
    monkeypatch.chdir(tmp_path)
    relative = open_pool(pets, pool="inbox/todo")
    for pool in (by_path, relative):
        assert pool.pool_dir == tmp_path / "inbox" / "todo"
        assert len(pool.unlabelled()) == 2 and pool.classes == ["cat", "dog"]  # pets/unlabelled is not a class
    assert relative.description.endswith("2 to label in inbox/todo")


def test_a_train_valid_layout_reads_both_and_labels_go_into_train(tmp_path):
    root = make_pool(make_split_folder(tmp_path / "split", train={"cat": 2, "dog": 2}, valid={"cat": 1, "eel": 1},
                                       size=8))
    pool = open_pool(root)
    assert pool.classes == ["cat", "dog", "eel"] and len(pool.labelled()) == 6
    assert pool.label_dir == root / "train" and "new class folders go into train/" in pool.description


def test_a_pool_inside_a_hidden_folder_of_data_is_fine(pets):
    make_pool(pets, n=1, folder=".todo")
    assert len(open_pool(pets, pool=pets / ".todo").unlabelled()) == 1


# ----------------------------------------------------------------------------- tables
CSV = ("path,label,note\r\n"
       "imgs/a.png,cat,x\r\n"
       "imgs/b.png,,y\r\n"
       "imgs/c.png,  ,z\r\n"
       "imgs/notes.txt,,not an image\r\n"
       "imgs/d.png,dog,w\r\n"
       "imgs/e.png\r\n")  # a row that stops before the label


@pytest.fixture
def table_csv(tmp_path):
    return make_table_pool(tmp_path, CSV)


def test_a_csv_pool_has_the_rows_with_an_empty_label_to_label(table_csv):
    pool = open_pool(str(table_csv), classes="bird")
    assert pool.kind == "csv" and pool.csv_path == table_csv and pool.root == table_csv.parent
    assert [(i.path.name, i.label, i.row) for i in pool.items] == [
        ("a.png", "cat", 0), ("b.png", None, 1), ("c.png", None, 2), ("d.png", "dog", 4), ("e.png", None, 5)]
    assert pool.classes == ["bird", "cat", "dog"]
    assert pool.description == f"CSV {table_csv}: 2 labelled in 3 classes, 3 to label"


def test_a_dataframe_pool_keeps_the_users_object_and_its_index(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in "abc":
        make_image(tmp_path / f"{name}.png", size=8)
    frame = pd.DataFrame({"file": ["a.png", "b.png", "c.png"], "y": [3.0, np.nan, None]}, index=[7, 8, 9])
    pool = open_pool("frame", namespace={"frame": frame}, path_col="file", label_col="y")
    assert pool.kind == "dataframe" and pool.table is frame and pool.root == tmp_path
    assert [(i.label, i.row) for i in pool.items] == [("3", 7), (None, 8), (None, 9)]
    assert pool.description == "DataFrame frame: 1 labelled in 1 class, 2 to label"


def test_a_variable_holding_a_path_is_followed(pets):
    assert open_pool("where", namespace={"where": str(pets)}).kind == "folder"


# ----------------------------------------------------------------------------- bad input
def refused(message: str):
    return pytest.raises(UserInputError, match=message)


def test_data_that_is_not_there_or_not_a_pool_is_refused(pets, tmp_path):
    with refused(r"pest does not exist \(did you mean .*pets\?\): check the spelling"):
        open_pool(str(tmp_path / "pest"))
    with refused("TensorDataset, but %label needs a folder, a .csv file or a DataFrame: copy the images to label "
                 "into DATA/unlabelled"):
        open_pool(TensorDataset(torch.zeros(2, 3)))
    with refused("The variable 'ds' holds a list, but %label needs a folder"):
        open_pool("ds", namespace={"ds": [1, 2]})
    with refused("sample data set is labelled already"):
        open_pool("sample")
    (tmp_path / "x.txt").write_text("hi")
    with refused(r"x\.txt is a file, not a data set"):
        open_pool(tmp_path / "x.txt")


def test_nothing_to_label_says_where_to_put_the_images(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 2}, size=8)
    message = (f"Nothing to label: {root / UNLABELLED_DIR} has no images; put the images to label there "
               r"or pass --pool DIR\.")
    with refused(message):
        open_pool(root)  # no pool folder
    (root / UNLABELLED_DIR).mkdir()
    (root / UNLABELLED_DIR / "readme.txt").write_text("no images here")
    with refused(message):
        open_pool(root)  # an empty one


def test_a_bad_pool_folder_is_refused(pets, tmp_path):
    with refused(r"--pool .*nowhere is not a folder \(it does not exist\): pass the folder that holds the images"):
        open_pool(pets, pool=tmp_path / "nowhere")
    with refused(r"--pool .*pets holds .*pets itself"):
        open_pool(pets, pool=pets)
    with refused(r"--pool .*cat is inside .*pets, where %finetune would take 'cat' for a class"):
        open_pool(pets, pool=pets / "cat")
    with refused("--pool is for a folder of class folders, not a table"):
        open_pool(pd.DataFrame({"path": ["a.png"], "label": [None]}), pool=tmp_path)


@pytest.mark.parametrize("classes, message", [
    ("a/b", "path separator"), (".cat", "hidden folder"), (["cat "], "space"),
    ("unlabelled", "names the folder of images still to label"), ("cat,dog,cat", "'cat' is given twice"),
])
def test_bad_class_names_are_refused(pets, classes, message):
    with refused(message):
        open_pool(pets, classes=classes)


def test_a_class_named_like_a_file_in_data_is_refused(pets):
    (pets / "bird").write_text("a file, not a folder")
    with refused(r"has a file named 'bird', so no class folder of that name can be made: rename the file"):
        open_pool(pets, classes="bird")


def test_a_table_without_the_columns_says_what_to_add(table_csv, tmp_path):
    table_csv.write_text("path,kind\nimgs/a.png,\n")
    with refused(f"{table_csv} has no column 'label': add an empty 'label' column "
                 r"\(or pass --label-col to name the column that holds the labels\)\."):
        open_pool(table_csv)
    with refused("The DataFrame has no column 'path': add a 'path' column with each image's file"):
        open_pool(pd.DataFrame({"file": ["a.png"], "label": [None]}))


def test_a_table_with_every_image_labelled_has_nothing_to_label(table_csv):
    table_csv.write_text("path,label\nimgs/a.png,cat\nimgs/notes.txt,\n")
    with refused(f"Nothing to label: every image row of {table_csv} has a 'label'; add rows with an empty 'label'"):
        open_pool(table_csv)


def test_a_dataframe_with_repeated_index_labels_is_refused(tmp_path):
    frame = pd.DataFrame({"path": ["a.png", "b.png"], "label": [None, None]}, index=[1, 1])
    with refused("reset_index"):
        open_pool(frame)

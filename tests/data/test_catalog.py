"""build_catalog: every kind of DATA gives the items, labels, rows and split that %finetune trains on."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from imagegen import image_rows, make_csv, make_image, make_image_folder, make_named_folder, make_split_folder
from torch.utils.data import Dataset, TensorDataset

from jupyter_dl.data import resolve_data
from jupyter_dl.data.catalog import Catalog, build_catalog, non_image_files
from jupyter_dl.errors import UserInputError


def pairs(catalog: Catalog, split: str) -> list[tuple[Path, str]]:
    return [(item.path, item.label) for item in catalog.split_items(split)]


def source_pairs(source, split: str) -> list[tuple[Path, str]]:
    return [(Path(path), source.classes[label]) for path, label in getattr(source, split)]


def assert_same_split_as_training(catalog: Catalog, target, **options) -> None:
    source = resolve_data(target, **options)
    for split in ("train", "valid"):
        assert pairs(catalog, split) == source_pairs(source, split)


# ----------------------------------------------------------------------------- folders
def test_folder_items_labels_and_split_are_the_training_ones(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"dog": 10, "cat": 7, "bird": 4})
    catalog = build_catalog(str(root), valid_pct=0.25, seed=5)
    assert catalog.kind == "folder" and catalog.root == root and catalog.editable
    assert catalog.classes == ["bird", "cat", "dog"]
    assert catalog.counts() == {"bird": 4, "cat": 7, "dog": 10}
    assert [item.key for item in catalog.items] == list(range(21))
    assert all(item.path.parent.name == item.label and item.row is None and item.index is None
               for item in catalog.items)
    assert_same_split_as_training(catalog, root, valid_pct=0.25, seed=5)
    assert build_catalog(root, valid_pct=0.25, seed=6).split_items("valid") != catalog.split_items("valid")


def test_train_and_valid_folders_give_the_split(tmp_path):
    root = make_split_folder(tmp_path / "split", train={"a": 3, "b": 3}, valid={"a": 1, "b": 2})
    catalog = build_catalog(root)
    assert [item.path.parts[-3] for item in catalog.items] == ["train"] * 6 + ["valid"] * 3
    assert [item.split for item in catalog.items] == ["train"] * 6 + ["valid"] * 3
    assert catalog.editable


def test_label_re_catalog_is_read_only(tmp_path):
    root = make_named_folder(tmp_path / "named", {"Abyssinian": 3, "beagle": 4})
    catalog = build_catalog(root, label_re=r"^(.+)_\d+\.jpg$")
    assert catalog.counts() == {"Abyssinian": 3, "beagle": 4}
    assert not catalog.editable and "file names" in catalog.read_only_reason
    assert catalog.label_re == r"^(.+)_\d+\.jpg$"


def test_sample_is_a_read_only_folder_in_the_cache():
    catalog = build_catalog("sample")
    assert catalog.kind == "sample" and not catalog.editable and "cache" in catalog.read_only_reason
    assert len(catalog.items) == 1797 and catalog.classes == [str(i) for i in range(10)]
    image = catalog.open_image(catalog.items[0])
    assert image.mode == "RGB" and image.size == (32, 32)


def test_a_variable_holding_a_folder_path(tmp_path):
    root = make_image_folder(tmp_path / "pets")
    catalog = build_catalog("where", namespace={"where": str(root)})
    assert catalog.kind == "folder" and catalog.root == root and len(catalog.items) == 12


def test_non_image_files_in_class_folders_are_listed(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    (root / "cat" / "notes.txt").write_text("not a picture")
    (root / "dog" / "clip.mp4").write_bytes(b"\0" * 10)
    (root / "dog" / ".DS_Store").write_bytes(b"\0")  # hidden: skipped everywhere, not reported
    (root / "README.md").write_text("a data set")  # next to the class folders, not in one
    catalog = build_catalog(root)
    assert len(catalog.items) == 6
    assert non_image_files(catalog) == [root / "cat" / "notes.txt", root / "dog" / "clip.mp4"]


def test_open_image_gives_rgb_pixels_of_the_file(tmp_path):
    root = tmp_path / "grey"
    make_image(root / "a" / "1.png", size=(10, 6), color=(90, 90, 90), noise=0, mode="L")
    make_image(root / "b" / "2.png", size=8)
    catalog = build_catalog(root, valid_pct=0)
    image = catalog.open_image(0)
    assert image.mode == "RGB" and image.size == (10, 6)
    assert np.asarray(image)[0, 0].tolist() == [90, 90, 90]


# ----------------------------------------------------------------------------- tables
def test_csv_items_carry_their_row(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 6, "dog": 6})
    csv_path = make_csv(tmp_path / "labels.csv", folder=root)
    catalog = build_catalog(str(csv_path), valid_pct=0.25)
    assert catalog.kind == "csv" and catalog.csv_path == csv_path and catalog.root == tmp_path
    assert catalog.editable and catalog.table is None
    table = pd.read_csv(csv_path)
    assert sorted(item.row for item in catalog.items) == list(range(12))
    for item in catalog.items:
        assert tmp_path / table.loc[item.row, "path"] == item.path
        assert table.loc[item.row, "label"] == item.label
    assert_same_split_as_training(catalog, csv_path, valid_pct=0.25)


def test_csv_rows_listing_one_file_twice_stay_apart(tmp_path):
    make_image(tmp_path / "x.png")
    make_image(tmp_path / "y.png", seed=1)
    csv_path = make_csv(tmp_path / "d.csv", [("x.png", "a"), ("x.png", "b"), ("y.png", "a"), ("y.png", "b")])
    catalog = build_catalog(csv_path, valid_pct=0)
    assert sorted((item.row, item.path.name, item.label) for item in catalog.items) == [
        (0, "x.png", "a"), (1, "x.png", "b"), (2, "y.png", "a"), (3, "y.png", "b")]


def test_csv_is_valid_column_and_custom_columns(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    rows = [(path, label, i % 3 == 0) for i, (path, label) in enumerate(
        image_rows(root, relative_to=tmp_path))]
    csv_path = make_csv(tmp_path / "d.csv", rows, columns=("file", "kind", "is_valid"))
    catalog = build_catalog(csv_path, path_col="file", label_col="kind")
    assert (catalog.path_col, catalog.label_col) == ("file", "kind")
    assert sorted(item.row for item in catalog.split_items("valid")) == [0, 3]
    assert_same_split_as_training(catalog, csv_path, path_col="file", label_col="kind")


def test_dataframe_rows_are_index_labels_and_the_table_is_the_users(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = make_image_folder(tmp_path / "pets", {"cat": 4, "dog": 4})
    table = pd.DataFrame(image_rows(root, relative_to=tmp_path), columns=["path", "label"])
    table.index = [f"r{i}" for i in range(8)]
    catalog = build_catalog("table", namespace={"table": table})
    assert catalog.kind == "dataframe" and catalog.table is table and catalog.root == tmp_path and catalog.editable
    for item in catalog.items:
        assert tmp_path / table.loc[item.row, "path"] == item.path and table.loc[item.row, "label"] == item.label
    assert_same_split_as_training(catalog, table)


def test_csv_listing_a_non_image_file(tmp_path):
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "b.png", seed=1)
    (tmp_path / "notes.txt").write_text("hello")
    catalog = build_catalog(make_csv(tmp_path / "d.csv", [("a.png", "x"), ("b.png", "y"), ("notes.txt", "y")]))
    assert len(catalog.items) == 3  # training lists it too, and skips it when it fails to decode
    assert non_image_files(catalog) == [tmp_path / "notes.txt"]


# ----------------------------------------------------------------------------- torch Dataset
class ColourDataset(Dataset):
    """PIL images whose colour tells the item, with string labels."""

    def __init__(self, n: int = 10) -> None:
        from PIL import Image

        self.items = [(Image.new("RGB", (6, 4), (i * 20, 0, 0)), "odd" if i % 2 else "even") for i in range(n)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_torch_dataset_items_are_indices_into_the_split(tmp_path):
    data = ColourDataset(10)
    catalog = build_catalog(data, valid_pct=0.2, seed=1)
    source = resolve_data(data, valid_pct=0.2, seed=1)
    assert catalog.kind == "dataset" and catalog.root is None and not catalog.editable
    assert "Dataset" in catalog.read_only_reason
    assert catalog.classes == ["even", "odd"] and catalog.counts() == {"even": 5, "odd": 5}
    assert all(item.path is None for item in catalog.items)
    for split, dataset in (("train", source.train), ("valid", source.valid)):
        items = catalog.split_items(split)
        assert [item.index for item in items] == list(range(len(dataset)))
        assert [item.label for item in items] == [source.classes[dataset[i][1]] for i in range(len(dataset))]
    # The image shown is the very item training reads.
    item = catalog.split_items("valid")[0]
    original = source.valid.dataset.indices[0]
    assert np.asarray(catalog.open_image(item))[0, 0].tolist() == [original * 20, 0, 0]


def test_tensor_dataset_pair_and_class_names(tmp_path):
    train = TensorDataset(torch.rand(6, 3, 5, 5), torch.tensor([0, 1, 2, 0, 1, 2]))
    train.classes = ["red", "green", "blue"]
    valid = TensorDataset(torch.rand(3, 3, 5, 5), torch.tensor([2, 1, 0]))
    catalog = build_catalog((train, valid))
    assert [item.label for item in catalog.split_items("valid")] == ["blue", "green", "red"]
    image = catalog.open_image(catalog.split_items("valid")[1])
    assert image.mode == "RGB" and image.size == (5, 5)
    expected = (valid.tensors[0][1].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert np.array_equal(np.asarray(image), expected)


def test_image_folder_style_dataset_gives_file_paths(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    root = make_image_folder(tmp_path / "pets", {"cat": 4, "dog": 4})
    catalog = build_catalog(torchvision.datasets.ImageFolder(str(root)), valid_pct=0.25, seed=0)
    assert all(item.path is not None and item.path.parent.name == item.label for item in catalog.items)
    assert catalog.kind == "dataset" and not catalog.editable
    assert catalog.open_image(catalog.items[0]).mode == "RGB"


# ----------------------------------------------------------------------------- fastai
def test_fastai_dataloaders_items_and_split(tmp_path):
    vision = pytest.importorskip("fastai.vision.all")
    root = make_image_folder(tmp_path / "pets", {"cat": 6, "dog": 6}, size=20)
    dls = vision.ImageDataLoaders.from_folder(root, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16),
                                              bs=4, num_workers=0, device="cpu")
    catalog = build_catalog("dls", namespace={"dls": dls})
    assert catalog.kind == "fastai" and not catalog.editable and catalog.root == root
    assert catalog.classes == ["cat", "dog"]
    for split, dataset in (("train", dls.train_ds), ("valid", dls.valid_ds)):
        items = catalog.split_items(split)
        assert [item.path for item in items] == [Path(p) for p in dataset.items]
        assert all(item.path.parent.name == item.label for item in items)
        assert [item.index for item in items] == list(range(len(dataset)))
    assert len(catalog.split_items("valid")) == 3
    assert catalog.open_image(catalog.items[0]).size == (20, 20)


def test_fastai_in_memory_items_are_read_through_the_dataset():
    vision = pytest.importorskip("fastai.vision.all")

    def picture(i):
        return vision.PILImage.create(np.full((8, 8, 3), i * 30, np.uint8))

    block = vision.DataBlock(blocks=(vision.ImageBlock, vision.CategoryBlock), get_items=lambda _: list(range(6)),
                             get_x=picture, get_y=lambda i: "odd" if i % 2 else "even",
                             splitter=vision.IndexSplitter([4, 5]))
    dls = block.dataloaders(None, bs=2, num_workers=0, device="cpu")
    catalog = build_catalog(dls)
    assert [(item.path, item.label, item.split) for item in catalog.items] == [
        (None, "even", "train"), (None, "odd", "train"), (None, "even", "train"), (None, "odd", "train"),
        (None, "even", "valid"), (None, "odd", "valid")]
    assert np.asarray(catalog.open_image(catalog.items[5]))[0, 0].tolist() == [150, 150, 150]


# ----------------------------------------------------------------------------- errors
def test_bad_targets_raise_the_training_error(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        build_catalog(str(tmp_path / "nowhere"))
    with pytest.raises(UserInputError, match="not supported as data"):
        build_catalog(42)
    one_class = make_image_folder(tmp_path / "one", {"cat": 3})
    with pytest.raises(UserInputError, match="at least two classes"):
        build_catalog(one_class)


def test_items_are_found_by_key_after_positions_shift(tmp_path):
    catalog = build_catalog(make_image_folder(tmp_path / "pets", classes={"cat": 3, "dog": 3}, size=16))
    removed = catalog.items.pop(1)  # what a cleaning "remove" does to the list
    last = catalog.items[-1]
    assert catalog.item(last.key) is last and catalog.item(0) is catalog.items[0]
    with pytest.raises(Exception, match="may have been removed"):
        catalog.item(removed.key)
    assert catalog.open_image(last.key).size == catalog.open_image(last).size

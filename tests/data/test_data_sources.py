"""resolve_data: every supported kind of DATA, the split, and one clear error per bad input."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from imagegen import make_corrupt_file, make_csv, make_image, make_image_folder, make_named_folder, make_split_folder
from torch.utils.data import DataLoader, Dataset, TensorDataset

from jupyter_dl.data import DatasetSource, ImageItems, resolve_data
from jupyter_dl.data import sources as sources_module
from jupyter_dl.data.files import items_from_folder
from jupyter_dl.errors import UserInputError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(tmp_path / "cache"))


def labels_of(items: list[tuple[Path, int]]) -> list[int]:
    return [label for _, label in items]


# ----------------------------------------------------------------------------- folders
def test_folder_per_class_gives_sorted_classes_and_a_stratified_split(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"dog": 10, "cat": 10, "bird": 5})
    items = resolve_data(root, valid_pct=0.2)
    assert isinstance(items, ImageItems)
    assert items.classes == ["bird", "cat", "dog"]
    assert len(items.train) + len(items.valid) == 25
    assert sorted(labels_of(items.valid)) == [0, 1, 1, 2, 2]  # 20% of each class
    for path, label in items.train + items.valid:
        assert path.is_absolute() and path.parent.name == items.classes[label]
    assert not {p for p, _ in items.train} & {p for p, _ in items.valid}
    assert "25 images" in items.description and "3 classes" in items.description


def test_split_is_seeded(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 10, "b": 10})
    first, again = resolve_data(root, seed=1), resolve_data(root, seed=1)
    other = resolve_data(root, seed=2)
    assert first.valid == again.valid and first.train == again.train
    assert first.valid != other.valid


def test_valid_pct_zero_keeps_everything_for_training(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    items = resolve_data(root, valid_pct=0)
    assert len(items.train) == 6 and items.valid == []


def test_tiny_data_still_gets_one_validation_image(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 2, "b": 2})
    items = resolve_data(root, valid_pct=0.2)
    assert len(items.valid) == 1 and len(items.train) == 3
    assert set(labels_of(items.train)) == {0, 1}


def test_train_and_valid_folders_are_used_as_the_split(tmp_path):
    root = make_split_folder(tmp_path / "d", train={"cat": 4, "dog": 3}, valid={"cat": 2, "dog": 1})
    items = resolve_data(root, valid_pct=0.5)
    assert items.classes == ["cat", "dog"]
    assert len(items.train) == 7 and len(items.valid) == 3
    assert all(p.parts[-3] == "train" for p, _ in items.train)
    assert all(p.parts[-3] == "valid" for p, _ in items.valid)


def test_val_folder_name_works_too(tmp_path):
    root = make_split_folder(tmp_path / "d", valid_name="val")
    items = resolve_data(root)
    assert all(p.parts[-3] == "val" for p, _ in items.valid) and items.valid


def test_train_folder_without_valid_is_split_and_test_folder_ignored(tmp_path):
    make_image_folder(tmp_path / "d" / "train", {"cat": 5, "dog": 5})
    make_image_folder(tmp_path / "d" / "test", {"cat": 3, "dog": 3})
    items = resolve_data(tmp_path / "d", valid_pct=0.2)
    assert items.classes == ["cat", "dog"]
    assert len(items.train) + len(items.valid) == 10
    assert all("test" not in p.parts for p, _ in items.train + items.valid)


def test_a_class_called_train_is_a_class(tmp_path):
    root = make_image_folder(tmp_path / "vehicles", {"bus": 3, "train": 3})
    assert resolve_data(root).classes == ["bus", "train"]


def test_hidden_and_non_image_files_are_ignored(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    make_image(root / "a" / ".hidden.png")
    make_image(root / ".ipynb_checkpoints" / "x.png")
    make_image(root / "__MACOSX" / "a" / "y.png")
    (root / "a" / "notes.txt").write_text("hello")
    make_image(root / "b" / "UPPER.JPG")
    make_image(root / "b" / "nested" / "deep.webp")
    items = resolve_data(root, valid_pct=0)
    names = sorted(p.name for p, _ in items.train)
    assert items.classes == ["a", "b"]
    assert "UPPER.JPG" in names and "deep.webp" in names
    assert not any(n.startswith(".") or n.endswith(".txt") for n in names) and len(names) == 8


def test_the_folder_of_images_to_label_is_never_a_class(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    make_image(root / "unlabelled" / "x.png")
    make_image(root / "unlabelled" / "batch2" / "y.png")
    items = items_from_folder(root, shown="d", label_re=None, valid_pct=0, seed=0)  # what %finetune lists
    assert items.classes == ["a", "b"] and len(items.train) == 6
    assert resolve_data(root).classes == ["a", "b"]
    named = make_named_folder(tmp_path / "named", {"cat": 3, "dog": 3})
    make_image(named / "unlabelled" / "cat_9.jpg")  # a name label_re would match
    assert len(resolve_data(named, label_re=r"^(\w+?)_\d+", valid_pct=0).train) == 6
    # Only at the top: inside a train/ folder it is a class someone chose.
    split = make_split_folder(tmp_path / "split", train={"cat": 2, "unlabelled": 2}, valid={"cat": 1})
    assert resolve_data(split).classes == ["cat", "unlabelled"]


def test_corrupt_files_are_listed_as_items_and_left_for_the_loader(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    make_corrupt_file(root / "a" / "broken.jpg")
    items = resolve_data(root, valid_pct=0)
    assert len(items.train) == 7


def test_label_re_labels_files_by_name(tmp_path):
    root = make_named_folder(tmp_path / "pets", {"Abyssinian": 4, "great_pyrenees": 4})
    items = resolve_data(root, label_re=r"^(.*)_\d+\.jpg$", valid_pct=0.25)
    assert items.classes == ["Abyssinian", "great_pyrenees"]
    assert len(items.train) == 6 and len(items.valid) == 2
    for path, label in items.train:
        assert path.name.startswith(items.classes[label] + "_")


# ----------------------------------------------------------------------------- tables
def test_csv_paths_are_relative_to_the_csv(tmp_path):
    make_image_folder(tmp_path / "data" / "images", {"x": 4, "y": 4})
    csv_path = make_csv(tmp_path / "data" / "labels.csv", folder=tmp_path / "data" / "images")
    items = resolve_data(str(csv_path), valid_pct=0.25)
    assert items.classes == ["x", "y"]
    assert len(items.train) == 6 and len(items.valid) == 2
    assert all(p.is_file() and p.is_absolute() for p, _ in items.train + items.valid)
    assert items.description.startswith("CSV")


def test_csv_with_custom_columns_and_is_valid_split(tmp_path):
    make_image_folder(tmp_path / "images", {"x": 3, "y": 3})
    rows = [(f"images/{c}/{c}_{i}.png", c, int(i == 0)) for c in "xy" for i in range(3)]
    csv_path = make_csv(tmp_path / "t.csv", rows, columns=("file", "kind", "is_valid"))
    items = resolve_data(csv_path, path_col="file", label_col="kind")
    assert len(items.valid) == 2 and len(items.train) == 4
    assert all(p.name.endswith("_0.png") for p, _ in items.valid)


def test_numeric_labels_sort_by_value(tmp_path):
    for i in range(6):
        make_image(tmp_path / f"{i}.png", seed=i)
    rows = [(f"{i}.png", [2, 10, 2, 10, 1, 1][i]) for i in range(6)]
    items = resolve_data(make_csv(tmp_path / "t.csv", rows), valid_pct=0)
    assert items.classes == ["1", "2", "10"]


def test_dataframe_paths_are_relative_to_the_cwd(tmp_path, monkeypatch):
    make_image_folder(tmp_path / "imgs", {"x": 3, "y": 3})
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame([{"path": f"imgs/{c}/{c}_{i}.png", "label": c} for c in "xy" for i in range(3)])
    items = resolve_data(frame, valid_pct=0)
    assert items.classes == ["x", "y"] and len(items.train) == 6
    assert all(p.is_absolute() and p.is_file() for p, _ in items.train)


# ----------------------------------------------------------------------------- strings & variables
def test_sample_keyword(tmp_path, monkeypatch):
    fake = make_image_folder(tmp_path / "digits", {"0": 3, "1": 3})
    monkeypatch.setattr(sources_module, "sample", lambda: fake)
    items = resolve_data("sample")
    assert items.classes == ["0", "1"] and "sample" in items.description


def test_variable_name_in_namespace(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})

    class Holder:
        folder = root

    items = resolve_data("my_data", namespace={"my_data": str(root)})
    assert items.classes == ["a", "b"]
    assert resolve_data("holder.folder", namespace={"holder": Holder}).classes == ["a", "b"]


def test_existing_path_wins_over_variable(tmp_path, monkeypatch):
    make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    monkeypatch.chdir(tmp_path)
    assert resolve_data("d", namespace={"d": 42}).classes == ["a", "b"]


# ----------------------------------------------------------------------------- torch Dataset
def tensor_dataset(labels: list[int], size: int = 8) -> TensorDataset:
    return TensorDataset(torch.rand(len(labels), 3, size, size), torch.tensor(labels))


def test_torch_dataset_is_split_and_classes_are_sorted_labels(tmp_path):
    source = resolve_data(tensor_dataset([3, 7] * 10), valid_pct=0.2, seed=0)
    assert isinstance(source, DatasetSource)
    assert source.classes == ["3", "7"]
    assert len(source.train) == 16 and len(source.valid) == 4
    image, label = source.train[0]
    assert image.shape == (3, 8, 8) and label in (0, 1)  # labels mapped to class indices
    assert {source.train[i][1] for i in range(16)} == {0, 1}


def test_torch_dataset_split_is_seeded():
    data = tensor_dataset([0, 1] * 10)
    first, again = resolve_data(data, seed=3), resolve_data(data, seed=3)
    assert list(first.valid.dataset.indices) == list(again.valid.dataset.indices)


class NamedDataset(Dataset):
    """Items with string labels and a classes attribute that does not apply to them."""

    classes = ["unused"]

    def __init__(self) -> None:
        self.items = [(torch.rand(3, 6, 6), name) for name in ["zebra", "ant", "zebra", "ant", "moth", "moth"]]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_dataset_with_string_labels_maps_them_to_indices():
    source = resolve_data(NamedDataset(), valid_pct=0)
    assert source.classes == ["ant", "moth", "zebra"]
    assert [source.train[i][1] for i in range(len(source.train))]


def test_dataset_classes_attribute_is_used_for_int_labels():
    data = tensor_dataset([0, 1, 2, 0, 1, 2])
    data.classes = ["red", "green", "blue"]
    assert resolve_data(data).classes == ["red", "green", "blue"]


def test_train_valid_pair_and_dataloader_are_accepted():
    train, valid = tensor_dataset([0, 1] * 4), tensor_dataset([0, 1])
    pair = resolve_data((train, valid))
    assert len(pair.train) == 8 and len(pair.valid) == 2
    from_loader = resolve_data(DataLoader(train, batch_size=2), valid_pct=0.25)
    assert len(from_loader.train) == 6 and len(from_loader.valid) == 2


# ----------------------------------------------------------------------------- errors
def raises(match: str):
    return pytest.raises(UserInputError, match=match)


def test_error_path_does_not_exist(tmp_path):
    with raises("does not exist"):
        resolve_data(tmp_path / "nope")
    with raises("does not exist"):
        resolve_data(str(tmp_path / "nope" / "x"), namespace={})


def test_error_a_misspelt_path_suggests_the_existing_one(tmp_path, monkeypatch):
    make_image_folder(tmp_path / "data" / "pets", {"cat": 2, "dog": 2})
    monkeypatch.chdir(tmp_path)
    with raises(r"The path data/pest does not exist \(did you mean data/pets\?\): check the spelling"):
        resolve_data("data/pest")
    with raises(r"\(did you mean data/pets/cat\?\)"):
        resolve_data("dta/pets/cot")                  # every misspelt part is corrected
    with raises(r"The path data/zebra does not exist: check"):
        resolve_data("data/zebra")                    # nothing alike: no guess
    with raises(r"The path data/pest/bird does not exist: check"):
        resolve_data("data/pest/bird")                # a guess is only offered when it exists


def test_error_a_misspelt_variable_or_sample_suggests_it():
    namespace = {"pets_df": object(), "get_ipython": print, "In": []}
    with raises(r"'pets_fd' is neither an existing path nor a variable in the notebook \(did you mean pets_df\?\)"):
        resolve_data("pets_fd", namespace=namespace)
    with raises(r"'smaple' .* \(did you mean \"sample\"\?\)"):
        resolve_data("smaple", namespace=namespace)


def test_error_folder_with_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with raises("No images found"):
        resolve_data(tmp_path / "empty")


def test_error_images_but_no_class_folders(tmp_path):
    make_image(tmp_path / "flat" / "a.png")
    with raises("no class sub-folders"):
        resolve_data(tmp_path / "flat")


def test_error_only_images_to_label(tmp_path):
    make_image(tmp_path / "new" / "unlabelled" / "a.png")
    with raises(r"no class folders yet, only images to label in .*unlabelled: label some with %label"):
        resolve_data(tmp_path / "new")


def test_error_only_one_class(tmp_path):
    with raises("only one class"):
        resolve_data(make_image_folder(tmp_path / "d", {"cat": 4}))


def test_error_class_folder_with_no_images(tmp_path):
    root = make_image_folder(tmp_path / "d", {"cat": 3, "dog": 0})
    with raises(r"class folder .*dog has no images"):
        resolve_data(root)


def test_error_class_without_training_images_in_split_layout(tmp_path):
    root = make_split_folder(tmp_path / "d", train={"cat": 3, "dog": 3}, valid={"cat": 1, "dog": 1, "eel": 1})
    with raises("'eel' has no images"):
        resolve_data(root)


def test_error_csv_missing_columns_names_the_existing_ones(tmp_path):
    csv_path = make_csv(tmp_path / "t.csv", [("a.png", "x")], columns=("file", "kind"))
    with raises(r"no column 'path' \(its columns are file, kind\)"):
        resolve_data(csv_path)


def test_error_csv_pointing_to_missing_files_says_how_many_and_the_first(tmp_path):
    make_image(tmp_path / "a.png")
    csv_path = make_csv(tmp_path / "t.csv", [("a.png", "x"), ("gone1.png", "y"), ("gone2.png", "y")])
    with raises(r"2 of the 3 files .* do not exist \(first: .*gone1\.png\)"):
        resolve_data(csv_path)


def test_error_dataframe_pointing_to_missing_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with raises("1 of the 1 files listed in the DataFrame do not exist"):
        resolve_data(pd.DataFrame({"path": ["missing.png"], "label": ["x"]}))


def test_error_regex_matching_nothing_shows_an_example_name(tmp_path):
    root = make_named_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, fmt="png")
    with raises(r"matches none of the 4 file names .*for example 'cat_1\.png'"):
        resolve_data(root, label_re=r"^(.*)_\d+\.jpg$")


def test_error_regex_without_group_or_invalid(tmp_path):
    root = make_named_folder(tmp_path / "pets")
    with raises("has no group"):
        resolve_data(root, label_re=r".*\.jpg")
    with raises("not a valid regular expression"):
        resolve_data(root, label_re=r"(unclosed")


def test_error_unsupported_type_names_the_type_and_lists_what_works():
    with raises(r"Data of type int, which is not supported.*a folder with one sub-folder per class, a \.csv file"):
        resolve_data(42)
    with raises(r"variable 'x' holds a dict"):
        resolve_data("x", namespace={"x": {"a": 1}})


def test_error_string_that_is_neither_path_nor_variable():
    with raises("neither an existing path nor a variable"):
        resolve_data("no_such_thing", namespace={})


def test_error_valid_pct_out_of_range(tmp_path):
    with raises("valid_pct"):
        resolve_data(make_image_folder(tmp_path / "d"), valid_pct=1.5)


def test_error_a_file_that_is_not_a_table(tmp_path):
    with raises("is a file, not a data set"):
        resolve_data(make_image(tmp_path / "one.png"))


def test_error_dataset_of_one_class():
    with raises("only one class"):
        resolve_data(tensor_dataset([5, 5, 5]))

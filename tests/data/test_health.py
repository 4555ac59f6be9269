"""check_health on data sets with planted problems: each problem is found, exactly, and nothing else is."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from imagegen import class_color, make_corrupt_file, make_csv, make_image, make_image_folder
from PIL import Image
from torch.utils.data import TensorDataset

from jupyter_dl.data import health as health_module
from jupyter_dl.data.catalog import Catalog, build_catalog
from jupyter_dl.data.health import MIN_SIDE, check_health


def structured(seed: int, size=(96, 72)) -> Image.Image:
    """A smooth colour pattern (like a photo, unlike noise): its hash survives re-encoding."""
    cells = np.random.default_rng(seed).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    return Image.fromarray(cells).resize(size, Image.Resampling.BICUBIC)


def keys_of(catalog: Catalog, *names: str) -> list[int]:
    by_name = {item.path.name: item.key for item in catalog.items}
    return sorted(by_name[name] for name in names)


@pytest.fixture
def planted(tmp_path):
    """A folder data set with one of each problem; returns its root."""
    root = make_image_folder(tmp_path / "pets", {"cat": 12, "dog": 12, "fox": 2}, size=40)
    cat, dog = root / "cat", root / "dog"
    make_corrupt_file(cat / "empty.jpg", "empty")
    make_corrupt_file(cat / "cut.jpg", "truncated")
    make_corrupt_file(dog / "words.jpg", "text")
    shutil.copyfile(cat / "cat_0.png", dog / "copy_of_cat_0.png")              # exact duplicate, other class
    structured(1).save(cat / "photo.jpg", quality=95)
    structured(1).save(dog / "photo_q40.jpg", quality=40)                       # re-encoded
    structured(1).resize((88, 66)).save(cat / "photo_small.jpg", quality=90)    # slightly resized
    structured(2).save(dog / "other_photo.jpg", quality=95)                     # a different photo
    make_image(cat / "tiny.png", size=(MIN_SIDE - 1, 40), color=class_color(0), seed=7)
    make_image(dog / "banner.png", size=(300, 60), color=class_color(1), seed=8)
    (cat / "notes.txt").write_text("not an image")
    return root


def test_every_planted_problem_is_found_exactly(planted):
    catalog = build_catalog(planted)
    report = check_health(catalog, workers=2)
    assert report.unreadable.keys() == set(keys_of(catalog, "empty.jpg", "cut.jpg", "words.jpg"))
    assert report.unreadable[keys_of(catalog, "empty.jpg")[0]] == "empty file (0 bytes)"
    assert report.unreadable[keys_of(catalog, "words.jpg")[0]] == "not a recognised image format"
    assert "damaged" in report.unreadable[keys_of(catalog, "cut.jpg")[0]]
    assert report.non_images == [planted / "cat" / "notes.txt"]
    assert report.exact_duplicates == [keys_of(catalog, "cat_0.png", "copy_of_cat_0.png")]
    assert report.near_duplicates == [keys_of(catalog, "photo.jpg", "photo_q40.jpg", "photo_small.jpg")]
    assert report.small == keys_of(catalog, "tiny.png")
    assert report.extreme_aspect == keys_of(catalog, "banner.png")
    assert report.imbalance == {"fox": 2}
    assert report.sizes[keys_of(catalog, "banner.png")[0]] == (300, 60)
    filters = report.filters()
    assert filters["duplicate"] == set(keys_of(catalog, "cat_0.png", "copy_of_cat_0.png"))
    assert filters["near duplicate"] == set(keys_of(catalog, "photo.jpg", "photo_q40.jpg", "photo_small.jpg"))
    assert report.counts() == {"unreadable": 3, "duplicate": 2, "near duplicate": 3, "small": 1,
                               "extreme aspect": 1, "non-image": 1, "imbalanced": 1}
    assert not report.ok


def test_a_clean_data_set_is_healthy(tmp_path):
    catalog = build_catalog(make_image_folder(tmp_path / "pets", {"cat": 20, "dog": 15}, size=40))
    report = check_health(catalog)
    assert report.ok and report.imbalance is None and report.near_duplicates == []


def test_flat_images_of_different_colours_are_not_near_duplicates(tmp_path):
    root = tmp_path / "flat"
    for i in range(4):  # identical (zero) difference hashes; only the colour differs
        make_image(root / ("a" if i % 2 else "b") / f"{i}.png", size=40, color=class_color(i), noise=0)
    assert check_health(build_catalog(root)).near_duplicates == []


def test_second_check_reads_no_file_and_a_changed_file_is_read_again(planted, monkeypatch):
    catalog = build_catalog(planted)
    calls: list[str] = []
    real = health_module.file_facts
    monkeypatch.setattr(health_module, "file_facts", lambda path: calls.append(Path(path).name) or real(path))
    first = check_health(catalog)
    assert len(calls) == len(catalog.items)
    calls.clear()
    assert check_health(catalog) == first
    assert calls == []
    shutil.copyfile(planted / "cat" / "cat_1.png", planted / "cat" / "cat_2.png")  # now a duplicate too
    again = check_health(catalog)
    assert calls == ["cat_2.png"]
    assert keys_of(catalog, "cat_1.png", "cat_2.png") in again.exact_duplicates


def test_progress_counts_up_to_the_total(planted):
    catalog = build_catalog(planted)
    seen: list[tuple[int, int]] = []
    check_health(catalog, progress=lambda done, total: seen.append((done, total)))
    total = len(catalog.items)
    assert seen[-1] == (total, total) and all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_csv_listing_bad_and_repeated_files(tmp_path):
    make_image(tmp_path / "a.png", size=40, seed=1)
    make_image(tmp_path / "b.png", size=40, seed=2)
    make_image(tmp_path / "c.png", size=40, seed=3)
    make_corrupt_file(tmp_path / "bad.jpg", "truncated")
    (tmp_path / "notes.txt").write_text("hello")
    csv_path = make_csv(tmp_path / "d.csv", [("a.png", "x"), ("b.png", "y"), ("c.png", "y"), ("a.png", "y"),
                                             ("bad.jpg", "x"), ("notes.txt", "x")])
    catalog = build_catalog(csv_path)
    report = check_health(catalog)
    by_row = {item.row: item.key for item in catalog.items}
    assert report.exact_duplicates == [sorted([by_row[0], by_row[3]])]  # one file listed twice
    assert report.unreadable.keys() == {by_row[4], by_row[5]}
    assert report.non_images == [tmp_path / "notes.txt"]


def test_dataframe_catalog(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_image(tmp_path / "a.png", size=40, seed=1)
    shutil.copyfile(tmp_path / "a.png", tmp_path / "b.png")
    make_image(tmp_path / "c.png", size=(20, 40), seed=3)
    table = pd.DataFrame({"path": ["a.png", "b.png", "c.png"], "label": ["x", "y", "y"]})
    catalog = build_catalog(table, valid_pct=0)
    report = check_health(catalog)
    assert report.exact_duplicates == [keys_of(catalog, "a.png", "b.png")]
    assert report.small == keys_of(catalog, "c.png")


def test_torch_dataset_items_are_checked_in_memory():
    pixels = torch.rand(8, 3, 40, 40)
    pixels[5] = pixels[2]     # an exact duplicate
    pixels[6] = -pixels[6]    # negative values: no image, %finetune refuses it too
    train = TensorDataset(pixels, torch.tensor([0, 1] * 4))
    valid = TensorDataset(torch.rand(2, 3, 40, 40), torch.tensor([0, 1]))
    catalog = build_catalog((train, valid))
    report = check_health(catalog)
    assert report.unreadable.keys() == {6} and "pixel values" in report.unreadable[6]
    assert report.exact_duplicates == [[2, 5]]
    assert report.non_images == [] and report.sizes[0] == (40, 40)


def test_fastai_dataloaders_with_files(tmp_path):
    vision = pytest.importorskip("fastai.vision.all")
    root = make_image_folder(tmp_path / "pets", {"cat": 6, "dog": 6}, size=40)
    shutil.copyfile(root / "cat" / "cat_0.png", root / "cat" / "cat_copy.png")
    dls = vision.ImageDataLoaders.from_folder(root, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16),
                                              bs=4, num_workers=0, device="cpu")
    catalog = build_catalog(dls)
    report = check_health(catalog)
    assert report.exact_duplicates == [keys_of(catalog, "cat_0.png", "cat_copy.png")]


def test_sizes_are_as_shown_for_photos_stored_sideways(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, size=40)
    image = Image.new("RGB", (300, 60), (10, 200, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° to show": phone cameras store portraits like this
    image.save(root / "cat" / "sideways.jpg", exif=exif)
    catalog = build_catalog(root)
    report = check_health(catalog)
    key = keys_of(catalog, "sideways.jpg")[0]
    assert report.sizes[key] == (60, 300) and report.extreme_aspect == [key]


def test_a_palette_image_with_transparency_checks_quietly(tmp_path):
    """PIL warns when such an image is converted to RGB directly; the health check (a background thread
    under %browse) printed that warning into the cell. Checked and hashed now without a word."""
    import warnings

    from PIL import Image

    root = make_image_folder(tmp_path / "pets", classes={"cat": 3, "dog": 3}, size=32)
    icon = Image.new("P", (32, 32))
    icon.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    icon.paste(1, (8, 8, 24, 24))
    icon.paste(2, (0, 0, 8, 8))
    # partial alpha on several palette entries: PIL keeps it as bytes, the case it warns about
    icon.save(root / "cat" / "icon.png", transparency=bytes([0, 128, 64] + [255] * 253))
    assert isinstance(Image.open(root / "cat" / "icon.png").info["transparency"], bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_health(build_catalog(root))
    assert report.counts().get("unreadable", 0) == 0

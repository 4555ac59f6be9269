"""Thumbnails: right size and aspect, made once (disk + memory cache), remade when the file changes, never raise."""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from imagegen import class_color, make_corrupt_file, make_image, make_image_folder
from PIL import Image
from torch.utils.data import TensorDataset

from jupyter_dl.data import thumbnails as thumbs
from jupyter_dl.data.catalog import build_catalog


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(tmp_path / "cache"))
    thumbs.clear_memory()
    yield
    thumbs.clear_memory()


@pytest.fixture
def decodes(monkeypatch):
    """Names of the files decoded for a thumbnail, in order."""
    seen: list[str] = []
    lock = threading.Lock()
    real = thumbs.decode_file

    def counting(path, **options):
        with lock:
            seen.append(Path(path).name)
        return real(path, **options)

    monkeypatch.setattr(thumbs, "decode_file", counting)
    return seen


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


def test_longest_side_is_the_size_and_the_aspect_is_kept(tmp_path):
    root = tmp_path / "d"
    make_image(root / "a" / "wide.jpg", size=(400, 100), color=class_color(0))
    make_image(root / "b" / "tall.png", size=(60, 240), color=class_color(1))
    make_image(root / "b" / "little.png", size=(20, 10), color=class_color(2))
    catalog = build_catalog(root, valid_pct=0)
    made = thumbs.thumbnails(catalog, catalog.items, 128)
    sizes = {item.path.name: picture(data).size for item, data in zip(catalog.items, made)}
    assert sizes == {"wide.jpg": (128, 32), "tall.png": (32, 128), "little.png": (20, 10)}  # never enlarged
    colour = np.asarray(picture(thumbs.thumbnail(catalog, 0, 64))).reshape(-1, 3).mean(axis=0)
    assert np.abs(colour - class_color(0)).max() < 12  # the image's own colours


def test_second_call_decodes_nothing_and_survives_a_new_session(tmp_path, decodes):
    catalog = build_catalog(make_image_folder(tmp_path / "pets", {"cat": 5, "dog": 5}, size=50, fmt="jpg"))
    first = thumbs.thumbnails(catalog, catalog.items, 96, workers=3)
    assert sorted(decodes) == sorted(item.path.name for item in catalog.items)
    decodes.clear()
    assert thumbs.thumbnails(catalog, catalog.items, 96) == first  # memory
    thumbs.clear_memory()
    assert thumbs.thumbnails(catalog, list(range(len(catalog.items))), 96) == first  # disk, by keys
    assert decodes == []
    thumbs.thumbnails(catalog, catalog.items[:2], 48)  # another size is another thumbnail
    assert len(decodes) == 2


def test_a_changed_file_gets_a_new_thumbnail(tmp_path, decodes):
    root = tmp_path / "d"
    path = make_image(root / "a" / "x.png", size=40, color=(250, 0, 0), noise=0)
    make_image(root / "b" / "y.png", size=40)
    catalog = build_catalog(root, valid_pct=0)
    item = next(item for item in catalog.items if item.path == path)
    red = picture(thumbs.thumbnail(catalog, item, 32))
    make_image(path, size=40, color=(0, 0, 250), noise=0)  # same name, same byte size, new content
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # mtime moves on even on coarse clocks
    blue = picture(thumbs.thumbnail(catalog, item, 32))
    assert np.asarray(red)[16, 16, 0] > 200 and np.asarray(blue)[16, 16, 2] > 200
    assert decodes == ["x.png", "x.png"]


def test_broken_and_missing_files_give_the_placeholder(tmp_path):
    root = make_image_folder(tmp_path / "pets", {"cat": 2, "dog": 2}, size=30)
    for kind in ("empty", "truncated", "text"):
        make_corrupt_file(root / "cat" / f"{kind}.jpg", kind)
    catalog = build_catalog(root, valid_pct=0)
    gone = next(item for item in catalog.items if item.path.name == "dog_0.png")
    gone.path.unlink()
    results = dict(zip((item.path.name for item in catalog.items), thumbs.thumbnails(catalog, catalog.items, 64)))
    placeholder = thumbs.placeholder(64)
    assert {name for name, data in results.items() if data == placeholder} == {
        "empty.jpg", "truncated.jpg", "text.jpg", "dog_0.png"}
    grey = np.asarray(picture(placeholder)).astype(int)
    assert grey.shape == (64, 64, 3)
    assert np.abs(grey[5, 32] - thumbs.PLACEHOLDER_GREY).max() < 10  # grey ...
    assert grey[32, 32].max() < 150  # ... with a dark cross through the middle


def test_dataset_items_are_thumbnailed_from_memory(tmp_path):
    pixels = torch.zeros(4, 3, 20, 40)
    pixels[:, 1] = 1.0  # green
    catalog = build_catalog((TensorDataset(pixels, torch.tensor([0, 1, 0, 1])),
                             TensorDataset(pixels[:2], torch.tensor([0, 1]))))
    data = thumbs.thumbnails(catalog, catalog.items, 16)
    image = picture(data[0])
    assert image.size == (16, 8) and np.asarray(image)[4, 8, 1] > 240
    assert not (tmp_path / "cache" / "thumbs").exists() or not any((tmp_path / "cache" / "thumbs").rglob("*.jpg"))


def test_prefetch_fills_the_cache_in_the_background(tmp_path, decodes):
    catalog = build_catalog(make_image_folder(tmp_path / "pets", {"cat": 6, "dog": 6}, size=40, fmt="jpg"))
    assert thumbs.prefetch(catalog, catalog.items[6:], 64).result(timeout=30) == 6
    decodes.clear()
    thumbs.thumbnails(catalog, catalog.items[6:], 64)
    assert decodes == []


def test_disk_entries_are_whole_files(tmp_path):
    catalog = build_catalog(make_image_folder(tmp_path / "pets", {"cat": 3, "dog": 3}, size=40))
    thumbs.thumbnails(catalog, catalog.items, 64)
    files = list(thumbs.thumbnail_folder(64).rglob("*"))
    jpgs = [f for f in files if f.is_file()]
    assert len(jpgs) == 6 and all(f.suffix == ".jpg" for f in jpgs)  # no temp files left behind
    assert all(picture(f.read_bytes()).size == (40, 40) for f in jpgs)

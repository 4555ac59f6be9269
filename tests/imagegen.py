"""Small generated image data sets for tests (plain functions, reusable by any test module).

Every class gets its own base colour plus a little seeded noise, so a model can
learn the classes and two files never hold identical bytes.
"""
from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

# Distinct, saturated base colours; class i uses CLASS_COLORS[i % len].
CLASS_COLORS = [(220, 40, 40), (40, 200, 60), (50, 70, 230), (230, 210, 40), (200, 60, 200),
                (40, 210, 210), (250, 140, 20), (120, 120, 120), (20, 20, 20), (240, 240, 240)]


def class_color(index: int) -> tuple[int, int, int]:
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def make_image(path: str | Path, size: int | tuple[int, int] = 24, color: Sequence[int] | None = None,
               fmt: str | None = None, noise: int = 12, seed: int = 0, mode: str = "RGB") -> Path:
    """Write one image: ``color`` (RGB) plus uniform noise of +-``noise``; size is an int or (width, height).

    ``fmt`` defaults to the file's extension; ``mode`` ("RGB", "L", "RGBA", "P") sets the stored mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    base = np.array(color if color is not None else rng.integers(0, 256, 3), dtype=np.int16)
    jitter = rng.integers(-noise, noise + 1, (height, width, 3)) if noise else np.zeros((height, width, 3), np.int16)
    pixels = np.clip(base + jitter, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    if mode != "RGB":
        image = image.convert(mode)
    image.save(path, format=_pil_format(fmt or path.suffix.lstrip(".")))
    return path


def make_constant_image(path: str | Path, color: Sequence[int], size: int | tuple[int, int] = 24,
                        fmt: str | None = None) -> Path:
    """An image where every pixel is exactly ``color`` (use a lossless format such as png)."""
    return make_image(path, size=size, color=color, fmt=fmt, noise=0)


def make_image_folder(root: str | Path, classes: dict[str, int] | None = None, size: int | tuple[int, int] = 24,
                      fmt: str = "png", seed: int = 0) -> Path:
    """Folder-per-class layout ``root/<class>/<class>_<i>.<fmt>``; returns root."""
    root = Path(root)
    classes = {"cat": 6, "dog": 6} if classes is None else classes
    for class_index, (name, count) in enumerate(classes.items()):
        for i in range(count):
            make_image(root / name / f"{name}_{i}.{fmt}", size=size, color=class_color(class_index),
                       seed=seed * 100_003 + class_index * 1000 + i)
        (root / name).mkdir(parents=True, exist_ok=True)  # a class with 0 images is an empty folder
    return root


def make_split_folder(root: str | Path, train: dict[str, int] | None = None, valid: dict[str, int] | None = None,
                      valid_name: str = "valid", size: int = 24, fmt: str = "png") -> Path:
    """``root/train/<class>/...`` and ``root/<valid_name>/<class>/...``; returns root."""
    root = Path(root)
    make_image_folder(root / "train", train or {"cat": 4, "dog": 4}, size=size, fmt=fmt, seed=1)
    make_image_folder(root / valid_name, valid or {"cat": 2, "dog": 2}, size=size, fmt=fmt, seed=2)
    return root


def make_named_folder(root: str | Path, classes: dict[str, int] | None = None, size: int = 24,
                      fmt: str = "jpg") -> Path:
    """Flat folder labelled by file name, fastai pets style: ``root/<class>_<i>.<fmt>``; returns root."""
    root = Path(root)
    classes = {"Abyssinian": 5, "beagle": 5} if classes is None else classes
    for class_index, (name, count) in enumerate(classes.items()):
        for i in range(count):
            make_image(root / f"{name}_{i + 1}.{fmt}", size=size, color=class_color(class_index),
                       seed=class_index * 1000 + i)
    return root


def image_rows(folder: str | Path, relative_to: str | Path | None = None) -> list[tuple[str, str]]:
    """(path, label) rows for every image in a folder-per-class layout, label = parent folder name."""
    folder = Path(folder)
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        shown = path.relative_to(relative_to) if relative_to is not None else path
        rows.append((str(shown), path.parent.name))
    return rows


def make_csv(csv_path: str | Path, rows: Iterable[Sequence] | None = None, *, folder: str | Path | None = None,
             columns: Sequence[str] = ("path", "label")) -> Path:
    """Write a CSV of ``rows`` under ``columns``; with ``folder`` (and no rows) list its images relative to the CSV."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    if rows is None:
        if folder is None:
            raise ValueError("make_csv needs rows or folder")
        rows = image_rows(folder, relative_to=csv_path.parent)
    with open(csv_path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows(rows)
    return csv_path


def make_corrupt_file(path: str | Path, kind: str = "random", seed: int = 0) -> Path:
    """A file with an image name that is no readable image.

    kind: "random" (random bytes), "truncated" (a real image cut in half; format from the
    extension), "empty" (0 bytes), "text" (plain text).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "random":
        path.write_bytes(random.Random(seed).randbytes(2048))
    elif kind == "truncated":
        make_image(path, size=64, seed=seed, noise=60)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image\n")
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return path


def _pil_format(extension: str) -> str:
    extension = extension.lower()
    return {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}.get(extension, extension.upper())


ZOO_COLOURS = {"cat": (220, 40, 40), "dog": (40, 200, 60), "fox": (50, 70, 230)}


def make_colour_zoo(root: Path, size: int = 16) -> Path:
    """train/ + valid/ of red cats, green dogs, blue foxes (3 each); in valid/ three planted
    mistakes for a colour-reading model: two red images filed as dog, one green one as fox."""
    for name, colour in ZOO_COLOURS.items():
        for i in range(3):
            make_image(root / "train" / name / f"{name}{i}.png", size=size, color=colour, seed=i)
            make_image(root / "valid" / name / f"{name}{i}.png", size=size, color=colour, seed=10 + i)
    make_image(root / "valid" / "dog" / "red_a.png", size=size, color=ZOO_COLOURS["cat"], seed=20)
    make_image(root / "valid" / "dog" / "red_b.png", size=size, color=ZOO_COLOURS["cat"], seed=21)
    make_image(root / "valid" / "fox" / "green_a.png", size=size, color=ZOO_COLOURS["dog"], seed=22)
    return root


def make_table_pool(root: Path, text: str, names: str = "abcde") -> Path:
    """``root/tab/data.csv`` holding ``text`` (written byte for byte) beside images ``root/tab/imgs/<name>.png``."""
    for i, name in enumerate(names):
        make_image(root / "tab" / "imgs" / f"{name}.png", size=8, seed=i)
    path = root / "tab" / "data.csv"
    path.write_bytes(text.encode())
    return path

"""The embedded sample data set: scikit-learn's handwritten digits as a folder of PNG files.

load_digits ships inside scikit-learn (no download): 1797 8x8 grey images of
the digits 0..9. They are written once, upscaled to 32x32, one folder per class,
so the sample goes through exactly the same path as a user's own folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..paths import cache_dir

SAMPLE_NAME = "digits"
SAMPLE_SIZE = 32


def sample(root: Path | None = None) -> Path:
    """Return the folder ``<root>/digits`` (default root: cache_dir("sample")), writing it on first use."""
    root = Path(root) if root is not None else cache_dir("sample")
    target = root / SAMPLE_NAME
    if target.is_dir():  # only ever created by an atomic rename of a complete folder
        return target
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{SAMPLE_NAME}-", dir=root))
    try:
        _write_digits(staging)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():  # not a lost race with another process: a real failure
            raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _remove_stale_staging(root: Path, max_age_s: float = 3600.0) -> None:
    """Delete half-written folders left by a killed process (a live writer's is younger)."""
    import time

    for leftover in root.glob(f".{SAMPLE_NAME}-*"):
        try:
            if time.time() - leftover.stat().st_mtime > max_age_s:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass


def _write_digits(folder: Path) -> None:
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * (255.0 / 16.0)).round().clip(0, 255).astype(np.uint8)
    for label in range(10):
        (folder / str(label)).mkdir()
    for index, (image, label) in enumerate(zip(pixels, digits.target)):
        big = Image.fromarray(image).resize((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.BILINEAR)
        big.save(folder / str(int(label)) / f"{index}.png")

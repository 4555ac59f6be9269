"""Pools to label for the %label tests: a data folder whose images wait in DATA/unlabelled (plain functions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from imagegen import class_color, make_image

COLOURS = ("red", "green", "blue")


def make_pool_folder(root: Path, per_class: int = 12, colours: tuple[str, ...] = COLOURS, size: int = 20) -> Path:
    """``root/data`` with no class folder yet and ``per_class`` images of each colour in data/unlabelled,
    named ``<colour>_<i>.png`` (the truth a test can read back from the name)."""
    data = root / "data"
    for c, colour in enumerate(colours):
        for i in range(per_class):
            make_image(data / "unlabelled" / f"{colour}_{i}.png", size=size, color=class_color(c), seed=c * 1000 + i)
    return data


def truth(path: Path) -> str:
    """The colour an image was made with (from its name; a moved file keeps its stem's prefix)."""
    return path.name.split("_")[0]


def colour_vectors(pool, noise: float = 0.25, seed: int = 0) -> dict[int, np.ndarray]:
    """One embedding per pool item, clustered by the colour in its name (stands in for the model's body)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8, dtype=np.float32)
    names = sorted({truth(item.path) for item in pool.items})
    vectors = {}
    for item in pool.items:
        vector = centres[names.index(truth(item.path))] + noise * rng.normal(size=8).astype(np.float32)
        vectors[item.key] = vector / np.linalg.norm(vector)
    return vectors


def tree(folder: Path) -> dict[str, bytes]:
    """Every data file under ``folder`` (relative POSIX path -> bytes), for byte-identical comparisons; the
    hidden logs and trash (which an undo adds to) are left out."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files
            if not any(part.startswith(".") for part in p.relative_to(folder).parts)}

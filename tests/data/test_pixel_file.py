"""The decode cache's file on disk for data larger than memory: rows written and read without holding the
set in this process (RSS), batches equal to the decoded pixels, many readers at once, full disks and
interrupted builds."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from imagegen import make_constant_image, make_corrupt_file

import jupyter_dl
from jupyter_dl.data import BatchTransform, build_image_cache
from jupyter_dl.data import cache as cache_module
from jupyter_dl.data.loaders import CachedImageLoader
from jupyter_dl.data.pixel_file import PixelRows, rows_on_disk

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"),
                                reason="needs Linux's /proc (peak RSS that can be reset)")
needs_preadv = pytest.mark.skipif(not hasattr(os, "preadv"), reason="rows are read with os.preadv")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(tmp_path / "cache"))


def numbered_items(folder: Path, n: int, side: int = 8) -> list[tuple[Path, int]]:
    """``n`` constant-colour PNGs whose (red, green) encode their number; labels alternate."""
    return [(make_constant_image(folder / f"{i:04d}.png", color=(i % 256, i // 256, 7), size=side), i % 2)
            for i in range(n)]


def numbers(pixels: torch.Tensor) -> list[int]:
    """Image numbers of uint8 rows of numbered images."""
    return [int(r) + 256 * int(g) for r, g in zip(pixels[:, 0, 0, 0], pixels[:, 1, 0, 0])]


def cache_files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "cache" / "images"
    return sorted(os.listdir(folder)) if folder.exists() else []


# ----------------------------------------------------------------------------- memory
def peak_growth(step):
    """(step's result, bytes by which this process's peak RSS rose above its RSS before the step).

    VmHWM counts a mapping's resident file pages too: what a "memory" column and the OOM killer see."""
    def kb(key: str) -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak starts again from the current RSS
    before = kb("VmRSS")
    result = step()
    return result, (kb("VmHWM") - before) * 1024


class RowSums:
    """A stand-in for BatchTransform that costs nothing: what is measured is the gathering of the rows."""

    device = torch.device("cpu")

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels[:, :, :2, :2].sum(dim=(1, 2, 3))


def one_epoch(loader: CachedImageLoader) -> list[int]:
    return [int(s) for x, _ in loader for s in x]


@needs_proc
@needs_preadv
def test_building_and_training_never_hold_the_set_in_memory(tmp_path):
    # 1500 rows of 3 x 128 x 128 = 74 MB of pixels (300 files, each 5 times). Decoding them into a tensor in
    # RAM, or training from the file's mapping (the pages it touches stay resident in the process), grows the
    # peak RSS by about that.
    items = numbered_items(tmp_path / "imgs", 300) * 5
    total = 1500 * 3 * 128 * 128
    (pixels, labels, _), build = peak_growth(lambda: build_image_cache(items, 128, 2))
    assert build < total / 4, build
    assert [name.rsplit(".", 1)[1] for name in cache_files(tmp_path)] == ["json", "npy"]

    loader = CachedImageLoader(pixels, labels, bs=32, transform=RowSums(), shuffle=True, drop_last=False)  # type: ignore[arg-type]
    one_epoch(loader)  # the first run of this code loads pages of torch's libraries (they count in RSS too)
    sums, train = peak_growth(lambda: one_epoch(loader))
    assert train < total / 4, train
    # The measurement sees a mapping's pages: the same epoch through the mapping grows the peak by most of it.
    loader._disk = None
    mapped_sums, mapped = peak_growth(lambda: one_epoch(loader))
    assert mapped > total / 2, mapped
    assert sorted(sums) == sorted(mapped_sums) == sorted(int(s) for s in RowSums()(pixels))


CHILD = r"""
import json, sys
from jupyter_dl.data import BatchTransform, build_image_cache
from jupyter_dl.data import cache as cache_module
from jupyter_dl.data.loaders import CachedImageLoader

decoded = []
cache_module.decode_file = lambda path, size: decoded.append(path)
items = json.loads(sys.argv[1])
pixels, labels, _ = build_image_cache([(path, label) for path, label in items], int(sys.argv[2]))
loader = CachedImageLoader(pixels, labels, bs=8, transform=BatchTransform(), shuffle=True, drop_last=False)
print(json.dumps({"decoded": len(decoded), "sums": [float(x.sum()) for x, _ in loader]}))
"""


@needs_preadv
def test_several_processes_read_one_cache_at_once(tmp_path):
    # DDP ranks: another process opens the same entry (no decoding) and reads its rows while this one does.
    items = numbered_items(tmp_path / "imgs", 60)
    pixels, labels, _ = build_image_cache(items, 32)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(jupyter_dl.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps([(str(p), y) for p, y in items]), "32"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        loader = CachedImageLoader(pixels, labels, bs=8, transform=BatchTransform(), shuffle=True, drop_last=False)
        sums = [[float(x.sum()) for x, _ in loader] for _ in range(20)]
    finally:
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["decoded"] == 0 and result["sums"] == sums[0]   # the same seeded batches, the same pixels


# ----------------------------------------------------------------------------- what batches read
@needs_preadv
def test_training_batches_read_from_the_file_equal_the_decoded_pixels(tmp_path):
    items = numbered_items(tmp_path / "imgs", 50)
    pixels, labels, _ = build_image_cache(items, 8)
    assert rows_on_disk(pixels) is not None and rows_on_disk(pixels[10:20])[1] == 10
    in_ram = pixels.clone()
    assert rows_on_disk(in_ram) is None and rows_on_disk(pixels[:, :, :4]) is None   # not whole rows of the file
    transform = BatchTransform(augment="none")
    for shuffle in (True, False):
        loader = CachedImageLoader(pixels, labels, bs=16, transform=transform, shuffle=shuffle, drop_last=False)
        same = CachedImageLoader(in_ram, labels, bs=16, transform=transform, shuffle=shuffle, drop_last=False)
        for (x, y), (x_ram, y_ram) in zip(loader, same):
            assert torch.equal(x, x_ram) and torch.equal(y, y_ram)
        assert len(list(loader)) == 4
    block = CachedImageLoader(pixels[10:30], labels[10:30], bs=8, transform=transform, shuffle=False,
                              drop_last=False)
    assert torch.equal(torch.cat([x for x, _ in block]), transform(in_ram[10:30]))
    assert numbers(pixels) == list(range(50))   # rows in item order


@needs_preadv
def test_rows_come_back_in_the_order_asked_with_runs_read_at_once(tmp_path):
    pixels, _, _ = build_image_cache(numbered_items(tmp_path / "imgs", 30), 4)
    with PixelRows.open(Path(tmp_path / "cache" / "images").glob("*.npy").__next__()) as rows:
        order = [5, 6, 7, 0, 29, 28, 3, 4]
        out = torch.empty((len(order), 3, 4, 4), dtype=torch.uint8)
        assert numbers(rows.read_rows(order, out)) == order
        with pytest.raises(IndexError):
            rows.read_rows([30], out[:1])


def test_rows_reused_from_another_entry_are_copied_from_its_file(tmp_path, monkeypatch):
    items = numbered_items(tmp_path / "imgs", 40)
    build_image_cache(items, 8)
    decoded = []
    monkeypatch.setattr(cache_module, "decode_file", lambda path, size: decoded.append(path))
    monkeypatch.setattr(cache_module, "COPY_ROWS", 7)   # several blocks
    subset = items[::-3]                                # another split: rows in another order
    pixels, labels, _ = build_image_cache(subset, 8)
    assert decoded == [] and numbers(pixels) == [int(path.stem) for path, _ in subset]
    assert labels.tolist() == [label for _, label in subset]


# ----------------------------------------------------------------------------- failures
def test_a_disk_that_fills_up_while_rows_are_written_costs_one_warning(tmp_path, monkeypatch):
    # The space was reserved (or could not be: some file systems), yet writing fails part-way: the rows
    # go on in RAM, training works, one warning says the cache was not kept, and no file is left behind.
    items = numbered_items(tmp_path / "imgs", 30)
    written = []
    real_pwrite = os.pwrite

    def filling_up(fd, data, position):
        if len(written) >= 10:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(position)
        return real_pwrite(fd, data, position)

    def no_room(file, array):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", filling_up)
    monkeypatch.setattr(np, "save", no_room)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pixels, labels, skipped = build_image_cache(items, 8, 2)
    [message] = [str(w.message) for w in caught if "jupyter_dl" in str(w.message)]
    assert "could not write the image cache" in message and "No space left" in message
    assert numbers(pixels) == list(range(30)) and not skipped and len(labels) == 30
    assert cache_files(tmp_path) == []
    loader = CachedImageLoader(pixels, labels, bs=8, transform=BatchTransform(), shuffle=True, drop_last=True)
    assert len(list(loader)) == 3


def test_an_interrupted_build_leaves_nothing_that_is_read_later(tmp_path, monkeypatch):
    items = numbered_items(tmp_path / "imgs", 20)
    original = cache_module.decode_file
    calls = []

    def interrupted(path, size):
        calls.append(path)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return original(path, size)

    monkeypatch.setattr(cache_module, "decode_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_image_cache(items, 8)
    assert cache_files(tmp_path) == []          # the half-written file is gone, no entry marks it complete
    monkeypatch.setattr(cache_module, "decode_file", original)
    pixels, _, _ = build_image_cache(items, 8)
    assert numbers(pixels) == list(range(20))


def test_files_a_killed_build_left_are_never_read_and_are_pruned(tmp_path, monkeypatch):
    # A killed process leaves its temp file (and, between the rename and the JSON, a .npy without a JSON):
    # neither is an entry, and both go once they are old.
    items = numbered_items(tmp_path / "imgs", 10)
    build_image_cache(items, 8)
    folder = tmp_path / "cache" / "images"
    [npy] = folder.glob("*.npy")
    (folder / f".{npy.name}.abc.tmp").write_bytes(b"half")
    orphan = folder / ("8px-" + "0" * 32 + ".npy")
    orphan.write_bytes(npy.read_bytes())
    [meta] = folder.glob("*.json")
    meta.unlink()                                 # the entry is no longer complete
    decoded = []
    monkeypatch.setattr(cache_module, "decode_file", lambda path, size: decoded.append(path) or
                        torch.zeros((3, 8, 8), dtype=torch.uint8))
    old = time.time() - 2 * cache_module.STALE_TEMP_S
    for path in folder.iterdir():
        os.utime(path, (old, old))
    pixels, _, _ = build_image_cache(items, 8)
    assert len(decoded) == 10 and int(pixels.sum()) == 0      # decoded again, not read from the files left
    assert sorted(name.rsplit(".", 1)[1] for name in os.listdir(folder)) == ["json", "npy"]


def test_without_preadv_and_pwrite_the_cache_still_works(tmp_path, monkeypatch):
    # Windows has neither: rows are written and copied with seek + write / read, and batches index the mapping.
    from jupyter_dl.data import pixel_file

    monkeypatch.setattr(pixel_file, "CAN_READ_ROWS", False)
    monkeypatch.delattr(os, "pwrite", raising=False)
    items = numbered_items(tmp_path / "imgs", 12)
    items.insert(5, (make_corrupt_file(tmp_path / "imgs" / "bad.png"), 0))   # left out by a copy of the rest
    pixels, labels, skipped = build_image_cache(items, 8)
    assert numbers(pixels) == list(range(12)) and len(skipped) == 1 and rows_on_disk(pixels) is None
    again, _, _ = build_image_cache(items[::-1], 8)                            # rows reused from that entry
    assert numbers(again) == list(range(11, -1, -1))
    loader = CachedImageLoader(pixels, labels, bs=5, transform=BatchTransform(), shuffle=False, drop_last=False)
    assert torch.equal(torch.cat([x for x, _ in loader]), BatchTransform()(pixels))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@needs_preadv
def test_on_cuda_rows_from_the_file_reach_the_gpu_unchanged(tmp_path, monkeypatch):
    # Pinned batches read from the file (the cache kept on the host), and the whole cache moved to the GPU a
    # block at a time, both give the decoded pixels.
    from jupyter_dl.data import loaders as loaders_module

    pixels, labels, _ = build_image_cache(numbered_items(tmp_path / "imgs", 40), 8)
    transform = BatchTransform(device="cuda")
    expected = transform(pixels.clone()).cpu()
    monkeypatch.setattr(loaders_module, "UPLOAD_ROWS", 7)
    for fraction in (0.0, 0.25):    # 0: the cache stays on the host; 0.25: it fits on the GPU
        monkeypatch.setattr(loaders_module, "DEVICE_CACHE_FRACTION", fraction)
        loader = CachedImageLoader(pixels, labels, bs=16, transform=transform, shuffle=False, drop_last=False)
        assert loader.pixels.device.type == ("cpu" if fraction == 0 else "cuda")
        assert torch.equal(torch.cat([x.cpu() for x, _ in loader]), expected)

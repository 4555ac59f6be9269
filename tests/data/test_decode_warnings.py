"""Decoder warnings are collected per file from any decode thread, never printed, and everything else is left
as it was: other threads' warnings still reach Python's machinery, and the hook is gone afterwards."""
from __future__ import annotations

import threading
import warnings

import PIL.Image
import pytest
from imagegen import make_image, make_image_folder

from jupyter_dl.data import cache, decode_warnings
from jupyter_dl.data.cache import build_image_cache
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.data.health import check_health
from jupyter_dl.data.thumbnails import make_thumbnail


def items_of(root):
    return [(path, 0) for path in sorted(root.rglob("*.png"))]


@pytest.mark.parametrize("workers", [0, 4])
def test_a_warning_raised_while_decoding_is_kept_per_file_and_not_printed(tmp_path, monkeypatch, capfd, workers):
    root = make_image_folder(tmp_path / "d", classes={"a": 6}, size=12)
    decode = cache.decode_file

    def noisy(path, size):
        if path.endswith(("_1.png", "_4.png")):
            warnings.warn(f"odd chunk in {path[-7:]}", UserWarning, stacklevel=1)
        return decode(path, size)

    monkeypatch.setattr(cache, "decode_file", noisy)
    found: list = []
    pixels, _labels, skipped = build_image_cache(items_of(root), 8, workers, decode_warnings=found)
    assert pixels.shape[0] == 6 and not skipped
    assert sorted((path.name, text) for path, text in found) == [
        ("a_1.png", "UserWarning: odd chunk in a_1.png"), ("a_4.png", "UserWarning: odd chunk in a_4.png")]
    assert capfd.readouterr().err == ""


def test_the_hook_passes_other_threads_warnings_on_and_is_removed_afterwards(tmp_path):
    before_hook, before_filters = warnings.showwarning, list(warnings.filters)
    seen: list = []
    entered, leave = threading.Event(), threading.Event()

    def other_collector():  # a second, overlapping collection in another thread (e.g. %browse's health check)
        with decode_warnings.collect() as caught, caught.file(tmp_path / "x.png"):
            entered.set()
            leave.wait(5)
            warnings.warn("from x", UserWarning, stacklevel=1)
        seen.extend(caught.items)

    thread = threading.Thread(target=other_collector)
    with decode_warnings.collect() as caught:
        thread.start()
        entered.wait(5)
        with pytest.warns(UserWarning, match="not a decode"):  # this thread decodes no file: passed on
            warnings.warn("not a decode", UserWarning, stacklevel=1)
        assert caught.items == []
    leave.set()
    thread.join(5)
    assert [(path.name, text) for path, text in seen] == [("x.png", "UserWarning: from x")]
    assert warnings.showwarning is before_hook and warnings.filters == before_filters


def test_the_summary_names_a_few_files_and_counts_the_rest(tmp_path):
    items = [(tmp_path / f"{i}.png", "UserWarning: odd") for i in range(5)] + [(tmp_path / "0.png", "UserWarning: 2")]
    assert decode_warnings.summary(items) == ("5 images gave decoder warnings: 0.png (UserWarning: odd), "
                                              "1.png (UserWarning: odd), 2.png (UserWarning: odd) and 2 more.")
    assert decode_warnings.summary(items[:1]) == "1 image gave a decoder warning: 0.png (UserWarning: odd)."
    assert decode_warnings.summary([]) == ""


def test_the_health_check_and_thumbnails_collect_pil_warnings_instead_of_printing_them(tmp_path, monkeypatch,
                                                                                       capfd):
    root = make_image_folder(tmp_path / "d", classes={"a": 3, "b": 3}, size=12)
    make_image(root / "a" / "big.png", size=20)                     # 400 pixels: over the limit below
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 300)          # PIL's DecompressionBombWarning
    catalog = build_catalog(root)
    report = check_health(catalog, workers=3)
    big = next(item.key for item in catalog.items if item.path.name == "big.png")
    assert list(report.decode_warnings) == [big]
    assert report.decode_warnings[big].startswith("DecompressionBombWarning: Image size (400 pixels) exceeds limit")
    assert check_health(catalog).decode_warnings == report.decode_warnings      # from the cache file
    data, ok = make_thumbnail(catalog, catalog.item(big), 32)
    assert ok and data
    assert "Warning" not in capfd.readouterr().err

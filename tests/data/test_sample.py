"""The embedded sample: sklearn's digits written once as a folder of PNG files."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import torch
from PIL import Image

from jupyter_dl.data import make_loaders, resolve_data, sample

# The package re-exports the function sample(), which hides the module of the same name.
sample_module = importlib.import_module("jupyter_dl.data.sample_data")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return sample(tmp_path_factory.mktemp("sample"))


def test_sample_is_a_folder_per_digit_of_32px_pngs(digits):
    assert digits.name == "digits"
    assert sorted(p.name for p in digits.iterdir()) == [str(d) for d in range(10)]
    files = sorted(digits.rglob("*.png"))
    assert len(files) == 1797
    with Image.open(digits / "0" / "0.png") as image:  # load_digits()[0] is a zero
        assert image.size == (32, 32)
        pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() > 200


def test_file_index_and_folder_match_sklearn(digits):
    from sklearn.datasets import load_digits

    target = load_digits().target
    for index in (0, 1, 500, 1796):
        assert (digits / str(target[index]) / f"{index}.png").is_file()


def test_second_call_returns_at_once_without_writing(digits, monkeypatch):
    def must_not_write(folder):
        raise AssertionError("wrote the sample again")

    monkeypatch.setattr(sample_module, "_write_digits", must_not_write)
    assert sample(digits.parent) == digits


def test_interrupted_write_leaves_no_half_data_set(tmp_path, monkeypatch):
    original = sample_module._write_digits

    def crash_halfway(folder):
        (folder / "0").mkdir()
        Image.new("L", (32, 32)).save(folder / "0" / "0.png")
        raise KeyboardInterrupt

    monkeypatch.setattr(sample_module, "_write_digits", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        sample(tmp_path)
    assert os.listdir(tmp_path) == []  # neither digits/ nor the staging folder

    monkeypatch.setattr(sample_module, "_write_digits", original)
    assert len(list(sample(tmp_path).rglob("*.png"))) == 1797


def test_default_location_is_the_cache_and_sample_keyword_resolves(digits, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "sample").symlink_to(digits.parent)  # reuse the written copy instead of writing another
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(cache))
    assert sample() == cache / "sample" / "digits"
    items = resolve_data("sample", valid_pct=0.2)
    assert items.classes == [str(d) for d in range(10)]
    assert len(items.train) + len(items.valid) == 1797 and abs(len(items.valid) - 360) <= 10
    loaders = make_loaders(items, size=16, bs=256, augment="none")
    x, y = next(iter(loaders.valid))
    assert x.shape == (256, 3, 16, 16) and loaders.skipped == []
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    grey = x * std + mean
    assert torch.allclose(grey[:, 0], grey[:, 1], atol=1e-5)  # grey digits: the same value in every channel

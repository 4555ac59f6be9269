"""A fastai DataLoaders as DATA (fastai takes ~5 s to import, so this module is separate and short)."""
from __future__ import annotations

import pytest
import torch
from imagegen import make_image_folder

from jupyter_dl.data import FastaiSource, make_loaders, resolve_data

vision = pytest.importorskip("fastai.vision.all")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("fastai") / "pets", {"cat": 6, "dog": 6}, size=20)


def fastai_dls(root, **options):
    return vision.ImageDataLoaders.from_folder(root, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16),
                                               bs=4, num_workers=0, device="cpu", **options)


@pytest.fixture(scope="module")
def dls(pets):
    return fastai_dls(pets)


def test_fastai_dataloaders_resolve_with_their_vocab(dls):
    source = resolve_data("dls", namespace={"dls": dls})
    assert isinstance(source, FastaiSource)
    assert source.classes == ["cat", "dog"] and "fastai DataLoaders" in source.description


def test_fastai_batches_become_plain_normalised_tensors(dls):
    loaders = make_loaders(resolve_data(dls), augment="none")
    assert (loaders.n_train, loaders.n_valid) == (9, 3) and loaders.classes == ["cat", "dog"]
    assert len(loaders.train) == len(dls.train)
    for _ in range(2):
        batches = list(loaders.train) + list(loaders.valid)
        assert len(batches) == len(dls.train) + len(dls.valid)
        for x, y in batches:
            assert type(x) is torch.Tensor and type(y) is torch.Tensor
            assert x.dtype == torch.float32 and x.shape[1:] == (3, 16, 16) and y.dtype == torch.int64
    # No Normalize in this dls, so make_loaders normalised: raw 0..1 values map into ImageNet range.
    x, _ = next(iter(loaders.valid))
    raw, _ = dls.valid.one_batch()
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    expected = (raw.as_subclass(torch.Tensor) - mean) / std
    assert torch.allclose(x, expected, atol=1e-5)


def test_fastai_normalize_is_not_applied_twice(pets):
    normalized = fastai_dls(pets, batch_tfms=vision.Normalize.from_stats(*vision.imagenet_stats))
    loaders = make_loaders(resolve_data(normalized), augment="none")
    x, _ = next(iter(loaders.valid))
    expected, _ = normalized.valid.one_batch()
    assert torch.allclose(x, expected.as_subclass(torch.Tensor), atol=1e-5)

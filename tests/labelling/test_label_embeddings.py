"""Embeddings: every image once, cached by file fingerprint; progress; unreadable files listed, never fatal."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from imagegen import make_image

from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling import embed, embed_files
from jupyter_dl.models.features import FeatureExtractor, feature_extractor


def test_a_second_call_reads_the_cache_and_runs_no_model(folder, counted):
    first = embed(folder, quiet=True, bs=4)
    assert counted["forward"] == 4 and counted["builds"] == 1     # 16 images, batches of 4
    assert first.vectors.dtype == np.float32 and first.vectors.shape == (16, 8)
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-5)
    assert sorted(item.label for item in first.items) == ["cat"] * 8 + ["dog"] * 8

    again = embed(folder, quiet=True, bs=4)
    assert counted == {"forward": 4, "builds": 1}                 # nothing built, nothing run
    assert np.array_equal(again.vectors, first.vectors)
    assert [i.path for i in again.items] == [i.path for i in first.items]


def test_only_new_or_changed_files_are_embedded(folder, counted):
    embed(folder, quiet=True, bs=64)
    make_image(folder / "cat" / "new.png", size=16, color=(200, 30, 30), seed=99)
    make_image(folder / "dog" / "dog_0.png", size=16, color=(1, 2, 3), seed=7)   # edited: new fingerprint
    seen = []
    original = FeatureExtractor.embed

    def spy(self, pixels, **kw):
        seen.append(len(pixels))
        return original(self, pixels, **kw)

    FeatureExtractor.embed = spy
    try:
        result = embed(folder, quiet=True)
    finally:
        FeatureExtractor.embed = original
    assert seen == [2] and len(result.items) == 17


def test_progress_counts_images_and_cached_ones_are_done_at_once(folder, counted):
    calls = []
    embed(folder, bs=4, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 16) and calls[-1] == (16, 16) and len(calls) == 5
    calls.clear()
    embed(folder, bs=4, progress=lambda done, total: calls.append((done, total)))
    assert calls == []                     # everything cached: nothing to report


def test_unreadable_and_missing_files_are_listed_not_fatal(tmp_path, counted):
    good = [make_image(tmp_path / f"{i}.png", size=16, seed=i) for i in range(3)]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    vectors, kept, skipped = embed_files([good[0], broken, tmp_path / "gone.png", good[1], good[2]], size=32)
    assert kept == [0, 3, 4] and vectors.shape[0] == 3
    assert sorted(p.name for p, _ in skipped) == ["broken.png", "gone.png"]


def test_an_in_memory_dataset_gets_one_sentence():
    dataset = torch.utils.data.TensorDataset(torch.rand(6, 3, 8, 8), torch.tensor([0, 1] * 3))
    with pytest.raises(UserInputError, match="in memory, not files"):
        embed(dataset, quiet=True)


def test_the_default_body_gives_1280_features_per_image():
    extractor = feature_extractor()
    assert extractor.key == "timm:tf_efficientnet_lite0:pretrained"
    vectors = extractor.embed(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    assert vectors.shape == (2, 1280)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

"""The embedding cache: rows found by file fingerprint, per model key; a changed file or a damaged shard is a miss."""
from __future__ import annotations

import os

import numpy as np
from imagegen import make_image

from jupyter_dl.data import embedding_cache
from jupyter_dl.data.cache import fingerprint
from jupyter_dl.data.embedding_cache import load_vectors, save_vectors, store_folder


def files(tmp_path, n):
    return [make_image(tmp_path / f"{i}.png", size=8, seed=i) for i in range(n)]


def test_rows_come_back_in_order_for_the_same_files_and_model(tmp_path):
    paths = files(tmp_path, 4)
    fps = [fingerprint(p) for p in paths]
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    save_vectors("model-a", fps[:3], vectors[:3])
    found, rows = load_vectors("model-a", [fps[2], fps[3], fps[0]])
    assert found.tolist() == [True, False, True]
    assert np.array_equal(rows, vectors[[2, 0]])
    assert not load_vectors("model-b", fps)[0].any()        # another model: nothing


def test_a_touched_file_and_a_missing_one_are_misses(tmp_path):
    paths = files(tmp_path, 2)
    save_vectors("m", [fingerprint(p) for p in paths], np.ones((2, 4), dtype=np.float32))
    os.utime(paths[0], ns=(1, 1))
    found, _ = load_vectors("m", [fingerprint(paths[0]), fingerprint(paths[1]), None])
    assert found.tolist() == [False, True, False]


def test_a_damaged_shard_is_ignored(tmp_path):
    paths = files(tmp_path, 2)
    fps = [fingerprint(p) for p in paths]
    save_vectors("m", fps, np.ones((2, 4), dtype=np.float32))
    for npy in store_folder("m").glob("*.npy"):
        npy.write_bytes(b"garbage")
    found, rows = load_vectors("m", fps)
    assert not found.any() and rows.shape[0] == 0


def test_the_least_recently_used_shards_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_cache, "MAX_SHARDS", 2)
    fps = [fingerprint(p) for p in files(tmp_path, 3)]
    save_vectors("m", fps[:1], np.zeros((1, 2), dtype=np.float32))
    save_vectors("m", fps[1:2], np.ones((1, 2), dtype=np.float32))
    for meta in store_folder("m").glob("*.json"):   # make the order certain: the first shard is the oldest
        os.utime(meta, ns=(1, 1) if str(fps[0][0]) in meta.read_text() else (2, 2))
    save_vectors("m", fps[2:], np.ones((1, 2), dtype=np.float32))
    assert load_vectors("m", fps)[0].tolist() == [False, True, True]

"""make_loaders: batches, normalisation, shuffling, augmentation, skipped files, the decode cache."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from imagegen import make_constant_image, make_corrupt_file, make_image, make_image_folder
from torch.utils.data import TensorDataset

from jupyter_dl.data import BatchTransform, ImageItems, build_image_cache, make_loaders, resolve_data
from jupyter_dl.data import cache as cache_module
from jupyter_dl.data.loaders import CachedImageLoader
from jupyter_dl.errors import UserInputError

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def decodes(monkeypatch):
    """Counts calls of the decode function the cache uses."""
    calls: list[str] = []
    original = cache_module.decode_file

    def counting(path, size):
        calls.append(str(path))
        return original(path, size)

    monkeypatch.setattr(cache_module, "decode_file", counting)
    return calls


def make_numbered_folder(root, per_class: int = 10):
    """Two classes of constant-colour images whose red value (10*i + 5) identifies image i."""
    for i in range(2 * per_class):
        name = "ab"[i // per_class]
        make_constant_image(root / name / f"{i:02d}.png", color=(10 * i + 5, 100, 200), size=20)
    return root


def ids(x: torch.Tensor) -> list[int]:
    """Image numbers of a normalised, unaugmented batch of numbered images."""
    red = (x[:, 0, 0, 0] * STD[0] + MEAN[0]) * 255
    return [int(round((float(v) - 5) / 10)) for v in red]


def item_ids(items) -> list[int]:
    return [int(path.stem) for path, _ in items]


@pytest.fixture
def numbered(tmp_path) -> ImageItems:
    return resolve_data(make_numbered_folder(tmp_path / "numbered"), valid_pct=0.2, seed=0)


def epoch_ids(loader) -> list[int]:
    return [i for x, _ in loader for i in ids(x)]


# ----------------------------------------------------------------------------- batches
def test_batches_have_the_right_shapes_types_and_count(numbered):
    loaders = make_loaders(numbered, size=16, bs=4, augment="none")
    assert (loaders.n_train, loaders.n_valid) == (16, 4)
    assert loaders.classes == ["a", "b"] and loaders.skipped == []
    assert len(loaders.train) == 4 and len(loaders.valid) == 1
    batches = list(loaders.train)
    assert len(batches) == len(loaders.train)
    for x, y in batches + list(loaders.valid):
        assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32
        assert y.shape == (4,) and y.dtype == torch.int64
        assert set(y.tolist()) <= {0, 1}


def test_labels_match_the_images(numbered):
    loaders = make_loaders(numbered, size=16, bs=4, augment="none")
    for x, y in list(loaders.train) + list(loaders.valid):
        assert [i // 10 for i in ids(x)] == y.tolist()


def test_constant_colour_normalises_to_the_expected_value(tmp_path):
    make_constant_image(tmp_path / "d" / "a" / "0.png", (255, 0, 128))
    make_constant_image(tmp_path / "d" / "a" / "1.png", (255, 0, 128))
    make_constant_image(tmp_path / "d" / "b" / "0.png", (0, 64, 255))
    make_constant_image(tmp_path / "d" / "b" / "1.png", (0, 64, 255))
    loaders = make_loaders(resolve_data(tmp_path / "d", valid_pct=0.5), size=8, bs=2, augment="none")
    colours = {0: (255, 0, 128), 1: (0, 64, 255)}
    for x, y in list(loaders.train) + list(loaders.valid):
        for image, label in zip(x, y.tolist()):
            expected = torch.tensor([(c / 255 - m) / s for c, m, s in zip(colours[label], MEAN, STD)])
            assert torch.allclose(image, expected.view(3, 1, 1).expand(3, 8, 8), atol=1e-5)


def test_every_train_item_is_seen_once_per_epoch(numbered):
    loaders = make_loaders(numbered, size=8, bs=4, augment="none")
    for _ in range(2):
        assert sorted(epoch_ids(loaders.train)) == sorted(item_ids(numbered.train))


def test_drop_last_drops_only_the_ragged_tail(numbered):
    loaders = make_loaders(numbered, size=8, bs=5, augment="none")  # 16 train -> 3 full batches
    seen = epoch_ids(loaders.train)
    assert len(loaders.train) == 3 and len(seen) == 15 and len(set(seen)) == 15


def test_batch_larger_than_the_data_gives_one_full_batch(numbered):
    loaders = make_loaders(numbered, size=8, bs=64, augment="none")
    assert len(loaders.train) == 1
    assert sorted(epoch_ids(loaders.train)) == sorted(item_ids(numbered.train))


def test_seeded_shuffling_is_reproducible_and_changes_each_epoch(numbered):
    def two_epochs(seed):
        loaders = make_loaders(numbered, size=8, bs=4, augment="none", seed=seed)
        return epoch_ids(loaders.train), epoch_ids(loaders.train)

    first, again, other = two_epochs(1), two_epochs(1), two_epochs(2)
    assert first == again
    assert first != other
    assert first[0] != first[1]


def test_valid_order_is_stable_and_follows_the_items(numbered):
    loaders = make_loaders(numbered, size=8, bs=3, augment="light")
    assert len(loaders.valid) == 2  # 4 items, no drop_last
    first, second = epoch_ids(loaders.valid), epoch_ids(loaders.valid)
    assert first == second == item_ids(numbered.valid)


def test_cached_loader_covers_a_ragged_last_batch():
    pixels = torch.zeros((10, 3, 4, 4), dtype=torch.uint8)
    loader = CachedImageLoader(pixels, torch.arange(10), bs=3, transform=BatchTransform(), shuffle=True,
                               drop_last=False)
    labels = [y for _, ys in loader for y in ys.tolist()]
    assert len(loader) == 4 and sorted(labels) == list(range(10))


def test_augmentation_changes_pixels_but_keeps_shape_and_order(tmp_path):
    items = resolve_data(make_image_folder(tmp_path / "d", {"a": 8, "b": 8}), valid_pct=0.25)
    for augment in ("light", "flip"):
        plain = make_loaders(items, size=16, bs=4, augment="none", seed=5)
        augmented = make_loaders(items, size=16, bs=4, augment=augment, seed=5)
        for (xa, ya), (xp, yp) in zip(augmented.train, plain.train):
            assert xa.shape == xp.shape and xa.dtype == xp.dtype
            assert torch.equal(ya, yp)  # same seeded order: augmentation has its own generator
            assert not torch.allclose(xa, xp, atol=1e-3)
        for (xa, _), (xp, _) in zip(augmented.valid, plain.valid):
            assert torch.equal(xa, xp)  # never augmented


def test_augmentation_is_reproducible_with_the_seed(tmp_path):
    items = resolve_data(make_image_folder(tmp_path / "d"), valid_pct=0.2)
    first = [x for x, _ in make_loaders(items, size=16, bs=4, seed=3).train]
    again = [x for x, _ in make_loaders(items, size=16, bs=4, seed=3).train]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_flip_mirrors_about_half_of_the_images():
    half_dark = torch.zeros((64, 3, 16, 16), dtype=torch.uint8)
    half_dark[:, :, :, 8:] = 255  # dark left half, bright right half
    for augment, low, high in (("light", 0, 0), ("flip", 12, 52)):
        x = BatchTransform(augment=augment, seed=0)(half_dark)
        mirrored = int((x[:, :, :, :8].mean(dim=(1, 2, 3)) > x[:, :, :, 8:].mean(dim=(1, 2, 3))).sum())
        assert low <= mirrored <= high


def test_loaders_are_iterable_many_times_and_channels_last(numbered):
    loaders = make_loaders(numbered, size=8, bs=4, channels_last=True)
    for _ in range(3):
        batches = list(loaders.train)
        assert len(batches) == len(loaders.train)
        assert all(x.is_contiguous(memory_format=torch.channels_last) for x, _ in batches)


def test_a_path_is_resolved_first(tmp_path):
    loaders = make_loaders(str(make_image_folder(tmp_path / "d")), size=8, bs=4)
    assert loaders.classes == ["cat", "dog"] and loaders.n_train + loaders.n_valid == 12


# ----------------------------------------------------------------------------- unreadable files
def test_corrupt_files_are_skipped_and_counted(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 5, "b": 5})
    bad = [make_corrupt_file(root / "a" / "random.jpg"), make_corrupt_file(root / "b" / "cut.png", "truncated"),
           make_corrupt_file(root / "b" / "cut.jpg", "truncated"), make_corrupt_file(root / "a" / "empty.png", "empty")]
    loaders = make_loaders(resolve_data(root, valid_pct=0.2), size=8, bs=2)
    assert sorted(p.name for p, _ in loaders.skipped) == sorted(p.name for p in bad)
    assert all(isinstance(reason, str) and reason for _, reason in loaders.skipped)
    assert loaders.n_train + loaders.n_valid == 10
    assert "4 unreadable files skipped" in loaders.description
    assert sum(len(y) for _, y in loaders.valid) == loaders.n_valid
    list(loaders.train)


def test_all_files_corrupt_is_an_error(tmp_path):
    for name in "ab":
        for i in range(2):
            make_corrupt_file(tmp_path / "d" / name / f"{i}.jpg", seed=i)
    with pytest.raises(UserInputError, match="None of the 4 images could be read"):
        make_loaders(resolve_data(tmp_path / "d"), size=8)


def test_class_left_without_training_images_is_an_error(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 4, "b": 0})
    make_corrupt_file(root / "b" / "x.jpg")
    make_corrupt_file(root / "b" / "y.jpg")
    with pytest.raises(UserInputError, match="'b' has no readable training images"):
        make_loaders(resolve_data(root, valid_pct=0), size=8)


# ----------------------------------------------------------------------------- cache
def test_second_run_does_not_decode_again(numbered, decodes):
    first = make_loaders(numbered, size=8, bs=4, augment="none")
    assert len(decodes) == 20
    second = make_loaders(numbered, size=8, bs=4, augment="none")
    assert len(decodes) == 20
    assert [ids(x) for x, _ in first.valid] == [ids(x) for x, _ in second.valid]
    assert epoch_ids(first.train) == epoch_ids(second.train)


def test_a_new_split_reuses_decoded_images(numbered, decodes, tmp_path):
    make_loaders(numbered, size=8, bs=4)
    resplit = resolve_data(tmp_path / "numbered", valid_pct=0.3, seed=9)
    loaders = make_loaders(resplit, size=8, bs=4, augment="none")
    assert len(decodes) == 20
    assert epoch_ids(loaders.valid) == item_ids(resplit.valid)


def test_a_changed_file_is_decoded_again(numbered, decodes, tmp_path):
    make_loaders(numbered, size=8, bs=4)
    changed = numbered.valid[0][0]
    make_constant_image(changed, (195, 100, 200), size=20)  # now reads as image 19
    stat = os.stat(changed)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    loaders = make_loaders(numbered, size=8, bs=4, augment="none")
    assert decodes[20:] == [str(changed.resolve())]
    assert epoch_ids(loaders.valid)[0] == 19

    touched = numbered.train[0][0]
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))  # same bytes, new mtime
    make_loaders(numbered, size=8, bs=4)
    assert decodes[21:] == [str(touched.resolve())]


def test_another_size_is_another_cache(numbered, decodes):
    make_loaders(numbered, size=8, bs=4)
    make_loaders(numbered, size=12, bs=4)
    assert len(decodes) == 40


def test_cached_pixels_equal_a_fresh_decode(tmp_path):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3}, size=(30, 20))
    items = resolve_data(root, valid_pct=0).train
    fresh, labels, skipped = build_image_cache(items, 16)
    loaded, labels_again, _ = build_image_cache(items, 16)
    assert fresh.dtype == torch.uint8 and fresh.shape == (6, 3, 16, 16)
    assert torch.equal(fresh, loaded) and torch.equal(labels, labels_again) and skipped == []
    assert labels.dtype == torch.int64


def test_skipped_files_are_remembered_by_the_cache(tmp_path, decodes):
    root = make_image_folder(tmp_path / "d", {"a": 3, "b": 3})
    make_corrupt_file(root / "a" / "bad.png")
    items = resolve_data(root, valid_pct=0).train
    _, _, skipped = build_image_cache(items, 8)
    _, _, skipped_again = build_image_cache(items, 8)
    assert skipped == skipped_again and [p.name for p, _ in skipped] == ["bad.png"]
    assert len(decodes) == 7


def test_cache_writes_leave_no_temp_files(numbered, tmp_path):
    make_loaders(numbered, size=8, bs=4)
    names = os.listdir(tmp_path / "cache" / "images")
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["json", "json", "npy", "npy"]


def test_a_failed_cache_write_leaves_nothing_and_training_goes_on(numbered, tmp_path, monkeypatch, decodes):
    def disk_full(file, array):
        file.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaders = make_loaders(numbered, size=8, bs=4)
    assert any("could not write the image cache" in str(w.message) for w in caught)
    assert os.listdir(tmp_path / "cache" / "images") == []
    assert len(list(loaders.train)) == 4
    monkeypatch.undo()


def test_a_damaged_cache_entry_is_rebuilt(numbered, tmp_path, decodes):
    make_loaders(numbered, size=8, bs=4)
    folder = tmp_path / "cache" / "images"
    for name in os.listdir(folder):
        if name.endswith(".npy"):
            (folder / name).write_bytes(b"garbage")
    loaders = make_loaders(numbered, size=8, bs=4, augment="none")
    assert len(decodes) == 40
    assert sorted(epoch_ids(loaders.train)) == sorted(item_ids(numbered.train))


def test_progress_reports_decoding(numbered):
    seen = []
    make_loaders(numbered, size=8, bs=4, workers=2, progress=lambda done, total: seen.append((done, total)))
    # One count over both splits (16 train + 4 valid), starting with a call before the first decode.
    assert seen[0] == (0, 20) and (16, 20) in seen and seen[-1] == (20, 20)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# ----------------------------------------------------------------------------- torch Dataset
def test_torch_dataset_gives_working_loaders():
    images = torch.full((12, 3, 20, 20), 0.5)
    images[6:] = 1.0
    labels = torch.tensor([0] * 6 + [1] * 6)
    source = resolve_data(TensorDataset(images, labels), valid_pct=0.25)
    loaders = make_loaders(source, size=16, bs=4, augment="none")
    assert (loaders.n_train, loaders.n_valid) == (9, 3) and loaders.classes == ["0", "1"]
    assert len(loaders.train) == 2 and len(loaders.valid) == 1
    for _ in range(2):
        for x, y in list(loaders.train) + list(loaders.valid):
            assert x.shape[1:] == (3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
            level = torch.where(y == 0, 128 / 255, 1.0).view(-1, 1)  # 0.5 -> uint8 128
            expected = (level - torch.tensor(MEAN)) / torch.tensor(STD)
            assert torch.allclose(x[:, :, 0, 0], expected, atol=1e-5)


def test_torch_dataset_shuffle_is_seeded():
    data = TensorDataset(torch.rand(16, 3, 8, 8), torch.arange(16) % 2)

    def order(seed):
        loaders = make_loaders(resolve_data(data, valid_pct=0), size=8, bs=4, augment="none", seed=seed)
        return [x[:, 0, 0, 0].tolist() for x, _ in loaders.train]

    assert order(1) == order(1) and order(1) != order(2)


def test_normalised_dataset_items_are_an_error():
    data = TensorDataset(torch.randn(6, 3, 8, 8) * 2, torch.tensor([0, 1] * 3))
    with pytest.raises(UserInputError, match="remove any Normalize"):
        make_loaders(resolve_data(data), size=8)


# ----------------------------------------------------------------------------- bad arguments
def test_bad_arguments_are_errors(numbered):
    with pytest.raises(UserInputError, match="augment='heavy' is not one of"):
        make_loaders(numbered, augment="heavy")
    with pytest.raises(UserInputError, match="bs must be a positive whole number, not 0"):
        make_loaders(numbered, bs=0)
    with pytest.raises(UserInputError, match="not a device name"):
        make_loaders(numbered, device="gpu7")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_missing_gpu_is_an_error(numbered):
    with pytest.raises(UserInputError, match="no CUDA GPU is available"):
        make_loaders(numbered, device="cuda")


def test_open_image_errors_name_the_file(tmp_path):
    from jupyter_dl.data import open_image

    bad = make_corrupt_file(tmp_path / "x.jpg")
    with pytest.raises(UserInputError, match=r"Could not read the image .*x\.jpg: not a recognised image format"):
        open_image(bad)
    make_image(tmp_path / "ok.png", size=(40, 30))
    assert open_image(tmp_path / "ok.png").mode == "RGB"


def test_an_unusable_cache_folder_only_costs_speed(numbered, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(blocker))
    with pytest.warns(UserWarning, match="no usable image cache folder"):
        loaders = make_loaders(numbered, size=8, bs=4)
    assert len(list(loaders.train)) == 4

"""The parts of a multi-process run that need no processes: --devices, shares of the data, the event relay."""
import pytest
import torch
from tinynet import TinyNet

from jupyter_dl.data.loaders import CachedImageLoader
from jupyter_dl.data.transforms import BatchTransform
from jupyter_dl.errors import UserInputError
from jupyter_dl.train import events as ev
from jupyter_dl.train.distributed import devices
from jupyter_dl.train.distributed.relay import EventForwarder, EventMirror
from jupyter_dl.train.events import EventRecorder
from jupyter_dl.train.trainer import Trainer


@pytest.mark.parametrize("text, kind, count", [("cpu:2", "cpu", 2), ("CPU:3", "cpu", 3), ("2", "cuda", 2),
                                               ("cuda:1", "cuda", 1), (2, "cuda", 2)])
def test_devices_name_processes_and_their_device(monkeypatch, text, kind, count):
    monkeypatch.setattr(devices, "gpu_count", lambda: 2)
    plan = devices.parse_devices(text)
    assert (plan.kind, plan.count) == (kind, count)
    assert plan.backend == ("nccl" if kind == "cuda" else "gloo")
    assert plan.device_of(1) == ("cuda:1" if kind == "cuda" else "cpu")


@pytest.mark.parametrize("text, gpus, says", [
    ("cpu:0", 0, "--devices cpu:0 asks for no process at all: give at least 1"),
    ("0", 2, "--devices 0 asks for no process at all"),
    ("2", 0, "--devices 2 needs 2 CUDA GPUs, and this machine has none: use --devices cpu:2"),
    ("3", 2, "--devices 3 asks for 3 GPUs, and this machine has 2: use --devices 2 (or fewer)."),
    ("two", 2, "--devices takes a number of GPUs (e.g. 2) or cpu:N"),
    ("cpu:-1", 2, "--devices takes a number of GPUs"),
])
def test_devices_this_machine_cannot_give_get_one_sentence(monkeypatch, text, gpus, says):
    monkeypatch.setattr(devices, "gpu_count", lambda: gpus)
    with pytest.raises(UserInputError, match="^" + says.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        devices.parse_devices(text)


def cached_loader(n: int, shuffle: bool, bs: int = 4) -> CachedImageLoader:
    pixels = torch.arange(n, dtype=torch.uint8).reshape(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    return CachedImageLoader(pixels, torch.arange(n), bs=bs, transform=BatchTransform(augment="none"),
                             shuffle=shuffle, drop_last=shuffle, seed=7)


def items_of(loader: CachedImageLoader) -> list[int]:
    return [int(v) for _x, y in loader for v in y]


@pytest.mark.parametrize("n, world", [(23, 2), (24, 3), (10, 4)])
def test_ranks_train_on_equal_disjoint_shares_that_change_each_epoch(n, world):
    loaders = [cached_loader(n, shuffle=True, bs=2) for _ in range(world)]
    for rank, loader in enumerate(loaders):
        loader.shard(rank, world)
    epochs = [[items_of(loader) for loader in loaders] for _ in range(2)]
    for shares in epochs:
        assert len({len(share) for share in shares}) == 1  # every rank the same number of batches
        seen = [item for share in shares for item in share]
        assert len(seen) == len(set(seen))  # no item twice in an epoch
        assert len(seen) >= n - n % world - world  # all but the remainder (and a partial batch dropped per rank)
    assert epochs[0] != epochs[1]


def test_ranks_validate_every_item_exactly_once():
    n, world = 11, 3
    seen = []
    for rank in range(world):
        loader = cached_loader(n, shuffle=False, bs=2)
        loader.shard(rank, world)
        seen += items_of(loader)
    assert sorted(seen) == list(range(n))


def test_the_kernel_mirror_holds_what_rank_0_trained():
    """A trainer's events, through the forwarder's messages, rebuild the same history, losses and best weights."""
    torch.manual_seed(0)
    x, y = torch.randn(24, 3, 16, 16), torch.arange(24) % 2
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 24, 4)]
    worker = Trainer(TinyNet(), seed=0)
    messages = []
    worker.bus.subscribe(EventForwarder(messages.append, worker, interval=3600))
    worker.fit_one_cycle(batches, batches[:2], 2, 1e-2)

    kernel = Trainer(TinyNet(), seed=1)
    seen = EventRecorder()
    kernel.bus.subscribe(seen)
    mirror = EventMirror(kernel)
    for message in messages:
        mirror.apply(message)

    assert kernel.history == worker.history
    assert torch.equal(kernel.losses.rows(), worker.losses.rows())  # every step, though batch ends were coalesced
    assert kernel.best.epoch == worker.best.epoch
    for name, tensor in worker.best.state.items():
        assert torch.equal(kernel.best.state[name], tensor)
    assert all(event.source is kernel for event in seen.events)
    assert seen.kinds()[0] == ev.FIT_START and seen.kinds()[-1] == ev.FIT_END
    # The first batch at once, then only each epoch's last (the interval never passed).
    assert [e["batch"] for e in seen.of(ev.BATCH_END)] == [1, 6, 6]
    assert mirror.fits_ended == ["finished"]

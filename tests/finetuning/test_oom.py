"""Out of GPU memory during %finetune: one clear error with the numbers, a usable learner, --auto-bs.

No GPU here: the model raises the error CUDA raises (torch.cuda.OutOfMemoryError can be
made on any build) with a real message of torch's, whenever a training batch is too big.
"""
from __future__ import annotations

import gc
import weakref

import pytest
import torch
from IPython.core.error import UsageError
from tinynet import TinyNet

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.train import events as ev
from jupyter_dl.train import read_run
from jupyter_dl.train.oom import OomReport, is_out_of_memory, read_report

TORCH_MESSAGE = ("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 15.77 GiB of which "
                 "1.06 GiB is free. Including non-PyTorch memory, this process has 14.70 GiB memory in use. Of the "
                 "allocated memory 13.90 GiB is allocated by PyTorch, and 310.51 MiB is reserved by PyTorch but "
                 "unallocated. If reserved but unallocated memory is large try setting "
                 "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.")
OLD_TORCH_MESSAGE = ("CUDA out of memory. Tried to allocate 36.00 MiB (GPU 0; 7.93 GiB total capacity; 130.35 MiB "
                     "already allocated; 47.06 MiB free; 188.00 MiB reserved in total by PyTorch)")
MPS_MESSAGE = ("MPS backend out of memory (MPS allocated: 1.20 GB, other allocations: 3.00 GB, max allowed: 18.13 GB). "
               "Tried to allocate 256.00 MB on private pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable "
               "upper limit for memory allocations (may cause system failure).")


class HungryNet(TinyNet):
    """TinyNet that "runs out of GPU memory" when a training batch holds more than ``limit`` images.

    With ``only_unfrozen`` it fits while the body is frozen (fine_tune's first phase) and runs out
    once the body trains too, as a real model can. The activations of each failed step are
    tracked by weak references, to see that they are freed.
    """

    def __init__(self, limit: int, only_unfrozen: bool = False) -> None:
        super().__init__()
        self.limit = limit
        self.only_unfrozen = only_unfrozen
        self.failed_steps: list[weakref.ref] = []
        self.trained_batch_sizes: list[int] = []

    def forward(self, x):
        features = self.features(x)
        body_trains = self.features[0].weight.requires_grad
        if self.training and x.shape[0] > self.limit and (body_trains or not self.only_unfrozen):
            self.failed_steps.append(weakref.ref(features))
            raise torch.cuda.OutOfMemoryError(TORCH_MESSAGE)
        if self.training:
            self.trained_batch_sizes.append(x.shape[0])
        return self.fc(features)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def usage_error(shell, line: str) -> str:
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("finetune", line)
    assert type(err.value) is UsageError
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# ----------------------------------------------------------------------------- recognising the error
def test_cuda_and_mps_out_of_memory_are_recognised_other_errors_are_not():
    assert is_out_of_memory(torch.cuda.OutOfMemoryError(TORCH_MESSAGE))
    assert is_out_of_memory(RuntimeError(MPS_MESSAGE))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be reported ..."))
    assert is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"))
    assert not is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x8 and 9x2)"))
    assert not is_out_of_memory(ValueError("out of memory on cuda"))


@pytest.mark.parametrize("message, expected, text", [
    (TORCH_MESSAGE, OomReport("CUDA", 2 * 2**30, int(1.06 * 2**30), int(15.77 * 2**30)),
     "it asked for 2.00 GiB with 1.06 GiB free of 15.77 GiB"),
    (OLD_TORCH_MESSAGE, OomReport("CUDA", 36 * 2**20, int(47.06 * 2**20), int(7.93 * 2**30)),
     "it asked for 36.00 MiB with 47.06 MiB free of 7.93 GiB"),
    (MPS_MESSAGE, OomReport("MPS", 256 * 2**20, None, int(18.13 * 2**30)), "it asked for 256.00 MiB"),
])
def test_the_numbers_are_read_from_torchs_message(message, expected, text):
    error = torch.cuda.OutOfMemoryError(message) if expected.device == "CUDA" else RuntimeError(message)
    report = read_report(error, "cpu")
    assert report == expected
    assert report.numbers() == text


# ----------------------------------------------------------------------------- %finetune without --auto-bs
def test_out_of_memory_is_one_clear_usage_error_and_learn_gets_its_previous_value_back(shell, folder):
    shell.user_ns["hungry"] = HungryNet(limit=3)
    shell.user_ns["learn"] = "a learner trained for an hour"
    message = usage_error(shell, f"hungry {folder} --size 16 --bs 8 --quiet")
    assert "CUDA ran out of memory with batch size 8" in message
    assert "asked for 2.00 GiB with 1.06 GiB free of 15.77 GiB" in message
    assert "--auto-bs" in message and "--bs 4" in message
    assert "no epoch finished, so `learn` gets its previous value back" in message
    assert shell.user_ns["learn"] == "a learner trained for an hour"


def test_out_of_memory_leaves_the_learner_usable(folder):
    net = HungryNet(limit=3)
    before = weights(net)
    learn = jupyter_dl.finetuning.build_learner(folder, net, size=16, bs=8)
    with pytest.raises(UserInputError, match="keeps the weights it had before the frozen phase"):
        learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True)
    assert learn.status == "failed" and learn.history == []
    assert same_weights(weights(learn.model), before)  # the failed phase left no trace
    image = next((folder / "cat").iterdir())
    assert learn.predict(image)[0] in ("cat", "dog")
    net.limit = 100  # memory was freed elsewhere: training the same learner again works
    assert learn.fit(1, quiet=True) == "finished" and len(learn.history) == 1


def test_out_of_memory_in_the_unfrozen_phase_keeps_what_the_frozen_phase_trained(folder):
    net = HungryNet(limit=3, only_unfrozen=True)
    learn = jupyter_dl.finetuning.build_learner(folder, net, size=16, bs=8)
    initial = weights(net)
    after_frozen = {}

    def keep_frozen_result(event):
        if event.kind == ev.FIT_END and event["phase"] == "frozen":
            after_frozen.update(weights(net))

    learn.trainer.bus.subscribe(keep_frozen_result)
    with pytest.raises(UserInputError, match="before the unfrozen phase"):
        learn.fine_tune(epochs=2, freeze_epochs=1, quiet=True)
    assert [r["phase"] for r in learn.history] == ["frozen"]
    assert same_weights(weights(net), after_frozen) and not same_weights(after_frozen, initial)


def test_the_failed_steps_tensors_are_freed_even_when_a_view_keeps_the_error(folder):
    # A view that keeps the ERROR event keeps the exception, and its traceback's frames held
    # the batch and the activations: they must be cleared, or the GPU memory stays taken.
    net = HungryNet(limit=3)
    learn = jupyter_dl.finetuning.build_learner(folder, net, size=16, bs=8)
    recorder = learn.trainer.bus.subscribe(ev.EventRecorder())
    with pytest.raises(UserInputError):
        learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True)
    assert recorder.of(ev.ERROR)  # the error object is still referenced
    gc.collect()
    assert net.failed_steps and all(ref() is None for ref in net.failed_steps)
    assert all(p.grad is None for p in net.parameters())


# ----------------------------------------------------------------------------- --auto-bs
def test_auto_bs_halves_the_batch_until_it_fits_and_says_what_it_chose(shell, folder, capsys):
    net = HungryNet(limit=3)
    shell.user_ns["hungry"] = net
    shell.run_line_magic("finetune", f"hungry {folder} --size 16 --bs 8 --auto-bs --quiet")
    out = capsys.readouterr().out
    assert "ran out of memory with batch size 8" in out and "retrying the frozen phase with batch size 4" in out
    assert "ran out of memory with batch size 4" in out and "retrying the frozen phase with batch size 2" in out
    learn = shell.user_ns["learn"]
    assert learn.status == "finished" and learn.batch_size == 2 and learn.config["bs"] == 2
    assert [r["phase"] for r in learn.history] == ["frozen", "unfrozen"]
    assert net.trained_batch_sizes and max(net.trained_batch_sizes) <= 3
    retries = [e for e in read_run(learn.run_dir)["events"] if e["event"] == "batch_size"]
    assert [(e["from_bs"], e["to_bs"]) for e in retries] == [(8, 4), (4, 2)]
    assert retries[0]["free_bytes"] == int(1.06 * 2**30)


def test_auto_bs_retries_only_the_phase_that_ran_out(folder, capsys):
    net = HungryNet(limit=3, only_unfrozen=True)
    learn = jupyter_dl.finetuning.build_learner(folder, net, size=16, bs=8)
    assert learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, auto_bs=True) == "finished"
    assert "retrying the unfrozen phase with batch size 2" in capsys.readouterr().out
    assert [(r["epoch"], r["phase"]) for r in learn.history] == [(1, "frozen"), (2, "unfrozen")]
    assert learn.batch_size == 2


def test_auto_bs_gives_a_clear_error_when_batch_size_1_does_not_fit(shell, folder):
    net = HungryNet(limit=0)
    shell.user_ns["hungry"] = net
    before = weights(net)
    shell.user_ns.pop("learn", None)
    message = usage_error(shell, f"hungry {folder} --size 16 --bs 4 --auto-bs --quiet")
    assert "even with batch size 1" in message and "1.06 GiB free" in message and "--size" in message
    assert "learn" not in shell.user_ns  # no epoch finished: the variable is not created
    assert same_weights(weights(net), before)


def test_auto_bs_also_retries_the_lr_finder(folder, capsys):
    net = HungryNet(limit=3)
    learn = jupyter_dl.finetuning.build_learner(folder, net, size=16, bs=8)
    before = weights(net)
    result = learn.lr_find(num_it=20, auto_bs=True)
    assert result.lrs and learn.batch_size == 2
    assert "retrying the LR finder sweep with batch size 4" in capsys.readouterr().out
    assert same_weights(weights(net), before)


# ----------------------------------------------------------------------------- background runs
def test_a_background_run_that_runs_out_of_memory_fails_with_a_readable_error(folder):
    learn = jupyter_dl.finetuning.build_learner(folder, HungryNet(limit=3), size=16, bs=8)
    assert learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, background=True) == "running"
    assert learn.wait(60) == "failed"
    assert isinstance(learn.error, UserInputError) and "1.06 GiB free" in str(learn.error)
    assert not learn.running


def test_a_background_run_with_auto_bs_retries_in_its_thread(folder):
    learn = jupyter_dl.finetuning.build_learner(folder, HungryNet(limit=3), size=16, bs=8)
    learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, background=True, auto_bs=True)
    assert learn.wait(60) == "finished" and learn.error is None and learn.batch_size == 2


# ----------------------------------------------------------------------------- smaller batches from the data
def test_image_and_dataset_loaders_change_their_batch_size(folder):
    from torchvision.datasets import ImageFolder

    from jupyter_dl.data import make_loaders, resolve_data

    for data in (folder, ImageFolder(folder)):
        loaders = make_loaders(resolve_data(data), size=16, bs=8, augment="none")
        loaders.set_batch_size(3)
        assert loaders.batch_size == 3
        train = [len(y) for _, y in loaders.train]
        valid = [len(y) for _, y in loaders.valid]
        assert set(train) == {3} and len(train) == loaders.n_train // 3  # full training batches only
        assert max(valid) <= 3 and sum(valid) == loaders.n_valid  # every validation item


def test_fastai_loaders_change_their_batch_size(folder):
    vision = pytest.importorskip("fastai.vision.all")
    from jupyter_dl.data import make_loaders, resolve_data

    dls = vision.ImageDataLoaders.from_folder(folder, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16), bs=8,
                                              num_workers=0, device="cpu")
    loaders = make_loaders(resolve_data(dls), augment="none")
    assert loaders.batch_size == 8
    loaders.set_batch_size(2)
    assert loaders.batch_size == 2 and {len(y) for _, y in loaders.train} == {2}

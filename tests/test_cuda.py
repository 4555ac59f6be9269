"""The CUDA paths, for real: NVML on a GPU, torch's allocator numbers, mixed-precision fine-tuning.

Skipped without a CUDA GPU (CI has none); run on a lent GPU machine with
``python -m pytest -m gpu tests/test_gpu.py``.
"""
from __future__ import annotations

import pytest
import torch

import jupyter_dl
from jupyter_dl.monitor import Sampler, snapshot

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

GiB = 1024 ** 3


def test_nvml_reads_the_real_gpu():
    sample = snapshot()
    assert sample.gpu_error is None, sample.gpu_error
    assert len(sample.gpus) == torch.cuda.device_count()
    gpu = sample.gpus[0]
    assert gpu.name and gpu.memory_total > 0 and 0 <= gpu.memory_used <= gpu.memory_total
    assert gpu.util_percent is not None and 0 <= gpu.util_percent <= 100
    assert gpu.temperature_c is None or 0 < gpu.temperature_c < 120
    assert gpu.power_w is None or 0 < gpu.power_w < 2000


def test_this_process_memory_is_seen_by_torch_and_by_nvml():
    block = torch.empty(GiB, dtype=torch.uint8, device="cuda")
    try:
        sample = Sampler().sample_now()
        memory = sample.device_memory
        assert memory is not None and memory.backend == "cuda"
        assert memory.allocated >= GiB and memory.reserved >= memory.allocated and memory.peak >= GiB
        gpu = sample.gpus[torch.cuda.current_device()]
        assert gpu.memory_used >= GiB
        if gpu.process_memory is not None:  # None where the driver reports other pids (containers)
            assert gpu.process_memory >= GiB
    finally:
        del block
        torch.cuda.empty_cache()


def test_mixed_precision_fine_tuning_learns_on_the_gpu():
    for precision in ("bf16", "fp16"):  # fp16 goes through the GradScaler
        learner = jupyter_dl.finetune("sample", epochs=2, size=64, precision=precision, quiet=True,
                                      device="cuda")
        assert learner.history[-1]["accuracy"] >= 0.90, (precision, learner.history)
        assert next(learner.model.parameters()).device.type == "cuda"


def test_gpu_once_shows_the_gpu(shell, capsys):
    shell.run_line_magic("gpu", "--once")
    out = capsys.readouterr().out
    assert torch.cuda.get_device_name(0) in out


def test_the_mistakes_explorer_on_the_gpu_agrees_with_training():
    from jupyter_dl.browser.interpretation import interpret

    learner = jupyter_dl.finetune("sample", epochs=1, size=64, quiet=True, device="cuda")
    interp = interpret(learner)
    assert len(interp.predictions) == len(interp.catalog.split_items("valid")) > 300
    # the learner keeps its best epoch's weights; one borderline image may flip under GPU nondeterminism
    best = max(record["accuracy"] for record in learner.history)
    assert interp.accuracy == pytest.approx(best, abs=2 / len(interp.predictions))
    matrix = interp.confusion_matrix()
    assert sum(map(sum, matrix)) == len(interp.predictions)
    assert all(0.0 <= p.confidence <= 1.0 and p.loss >= 0.0 for p in interp.predictions)


def test_devices_launch_after_this_process_has_used_cuda():
    """The classic notebook failure (a forked child of a CUDA process cannot use CUDA) cannot happen: spawn."""
    torch.zeros(1, device="cuda")  # the kernel has initialised CUDA
    assert torch.cuda.is_initialized()
    learn = jupyter_dl.finetune("sample", "test_efficientnet", pretrained=False, size=32, epochs=1, freeze_epochs=0,
                                bs=32, devices=1, quiet=True)
    assert learn.status == "finished" and learn.ranks == {"processes": 1, "same_weights": True}
    assert learn.device.type == "cuda"  # the kernel already used CUDA: the learner comes back on its first GPU

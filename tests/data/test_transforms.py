"""BatchTransform on the CPU: its ops run on one intra-op thread and the thread count is put back."""
from __future__ import annotations

import pytest
import torch

from jupyter_dl.data import BatchTransform


@pytest.mark.parametrize("augment", ["none", "light"])
def test_the_cpu_batch_transform_runs_on_one_thread_and_puts_the_count_back(augment, monkeypatch):
    import torch.nn.functional as F

    seen = []
    original = F.grid_sample if augment == "light" else torch.addcmul
    target = (F, "grid_sample") if augment == "light" else (torch, "addcmul")

    def watching(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    pixels = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    expected = BatchTransform(augment=augment, seed=3)._transform(pixels)  # the same work, threads untouched
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(*target, watching)
        out = BatchTransform(augment=augment, seed=3)(pixels)
        assert seen == [1]
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(*target, lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            BatchTransform(augment=augment)(pixels)
        assert torch.get_num_threads() == 2  # put back after an error too
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)

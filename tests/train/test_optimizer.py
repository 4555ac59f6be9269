"""build_optimizer: the fused AdamW on the CPU computes what the default one does; the Trainer uses it."""
import pytest
import torch
from torch import nn

from jupyter_dl.train import EventRecorder, Trainer
from jupyter_dl.train.optimizer import build_optimizer, use_fused

torch.set_num_threads(1)


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))


def test_fused_is_used_on_the_cpu_and_on_cuda():
    assert use_fused(torch.device("cpu"))
    assert use_fused(torch.device("cuda"))
    assert not use_fused(torch.device("meta"))


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_fused_cpu_adamw_takes_the_same_steps_as_the_default(wd):
    nets = [small_net(), small_net()]
    opts = [build_optimizer(net, [list(net.parameters())], wd, mom=0.95, fused=fused).optimizer
            for net, fused in zip(nets, (False, True))]
    assert opts[1].defaults["fused"] and not opts[0].defaults.get("fused")
    g = torch.Generator().manual_seed(1)
    for step in range(5):  # the same gradients for both (no feedback through the net: rounding cannot grow)
        grads = [torch.randn(p.shape, generator=g) for p in nets[0].parameters()]
        for net, opt in zip(nets, opts):
            for group in opt.param_groups:  # as the one-cycle schedule does before each step
                group["lr"], group["betas"] = 1e-2 * (step + 1), (0.95 - 0.02 * step, group["betas"][1])
            for p, grad in zip(net.parameters(), grads):
                p.grad = grad.clone()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(next(nets[0].parameters()), next(small_net().parameters()))  # they did move


def test_a_cpu_fit_steps_with_the_fused_adamw_and_learns():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(64) % 2
    x = torch.randn(64, 3, 8, 8, generator=g) + y.view(-1, 1, 1, 1).float() * 2
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    trainer = Trainer(small_net(), device="cpu", seed=0)
    fused_flags = []
    trainer.bus.subscribe(lambda e: fused_flags.append(trainer.optimizer.defaults.get("fused"))
                          if e.kind == "batch_end" else None)
    recorder = trainer.bus.subscribe(EventRecorder())
    assert trainer.fit_one_cycle(batches, batches, 3, 1e-2) == "finished"
    assert fused_flags and all(fused_flags)
    assert len(recorder.of("epoch_end")) == 3
    assert trainer.history[-1]["accuracy"] > 0.9

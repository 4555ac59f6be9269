"""AdamW over layer groups, with no weight decay on biases and normalization params.

Each layer group (a list of params with its own learning rate) becomes up to two
torch param groups: one with weight decay, one without. Only params that require
grad go in, so a frozen body costs nothing in the optimizer.

The fused AdamW (one kernel per parameter instead of a dozen tensor ops) is used on CUDA and on
the CPU (:func:`use_fused`). On the CPU torch's default is the single-tensor loop; measured in
``benchmarks/bench_cpu_job.py`` (resnet18, 11 M params, 2 vCPUs): a step took 190-380 ms fused
against 420-900 ms by default, and each of the default's ~500 small parallel ops per step waits for
a descheduled thread when another process shares the cores. The numbers it computes are the same
up to float rounding (a test compares them).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UserInputError
from .freezing import norm_param_ids

# fastai's Adam defaults: beta2 (sqr_mom) 0.99 and eps 1e-5; beta1 is set by the schedule each step.
ADAM_BETA2 = 0.99
ADAM_EPS = 1e-5


@dataclass
class LayerGroupOptimizer:
    """The torch optimizer and, for each of its param groups, the layer group it came from."""

    optimizer: torch.optim.Optimizer
    layer_of_group: list[int]   # for each torch param group: the index of its layer group
    n_layer_groups: int

    def set_hypers(self, lrs: Sequence[float], mom: float) -> None:
        """Set each layer group's lr and Adam's beta1 (plain Python floats: no device work)."""
        for group, layer in zip(self.optimizer.param_groups, self.layer_of_group):
            group["lr"] = lrs[layer]
            group["betas"] = (mom, group["betas"][1])


def no_decay_ids(model: nn.Module) -> set[int]:
    """Params that get no weight decay: biases and other 1-d params, and every norm-layer param."""
    ids = norm_param_ids(model)
    ids.update(id(p) for p in model.parameters() if p.ndim <= 1)
    return ids


# Devices whose torch AdamW has a fused implementation we use (MPS has one too, left out: untested here).
FUSED_DEVICE_TYPES = ("cuda", "cpu")


def use_fused(device: torch.device) -> bool:
    """Whether training on ``device`` uses the fused AdamW (see the module doc)."""
    return device.type in FUSED_DEVICE_TYPES


def build_optimizer(model: nn.Module, layer_groups: Sequence[Sequence[nn.Parameter]], wd: float,
                    *, mom: float = 0.9, fused: bool = False) -> LayerGroupOptimizer:
    """AdamW (decoupled weight decay ``wd``) over the trainable params of ``layer_groups``.

    The lrs are set later by :meth:`LayerGroupOptimizer.set_hypers`, before the first step.
    """
    skip_decay = no_decay_ids(model)
    seen: set[int] = set()
    torch_groups: list[dict] = []
    layer_of_group: list[int] = []
    for index, group in enumerate(layer_groups):
        decay: list[nn.Parameter] = []
        plain: list[nn.Parameter] = []
        for p in group:
            if id(p) in seen:
                raise UserInputError(
                    "A parameter appears in more than one layer group: give each parameter to exactly one group.")
            seen.add(id(p))
            if p.requires_grad:
                (plain if id(p) in skip_decay else decay).append(p)
        for params, group_wd in ((decay, wd), (plain, 0.0)):
            if params:
                torch_groups.append({"params": params, "weight_decay": group_wd})
                layer_of_group.append(index)
    if not torch_groups:
        raise UserInputError(
            "Nothing to train: every parameter is frozen (requires_grad=False); unfreeze the model or "
            "pass parameters that require grad.")
    kwargs = {"fused": True} if fused else {}
    optimizer = torch.optim.AdamW(torch_groups, lr=0.0, betas=(mom, ADAM_BETA2), eps=ADAM_EPS,
                                  weight_decay=wd, **kwargs)
    return LayerGroupOptimizer(optimizer, layer_of_group, len(layer_groups))

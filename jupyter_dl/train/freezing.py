"""Freeze the body of a model (train only the head) and unfreeze it, like fastai.

A "layer group" is a list of parameters; the last group is the head. When the
body is frozen with ``train_bn=True`` its normalization layers keep training,
because their statistics must adapt to the new data (fastai's default).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import nn

# Normalization layers: their affine params stay trainable in a frozen body (train_bn) and
# get no weight decay. _NormBase covers BatchNorm*d, SyncBatchNorm and InstanceNorm*d.
NORM_TYPES: tuple[type, ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                                nn.LocalResponseNorm) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())


def norm_param_ids(model: nn.Module) -> set[int]:
    """ids of the parameters that belong directly to a normalization layer of ``model``."""
    return {id(p) for m in model.modules() if isinstance(m, NORM_TYPES) for p in m.parameters(recurse=False)}


def freeze(model: nn.Module, layer_groups: Sequence[Iterable[nn.Parameter]], train_bn: bool = True) -> None:
    """Freeze every group but the last (the head).

    Afterwards exactly: head params require grad; body params do not, except (when
    ``train_bn``) the params of BatchNorm/InstanceNorm/LayerNorm/GroupNorm layers.
    Params of ``model`` that are in no group are left as they are.
    """
    groups = [list(g) for g in layer_groups]
    if not groups:
        return
    norm_ids = norm_param_ids(model) if train_bn else set()
    for group in groups[:-1]:
        for p in group:
            p.requires_grad_(id(p) in norm_ids)
    for p in groups[-1]:
        p.requires_grad_(True)


def unfreeze(model: nn.Module) -> None:
    """Every parameter of ``model`` requires grad."""
    for p in model.parameters():
        p.requires_grad_(True)


def requires_grad_state(model: nn.Module) -> dict[str, bool]:
    """Parameter name -> requires_grad: to restore a model's frozen state exactly."""
    return {name: p.requires_grad for name, p in model.named_parameters()}


def set_requires_grad_state(model: nn.Module, state: dict[str, bool]) -> None:
    """Put back the flags :func:`requires_grad_state` saved; parameters it does not name keep theirs."""
    for name, p in model.named_parameters():
        if name in state:
            p.requires_grad_(state[name])

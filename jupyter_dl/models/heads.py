"""Find, resize and separate a classifier's head; split its body into early and late layers.

Fine-tuning trains the head alone first, then everything with lower learning
rates for early layers, so every parameter must land in exactly one group.
Heads are remembered by their dotted module names (not by object), which
survive ``model.to(device)`` and a rebuilt model.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import torch.nn as nn

_CLASSIFIER_ATTRS = ("fc", "classifier", "heads", "head", "last_linear")


def _set_submodule(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def last_linear_name(module: nn.Module, prefix: str = "") -> str | None:
    """Dotted name (relative to the root model) of the last nn.Linear in ``module``, or None."""
    last = None
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Linear) and (name or prefix):  # a bare root Linear cannot be swapped in place
            last = name
    if last is None:
        return None
    return f"{prefix}.{last}" if prefix and last else (prefix or last)


def resized_linear(old: nn.Linear, n_classes: int) -> nn.Linear:
    """A freshly initialised Linear with ``old``'s inputs, bias, device and dtype and ``n_classes`` outputs."""
    return nn.Linear(old.in_features, n_classes, bias=old.bias is not None,
                     device=old.weight.device, dtype=old.weight.dtype)


def find_head_name(model: nn.Module) -> str | None:
    """The classifier's final layer: an obvious classifier attribute's last Linear, else the model's last Linear."""
    for attr in _CLASSIFIER_ATTRS:
        sub = getattr(model, attr, None)
        if isinstance(sub, nn.Module):
            name = last_linear_name(sub, attr)
            if name is not None:
                return name
    return last_linear_name(model)


def resize_head(model: nn.Module, n_classes: int) -> str | None:
    """Replace the final Linear if it does not output ``n_classes``; return its dotted name (None if no Linear)."""
    name = find_head_name(model)
    if name is None:
        return None
    old = cast(nn.Linear, model.get_submodule(name))  # find_head_name names a Linear
    if old.out_features != n_classes:
        _set_submodule(model, name, resized_linear(old, n_classes))
    return name


def resize_torchvision_head(model: nn.Module, n_classes: int) -> str:
    """Size a torchvision classifier's head for ``n_classes``; returns the head's dotted name.

    SqueezeNet classifies with a 1x1 conv instead of a Linear; Inception/GoogLeNet
    auxiliary heads are dropped because fine-tuning trains only the main output.
    """
    if getattr(model, "aux_logits", False):
        model.aux_logits = False  # type: ignore[assignment]  # torch types Module attributes as Tensor | Module
        for aux in ("AuxLogits", "aux1", "aux2"):
            if hasattr(model, aux):
                setattr(model, aux, None)
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Sequential) and not any(isinstance(m, nn.Linear) for m in classifier.modules()):
        for index in reversed(range(len(classifier))):
            conv = classifier[index]
            if isinstance(conv, nn.Conv2d):
                if conv.out_channels != n_classes:
                    kernel_size = cast("tuple[int, int]", conv.kernel_size)  # typed tuple[int, ...]; a Conv2d's has two
                    classifier[index] = nn.Conv2d(conv.in_channels, n_classes, kernel_size,
                                                  device=conv.weight.device, dtype=conv.weight.dtype)
                model.num_classes = n_classes  # type: ignore[assignment]  # as aux_logits above
                return f"classifier.{index}"
    name = resize_head(model, n_classes)
    if name is None:
        raise RuntimeError(f"Could not find the classifier of {type(model).__name__}.")
    return name


def timm_head_names(model: nn.Module) -> tuple[str, ...]:
    """Dotted names of a timm model's classifier module(s) (distilled models have two)."""
    classifiers = model.get_classifier()  # type: ignore[operator]  # timm's method; torch types it Tensor | Module
    wanted = classifiers if isinstance(classifiers, (tuple, list)) else (classifiers,)
    wanted_ids = {id(m) for m in wanted}
    return tuple(name for name, sub in model.named_modules() if id(sub) in wanted_ids and name)


def _params_under(model: nn.Module, prefixes: Iterable[str]) -> list[tuple[str, nn.Parameter]]:
    prefixes = tuple(prefixes)
    return [(n, p) for n, p in model.named_parameters()
            if any(n == pre or n.startswith(pre + ".") for pre in prefixes)]


def _fallback_head(model: nn.Module) -> tuple[str, ...]:
    """The last module that owns parameters: the best guess when a model has no Linear."""
    owners = [name for name, sub in model.named_modules()
              if name and any(True for _ in sub.parameters(recurse=False))]
    return (owners[-1],) if owners else ()


def split_head(model: nn.Module, head_names: tuple[str, ...]) -> tuple[list, list]:
    """``(body, head)`` lists of ``(name, parameter)``, in registration order, each parameter once."""
    names = head_names or _fallback_head(model)
    head = _params_under(model, names)
    head_ids = {id(p) for _, p in head}
    body = [(n, p) for n, p in model.named_parameters() if id(p) not in head_ids]
    return body, head


def _owner(param_name: str) -> str:
    return param_name.rpartition(".")[0]


def _stage_split_index(body: list, stage_module: str) -> int | None:
    """Index just after the last body parameter inside ``stage_module``."""
    last = None
    for index, (name, _) in enumerate(body):
        if name.startswith(stage_module + "."):
            last = index
    return None if last is None else last + 1


def _half_split_index(body: list) -> int:
    """The module boundary closest to half the parameter tensors (keeps a layer's weight and bias together)."""
    half = len(body) / 2
    boundaries = [i for i in range(1, len(body)) if _owner(body[i][0]) != _owner(body[i - 1][0])]
    return min(boundaries, key=lambda i: abs(i - half)) if boundaries else len(body) // 2


def _middle_stage(feature_info) -> str | None:
    """The timm stage to split after: the last one at stride 8, else the middle one (e.g. ViT blocks)."""
    if not isinstance(feature_info, list) or len(feature_info) < 2 or not isinstance(feature_info[0], dict):
        return None
    reductions = [info.get("reduction") for info in feature_info]
    at_stride_8 = [info for info, red in zip(feature_info, reductions) if isinstance(red, int) and red <= 8]
    if len(set(reductions)) > 1 and 0 < len(at_stride_8) < len(feature_info):
        return at_stride_8[-1].get("module")
    return feature_info[(len(feature_info) - 1) // 2].get("module")


def split_body(model: nn.Module, body: list) -> tuple[list, list]:
    """Body parameters as (early, late).

    For timm models the split follows the network's feature stages (after the
    stride-8 stage, like fastai's resnet split after layer2); otherwise at the
    module boundary nearest half the parameter tensors.
    """
    index = None
    stage = _middle_stage(getattr(model, "feature_info", None))
    if stage:
        index = _stage_split_index(body, stage)
    if index is None or not 0 < index < len(body):
        index = _half_split_index(body)
    return body[:index], body[index:]


def remove_head(model: nn.Module, head_names: tuple[str, ...]) -> nn.Module:
    """Replace the classifier modules ``head_names`` by ``nn.Identity`` in place: the model then outputs the
    pooled features its head read (the body alone, e.g. for embeddings). Returns ``model``."""
    for name in head_names:
        _set_submodule(model, name, nn.Identity())
    return model

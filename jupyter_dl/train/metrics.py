"""Classification metrics computed on the device from a whole epoch's outputs.

Each metric maps (logits or probabilities ``N x C``, integer targets ``N``) to a
0-dim tensor on the same device, so the Trainer can read every metric of an
epoch with a single host-device sync.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..errors import UserInputError


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The share of rows whose highest output is the target's class."""
    return (outputs.argmax(dim=1) == targets).float().mean()


def error_rate(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``1 - accuracy``: the share of rows whose highest output is not the target's class."""
    return 1.0 - accuracy(outputs, targets)


def f1_macro(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Unweighted mean of per-class F1 over the classes that occur in targets or predictions.

    That is scikit-learn's ``f1_score(average="macro")``: a class that is neither
    present nor predicted says nothing and is left out.
    """
    n_classes = outputs.shape[1]
    preds = outputs.argmax(dim=1)
    targets = targets.long()
    confusion = torch.bincount(targets * n_classes + preds, minlength=n_classes * n_classes)
    confusion = confusion.view(n_classes, n_classes).float()
    true_pos = confusion.diagonal()
    false_pos = confusion.sum(dim=0) - true_pos
    false_neg = confusion.sum(dim=1) - true_pos
    denom = 2 * true_pos + false_pos + false_neg
    present = denom > 0
    per_class = torch.where(present, 2 * true_pos / denom.clamp(min=1), torch.zeros_like(denom))
    return per_class.sum() / present.sum().clamp(min=1)


# Name -> function. Whether a metric is better when higher is decided by its name, in one place for
# every metric and every view: jupyter_dl.train.records.higher_is_better.
METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "accuracy": accuracy,
    "error_rate": error_rate,
    "f1": f1_macro,
}


def check_metrics(names) -> tuple[str, ...]:
    """Validate metric names (a str or a sequence of str); raise UserInputError on an unknown one."""
    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    names = tuple(str(n).strip().lower() for n in names)
    for name in names:
        if name not in METRICS:
            raise UserInputError(
                f"Unknown metric {name!r}: use one or more of {', '.join(METRICS)}.")
    return tuple(dict.fromkeys(names))  # drop repeats, keep order


def compute_metrics(names: tuple[str, ...], outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every named metric as a 0-dim device tensor (no sync)."""
    return {name: METRICS[name](outputs, targets) for name in names}

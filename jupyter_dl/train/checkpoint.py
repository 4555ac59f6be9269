"""A trainer's state at the end of an epoch, and going on from it later (resume).

At an epoch end, the weights, the optimizer's state (AdamW's moments and step counts), the
gradient scaler's and where the fit stands (its phase, its planned epochs, how many are done)
are all a fit needs to go on as if it had never stopped: the one-cycle schedule is a function of
the fit's progress, so the next epoch starts at the learning rate it would have had. With the
random number generators' states too (torch's, and those that shuffle and augment the batches),
the epochs after a resume are the very ones the run would have trained (bit for bit on a CPU).
:func:`capture` copies them to the CPU (training goes on changing its own);
:class:`FitResume` hands them back to :meth:`~jupyter_dl.train.trainer.Trainer.fit_one_cycle`.
Nothing here touches a file: the learner decides where the state goes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .best_weights import cpu_state_copy

# The optimizer's own switches (how its step runs on this device), never taken from a saved state:
# a state saved on a GPU (fused AdamW) resumes on a CPU and the other way round.
_IMPLEMENTATION_KEYS = ("fused", "foreach", "capturable", "differentiable")


@dataclass(frozen=True)
class FitPosition:
    """Where a running fit stands: its phase, the epochs it was asked for, and how many are done."""

    phase: str
    epochs: int
    done: int


@dataclass
class FitResume:
    """What a fit goes on from: its phase, the epochs already done, the optimizer's and scaler's state."""

    phase: str
    done: int
    optimizer: dict | None = None
    scaler: dict | None = None


def cpu_copy(value: Any) -> Any:
    """``value`` with every tensor in it (nested dicts, lists, tuples) copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cpu_copy(v) for v in value)
    return value


def capture(trainer: Any, generators: Sequence[torch.Generator] = ()) -> dict[str, Any] | None:
    """The trainer's state now, as CPU copies: model, optimizer, scaler, losses, rng, position (a FitPosition).

    ``generators``: the data's own random generators (shuffling, augmentation), saved with torch's.
    Meant for an epoch end of a running fit (an EPOCH_END subscriber); None between fits.
    """
    position = trainer.fit_position
    if position is None or trainer.optimizer is None:
        return None
    scaler = trainer.scaler
    return {
        "model": cpu_state_copy(trainer.model),
        "optimizer": cpu_copy(trainer.optimizer.state_dict()),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "losses": trainer.losses.rows(),
        "rng": rng_state(generators),
        "position": position,
    }


def rng_state(generators: Sequence[torch.Generator] = ()) -> dict[str, Any]:
    """torch's random states (CPU, and CUDA once it is in use) and those of ``generators``, as CPU tensors."""
    return {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "generators": [g.get_state() for g in generators]}


def set_rng_state(state: dict[str, Any] | None, generators: Sequence[torch.Generator] = ()) -> None:
    """Put back what :func:`rng_state` saved; parts that do not fit this machine or data are left as they are."""
    if not state:
        return
    if isinstance(state.get("cpu"), torch.Tensor):
        torch.set_rng_state(state["cpu"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    saved = state.get("generators") or []
    if len(saved) == len(generators):
        for generator, value in zip(generators, saved):
            generator.set_state(value)


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load a saved optimizer state into ``optimizer`` (built the same way), keeping how its steps run here."""
    groups = []
    for saved_group, live in zip(saved["param_groups"], optimizer.param_groups):
        group = dict(saved_group)
        for key in _IMPLEMENTATION_KEYS:
            if key in live:
                group[key] = live[key]
            else:
                group.pop(key, None)
        groups.append(group)
    groups.extend(saved["param_groups"][len(groups):])  # a mismatch: torch says so below
    optimizer.load_state_dict({**saved, "param_groups": groups})

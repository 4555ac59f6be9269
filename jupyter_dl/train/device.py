"""Resolve the user's device / precision / memory-format choices into concrete settings.

The api calls these once (to show the user what was picked) and the Trainer
calls them again with the same arguments; both get the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UserInputError

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu; an explicit device must exist here."""
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "gpu":
        name = "cuda"
    try:
        resolved = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserInputError(
            f"Unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps.") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise UserInputError(
                f"Device {name!r} was asked for but CUDA is not available here: use --device cpu or auto.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise UserInputError(
                f"Device {name!r} does not exist: this machine has {torch.cuda.device_count()} CUDA "
                f"device(s); use cuda:0 or auto.")
    elif resolved.type == "mps":
        if not _mps_available():
            raise UserInputError(
                f"Device {name!r} was asked for but Apple's MPS is not available here: use --device cpu or auto.")
    elif resolved.type != "cpu":
        raise UserInputError(f"Unsupported device {name!r}: use auto, cpu, cuda, cuda:N or mps.")
    return resolved


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@dataclass(frozen=True)
class Precision:
    """A resolved precision: its name, the autocast dtype (None: no autocast), whether to scale the loss."""

    name: str                            # "bf16" | "fp16" | "fp32"
    autocast_dtype: torch.dtype | None  # None: no autocast
    use_grad_scaler: bool                # fp16 on CUDA needs loss scaling

    def __str__(self) -> str:
        return self.name


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """"auto": bf16 autocast on CUDA if supported, else fp16 + GradScaler; fp32 elsewhere."""
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise UserInputError(f"Unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}.")
    if name == "auto":
        if device.type == "cuda":
            name = "bf16" if _cuda_bf16_supported(device) else "fp16"
        else:
            name = "fp32"  # CPU bf16 autocast is slower than fp32 on most CPUs; MPS kept simple
    if name == "fp32":
        return Precision("fp32", None, False)
    if name == "fp16":
        if device.type != "cuda":
            raise UserInputError(
                f"Precision fp16 needs a CUDA device but the device is {device.type}: "
                f"use --precision bf16, fp32 or auto.")
        return Precision("fp16", torch.float16, True)
    # bf16
    if device.type == "cuda" and not _cuda_bf16_supported(device):
        raise UserInputError("This GPU does not support bf16: use --precision fp16 or auto.")
    if device.type == "mps":
        raise UserInputError("Precision bf16 is not supported on MPS here: use --precision fp32 or auto.")
    return Precision("bf16", torch.bfloat16, False)


def _cuda_bf16_supported(device: torch.device) -> bool:
    try:
        with torch.cuda.device(device):
            return bool(torch.cuda.is_bf16_supported())
    except Exception:  # an odd driver: fall back to fp16, which every CUDA GPU has
        return False


def resolve_channels_last(channels_last: str | bool, device: torch.device) -> bool:
    """"auto" -> True on CUDA only (tensor cores like NHWC; CPU and MPS gain little or lose)."""
    if isinstance(channels_last, bool):
        return channels_last
    name = str(channels_last).strip().lower()
    if name == "auto":
        return device.type == "cuda"
    if name in ("true", "yes", "1", "on"):
        return True
    if name in ("false", "no", "0", "off"):
        return False
    raise UserInputError(f"Unknown channels_last value {channels_last!r}: use auto, true or false.")

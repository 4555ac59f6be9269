"""Out of GPU memory during training: recognise it, say what was asked and free, free it, retry smaller.

When CUDA (or Apple's MPS) runs out of memory in the middle of a fit, the failed
step's tensors are still alive: the exception's traceback keeps every frame of
the training loop, and each frame keeps its locals (the batch, the activations,
the loss and its graph, the optimizer's state), and the parameters keep their
half-computed ``.grad``. :func:`release_memory` drops all of that, so that a
``predict``, a later fit or a retry with a smaller batch gets the memory back.

:class:`OomGuard` runs one training phase (a ``fit_one_cycle``, the LR finder).
When the phase runs out of memory it is rolled back: the weights, the history
and the best-epoch record are put back as they were when the phase started (a
phase that finished before it, fine_tune's frozen phase say, is kept). Then the
guard either raises :class:`TrainingOutOfMemory`, one sentence with the numbers
and what to do, or, with ``auto=True``, halves the batch size and runs the phase
again from its start, until it fits or batch size 1 still does not.

Why the phase restarts rather than resuming at the failed step: its one-cycle
schedule spans all of the phase's steps, and their number depends on the batch
size; a restart gives the schedule the phase would have had with the smaller
batch from the start. The learning rate is kept (fastai does not scale it).
"""
from __future__ import annotations

import gc
import re
import traceback
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch

from ..errors import UserInputError
from .best_weights import cpu_state_copy
from .trainer import Trainer

T = TypeVar("T")

# torch.OutOfMemoryError since 2.5; torch.cuda.OutOfMemoryError (the same class now) before.
_TORCH_OOM = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError

_SIZE = r"([\d.]+)\s*(bytes|[KMGTP]i?B|B)\b"
_ASKED = re.compile(r"Tried to allocate " + _SIZE, re.IGNORECASE)
# torch >= 2.1: "GPU 0 has a total capacity of 15.77 GiB of which 1.06 GiB is free."
# older: "(GPU 0; 7.93 GiB total capacity; 130.35 MiB already allocated; 47.06 MiB free; ...)"
# MPS: "MPS backend out of memory (MPS allocated: 1.20 GB, other allocations: 3.00 GB, max allowed: 18.13 GB)"
_FREE = (re.compile(r"of which " + _SIZE + r" is free", re.IGNORECASE),
         re.compile(_SIZE + r" free", re.IGNORECASE))
_TOTAL = (re.compile(r"total capacity of " + _SIZE, re.IGNORECASE),
          re.compile(_SIZE + r" total capacity", re.IGNORECASE),
          re.compile(r"max allowed: " + _SIZE, re.IGNORECASE))
_UNITS = {"b": 1, "bytes": 1, "kb": 2**10, "kib": 2**10, "mb": 2**20, "mib": 2**20, "gb": 2**30, "gib": 2**30,
          "tb": 2**40, "tib": 2**40, "pb": 2**50, "pib": 2**50}


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA or MPS out-of-memory error (not for the host's RAM: halving the batch is no cure there)."""
    if isinstance(exc, _TORCH_OOM):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    first_line = str(exc).split("\n", 1)[0].lower()
    # "CUDA error: out of memory" and the *_STATUS_ALLOC_FAILED codes come from CUDA, cuBLAS or cuDNN
    # allocating outside torch's allocator; "MPS backend out of memory" is how MPS says it.
    if "status_alloc_failed" in first_line:
        return True
    return "out of memory" in first_line and ("cuda" in first_line or "mps" in first_line)


def torch_size_text(n: int | None) -> str:
    """2**30 -> "1.00 GiB": sizes written as torch writes them in its out-of-memory messages (binary, 2 decimals).

    Not :func:`jupyter_dl.ui.formatting.format_bytes` ("1.0 GB"), on purpose: the sentence quotes torch's numbers.
    """
    if n is None:
        return "?"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} bytes"


def _bytes(patterns, text: str) -> int | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return None


@dataclass(frozen=True)
class OomReport:
    """What an out-of-memory error said: the accelerator, and the bytes asked for, free and in total."""

    device: str                 # "CUDA" or "MPS"
    asked: int | None = None
    free: int | None = None
    total: int | None = None

    def numbers(self) -> str:
        """E.g. "it asked for 2.00 GiB with 1.06 GiB free of 15.77 GiB" (the parts that are known)."""
        parts = []
        if self.asked is not None:
            parts.append(f"it asked for {torch_size_text(self.asked)}")
        if self.free is not None:
            parts.append(f"{'with ' if parts else ''}{torch_size_text(self.free)} free"
                         + (f" of {torch_size_text(self.total)}" if self.total is not None else ""))
        return " ".join(parts)

    def as_dict(self) -> dict:
        """The report as device, asked_bytes, free_bytes, total_bytes (a retry's details)."""
        return {"device": self.device, "asked_bytes": self.asked, "free_bytes": self.free,
                "total_bytes": self.total}


def read_report(exc: BaseException, device: torch.device | str | None = None) -> OomReport:
    """The numbers in torch's message; what it leaves out is asked of the device (call before freeing)."""
    text = str(exc)
    device = torch.device(device) if device is not None else None
    name = "MPS" if "mps" in text.split("\n", 1)[0].lower() or (device is not None and device.type == "mps") \
        else "CUDA"
    asked, free, total = _bytes((_ASKED,), text), _bytes(_FREE, text), _bytes(_TOTAL, text)
    if free is None and device is not None and device.type == "cuda" and torch.cuda.is_available():
        try:
            free, total_now = torch.cuda.mem_get_info(device)
            total = total if total is not None else total_now
        except RuntimeError:
            pass
    return OomReport(name, asked, free, total)


def release_memory(exc: BaseException | None, model: torch.nn.Module | None = None,
                   device: torch.device | str | None = None) -> None:
    """Free what a failed step left on the device (the caller then lets go of ``exc``).

    The frames in ``exc``'s traceback (and in the errors chained to it) are cleared,
    which frees their locals; the parameters' gradients are dropped; a garbage
    collection breaks the exception/frame cycles; the allocator's cache is emptied
    so that the memory is free for the retry and shows as free.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
    if model is not None:
        for param in model.parameters():
            param.grad = None
    gc.collect()
    kind = torch.device(device).type if device is not None else None
    if kind == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif kind == "mps" and hasattr(torch, "mps") and hasattr(torch.mps, "empty_cache"):
        torch.mps.empty_cache()


class TrainingOutOfMemory(UserInputError):
    """The accelerator ran out of memory and the batch size was not (or could not be) made smaller.

    ``report`` holds the numbers, ``batch_size`` the batch size that failed.
    """

    def __init__(self, message: str, report: OomReport, batch_size: int | None) -> None:
        super().__init__(message)
        self.report = report
        self.batch_size = batch_size


@dataclass
class _PhaseStart:
    """What a rolled-back phase puts back: weights (a CPU copy), history length, best-epoch record."""

    weights: dict
    n_history: int
    best: tuple

    @classmethod
    def of(cls, trainer: Trainer) -> _PhaseStart:
        best = trainer.best
        return cls(cpu_state_copy(trainer.model), len(trainer.history), (best.epoch, best.value, best.state))

    def restore(self, trainer: Trainer) -> None:
        trainer.model.load_state_dict(self.weights)
        del trainer.history[self.n_history:]
        trainer.best.epoch, trainer.best.value, trainer.best.state = self.best


class OomGuard:
    """Runs training phases so that running out of memory rolls the phase back and either says so or retries.

    ``batch_size``: the batch size the data currently gives (None when unknown).
    ``rebatch(bs)``: makes the data give batches of ``bs`` from the next epoch on
    (needed for ``auto``). ``auto``: halve the batch size and retry the phase.
    ``on_retry(message, details)``: told each time the batch size is halved (details: from_bs,
    to_bs, during, and the numbers of :meth:`OomReport.as_dict`).
    ``name``: what the user calls the learner, for the messages; ``kept(what)``: the clause that says
    what the user still has after the ``what`` failed (default: the learner, as it was before it).
    """

    def __init__(self, trainer: Trainer, *, batch_size: int | None, rebatch: Callable[[int], None] | None = None,
                 auto: bool = False, on_retry: Callable[[str, dict], None] | None = None,
                 name: str = "learn", kept: Callable[[str], str] | None = None) -> None:
        self.trainer = trainer
        self.batch_size = batch_size
        self.rebatch = rebatch
        self.auto = auto
        self.on_retry = on_retry
        self.name = name
        self.kept = kept
        self.retries: list[dict] = []   # one per halving: from_bs, to_bs, phase and the numbers

    def fit_one_cycle(self, train, valid, epochs, lrs, **options) -> str:
        """``Trainer.fit_one_cycle`` with the same arguments, guarded (``train``/``valid`` are rebatched in place)."""
        phase = options.get("phase", "train")
        return self.run(lambda: self.trainer.fit_one_cycle(train, valid, epochs, lrs, **options),
                        what=f"{phase} phase")

    def run(self, attempt: Callable[[], T], *, what: str = "training") -> T:
        """``attempt()``, rolled back and then retried or explained when it runs out of memory."""
        start = _PhaseStart.of(self.trainer)
        while True:
            try:
                return attempt()
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                report = read_report(exc, self.trainer.device)
                self.trainer.optimizer = None  # the failed attempt's, with its state
                release_memory(exc, self.trainer.model, self.trainer.device)
            # Out of the except block: no traceback of the failed step is kept alive from here on.
            start.restore(self.trainer)
            bs = self.batch_size
            if not self.auto or self.rebatch is None or bs is None or bs <= 1:
                del start  # the CPU copy of the weights must not live on in the error's frames
                raise TrainingOutOfMemory(self._failure(report, bs, what), report, bs)
            smaller = max(1, bs // 2)
            self.rebatch(smaller)
            self.batch_size = smaller
            details = {"from_bs": bs, "to_bs": smaller, "during": what, **report.as_dict()}
            self.retries.append(details)
            if self.on_retry is not None:
                self.on_retry(self._retry_note(report, bs, smaller, what), details)

    # ------------------------------------------------------------------ messages
    @staticmethod
    def _ran_out(report: OomReport, bs: int | None, even: bool = False) -> str:
        numbers = report.numbers()
        with_bs = f" {'even ' if even else ''}with batch size {bs}" if bs is not None else ""
        return f"{report.device} ran out of memory{with_bs}" + (f" ({numbers})" if numbers else "")

    def _failure(self, report: OomReport, bs: int | None, what: str) -> str:
        kept = self.kept(what) if self.kept is not None else \
            f"`{self.name}` keeps the weights it had before the {what} and is still usable"
        if bs is not None and bs <= 1:
            return (f"{self._ran_out(report, bs, even=True)}: use a smaller --size or model, or free the memory "
                    f"other notebooks or variables hold (%gpu shows it); {kept}.")
        smaller = f" such as --bs {max(1, bs // 2)}" if bs is not None else ""
        return (f"{self._ran_out(report, bs)}: rerun with --auto-bs to find a batch size that fits, or with a "
                f"smaller batch{smaller}; {kept}.")

    def _retry_note(self, report: OomReport, bs: int, smaller: int, what: str) -> str:
        return f"{self._ran_out(report, bs)}: retrying the {what} with batch size {smaller} (--auto-bs)."

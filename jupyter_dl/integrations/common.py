"""What the fastai bridge and ``live()`` share: the view, the stop signal, the summary line, the loss source.

fastai is imported by :mod:`jupyter_dl.integrations.fastai` alone; this module needs torch only
when a loss is logged.
"""
from __future__ import annotations

import inspect
import signal
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..dashboard.views import make_training_view
from ..train.stopping import SigintRequestsStop, StopFlag

if TYPE_CHECKING:
    from ..train.losslog import LossLog

__all__ = ["CooperativeSigint", "RunLossSource", "StopFlag", "close_view", "make_view", "view_mode"]


def view_mode() -> str:
    """"foreground" in the main thread (the kernel is busy: stop by interrupt), else "background"."""
    return "foreground" if threading.current_thread() is threading.main_thread() else "background"


def make_view(*, total_epochs: int | None, title: str = "", quiet: bool = False,
              mode: str = "foreground", on_stop: Callable[[str], None] | None = None) -> Any:
    """The same training view as ``%finetune``: the dashboard where widgets work, else the progress display.

    None when ``quiet``. (Tests replace this function to record what the adapters emit.)
    """
    return make_training_view(total_epochs=total_epochs, title=title, quiet=quiet, mode=mode, on_stop=on_stop)


def close_view(view: Any, status: str, summary: str | None = None) -> None:
    """``view.close(status, summary)``; also for views whose ``close()`` takes no arguments.

    A view that fails to close is reported as a warning: it must not turn a
    finished training run into an error.
    """
    if view is None:
        return
    close = view.close
    try:
        params = inspect.signature(close).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the contract
        params = None
    try:
        if params is not None and not any(p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                                          for p in params):
            close()
        else:
            close(status, summary)
    except Exception as exc:
        warnings.warn(f"jupyter_dl: closing the training view {view!r} failed: {exc!r}", stacklevel=2)


class RunLossSource:
    """The "loss source" views read when they draw: per-step losses in a device-side LossLog.

    ``append`` never reads the device; ``running_loss`` and ``loss_points`` do one
    read each, and only views about to draw call them. The log is created at the
    first loss, on that loss's device, so a CUDA loss is never copied per step.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = max(int(capacity), 16)
        self._log: LossLog | None = None  # imported with torch, at the first loss

    def append_loss(self, loss: Any) -> None:
        """Log one step's loss (a tensor stays on its device: no sync)."""
        import torch

        from ..train.losslog import LossLog

        if isinstance(loss, torch.Tensor):
            loss = loss.detach()
            if loss.numel() != 1:  # an unreduced loss: its mean, still on the device
                loss = loss.float().mean()
        if self._log is None:
            device = loss.device if isinstance(loss, torch.Tensor) else "cpu"
            self._log = LossLog(device, capacity=self._capacity)
        self._log.append(loss)

    def restart_smoothing(self) -> None:
        """Start the smoothed loss afresh (a new phase)."""
        if self._log is not None:
            self._log.restart_smoothing()

    @property
    def global_step(self) -> int:
        """Losses logged so far."""
        return self._log.steps if self._log is not None else 0

    def running_loss(self) -> float | None:
        """The smoothed loss (one device read); None before the first loss."""
        return self._log.smoothed() if self._log is not None else None

    def loss_points(self, since: int = 0) -> tuple[list[int], list[float], list[float]]:
        """(steps, raw, smoothed) after step ``since``, in one device read."""
        if self._log is None:
            return [], [], []
        return self._log.points(since)


class CooperativeSigint(SigintRequestsStop):
    """SIGINT requests a clean stop, but only while ``cooperating()`` says the loop will honour it.

    Otherwise (the loop never looks at the stop flag, or it has already ended
    without putting the handler back) the previous handler is restored and the
    interrupt becomes an ordinary ``KeyboardInterrupt``, so an interrupt is never
    swallowed. ``cooperating`` gets the frame the signal interrupted.
    """

    def __init__(self, flag: StopFlag, cooperating: Callable[[Any], bool]) -> None:
        super().__init__(flag)
        self._cooperating = cooperating

    @property
    def installed(self) -> bool:
        """Whether our SIGINT handler is in place (False again once the previous one is back)."""
        return self._installed

    def _handle(self, signum, frame) -> None:
        try:
            cooperating = self._cooperating(frame)
        except Exception:
            cooperating = False
        if not cooperating:
            self.__exit__(None, None, None)
            previous = signal.getsignal(signal.SIGINT)
            if previous is signal.SIG_IGN:
                return
            if callable(previous):
                previous(signum, frame)  # Python's default handler raises KeyboardInterrupt
                return
            raise KeyboardInterrupt
        super()._handle(signum, frame)

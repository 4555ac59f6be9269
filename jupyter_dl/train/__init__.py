"""The PyTorch training core: Trainer, events, the fine-tune recipe, lr_find, metrics, run logs.

No IPython / ipywidgets / plotly here, and no jupyter_dl.data / jupyter_dl.models:
it trains plain ``nn.Module``s on iterables of ``(x, y)`` batches.
"""
from .checkpoint import BestTracker, monitor_for
from .device import Precision, resolve_channels_last, resolve_device, resolve_precision
from .events import (BATCH_END, CHECKPOINT, EPOCH_END, EPOCH_START, ERROR, FIT_END, FIT_START, STOP, Event,
                     EventBus, EventRecorder)
from .freeze import freeze, unfreeze
from .lr_find import LRFinderResult, lr_find
from .metrics import METRICS, check_metrics
from .recipe import discriminative_lrs, fine_tune
from .runlog import RunLog, list_runs, read_run
from .schedule import OneCycle
from .seed import seed_everything
from .losslog import LossLog
from .trainer import Trainer

__all__ = [
    "Trainer", "LossLog", "fine_tune", "discriminative_lrs", "lr_find", "LRFinderResult", "freeze", "unfreeze",
    "RunLog", "read_run", "list_runs", "seed_everything", "METRICS", "check_metrics", "OneCycle",
    "BestTracker", "monitor_for", "Precision", "resolve_device", "resolve_precision", "resolve_channels_last",
    "Event", "EventBus", "EventRecorder", "FIT_START", "EPOCH_START", "BATCH_END", "EPOCH_END", "CHECKPOINT",
    "STOP", "ERROR", "FIT_END",
]

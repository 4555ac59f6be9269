"""The PyTorch training core: plain ``nn.Module``s trained on iterables of ``(x, y)`` batches.

No IPython / ipywidgets / plotly here, and no jupyter_dl.data / jupyter_dl.models. One module a job:

- :mod:`.trainer`: the loop (one-cycle fits, mixed precision, events, best weights, clean stops);
  :mod:`.fit_arguments`: the checks of its arguments; :mod:`.distributed`: several processes (torch.distributed);
- :mod:`.recipe`: fastai's ``fine_tune`` on the Trainer; :mod:`.lr_finder`: the LR range test;
- :mod:`.events`: the event stream every view subscribes to; :mod:`.runlog`: the run log on disk;
- :mod:`.records`: epoch records and the one rule for "better" and "best" (torch-free);
- :mod:`.best_weights`: the best epoch's weights, kept in memory; :mod:`.checkpoint`: a trainer's
  state at an epoch end (weights, optimizer, schedule position), to resume a fit from;
- :mod:`.metrics`, :mod:`.schedule`, :mod:`.optimizer`, :mod:`.freezing`, :mod:`.seed`, :mod:`.device`:
  the pieces of a step; :mod:`.losslog`, :mod:`.timing`, :mod:`.memory`: what views read (device-side
  losses, data-wait timings, peak memory); :mod:`.stopping`, :mod:`.oom`: ending a run cleanly.

Names are imported on first use (see :mod:`jupyter_dl._lazy`): importing this package or its
torch-free modules (records, events, timing) does not import torch.
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Trainer": "trainer", "fine_tune": "recipe", "discriminative_lrs": "recipe",
    "lr_find": "lr_finder", "LRFinderResult": "lr_finder",
    "LossLog": "losslog", "freeze": "freezing", "unfreeze": "freezing",
    "RunLog": "runlog", "read_run": "runlog", "list_runs": "runlog",
    "seed_everything": "seed", "METRICS": "metrics", "check_metrics": "metrics", "OneCycle": "schedule",
    "BestWeights": "best_weights", "monitor_for": "best_weights",
    "FitResume": "checkpoint", "FitPosition": "checkpoint",
    "Best": "records", "find_best": "records", "higher_is_better": "records",
    "Precision": "device", "resolve_device": "device", "resolve_precision": "device",
    "resolve_channels_last": "device",
    **dict.fromkeys(["Event", "EventBus", "EventRecorder", "FIT_START", "EPOCH_START", "BATCH_END", "EPOCH_END",
                     "CHECKPOINT", "STOP", "ERROR", "FIT_END"], "events"),
})

"""``%gpu``: a live monitor of the GPUs (or the CPU and RAM) in the notebook.

- :mod:`.api`: :func:`gpu_monitor` and :func:`stop_gpu_monitor`, what the magic calls;
- :mod:`.widget`: :class:`GpuMonitor`, the live widget (cards and a chart);
- :mod:`.cards`: the HTML of one reading (cards, static table), shared by the widget and ``--once``;
- :mod:`.presence`: whether a page still shows the widget (it pauses when none does).

The numbers come from :mod:`jupyter_dl.monitor`. Names are imported on first use.
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "gpu_monitor": "api", "stop_gpu_monitor": "api", "GpuMonitor": "widget",
})

"""``%runs``: every run's log on disk, listed and compared (works after a kernel restart).

- :mod:`.api`: :func:`runs`, :func:`compare_runs` and :func:`show_runs`, what the magic calls;
- :mod:`.summaries`: one run log -> one summary (status, best value, ...), and finding runs by name;
- :mod:`.views`: the runs table and the figure that overlays their curves.

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "runs": "api", "compare_runs": "api", "show_runs": "api",
    "summarize_run": "summaries", "load_runs": "summaries", "resolve_runs": "summaries",
})

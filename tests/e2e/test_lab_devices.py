"""What only a browser shows of a multi-process run: `%finetune ... --devices cpu:2` in a real JupyterLab.

The dashboard is fed by rank 0's relayed events (the plot grows while the two workers train), and
JupyterLab's interrupt button (the server signals the kernel's process group, workers included) stops
both ranks cleanly at the same batch: the cell ends without a traceback and the learner keeps the best
epoch with the same weights on both ranks.
"""
from __future__ import annotations

import ast

import pytest
from jdl_lab import wait_until

PLOT = ".jdl-dashboard .js-plotly-plot"
FIT = ("%finetune test_efficientnet sample --no-pretrained --size 32 --bs 16 --freeze-epochs 0 --epochs 40 "
       "--devices cpu:2")

pytestmark = [pytest.mark.e2e]


@pytest.mark.timeout(240)
def test_the_dashboard_follows_two_processes_and_the_interrupt_stops_both(open_notebook):
    nb = open_notebook("devices.ipynb", ["%load_ext jupyter_dl", FIT,
                                         "learn.status, len(learn.history), learn.ranks['same_weights']"])
    nb.run_cell(0)
    nb.run_cell(1, wait=False)

    def points() -> int:
        if not nb.is_busy(1) and nb.failure_text(1):
            raise AssertionError(nb.failure_text(1)[-3000:])
        return nb.plot_points(PLOT) or 0

    first = wait_until(lambda: points() >= 2 and points(), 150, "the dashboard to plot the workers' losses")
    wait_until(lambda: points() > first, 60, "the plot to grow while the workers train")
    # A valid-loss point: an epoch ended (its weights reached the kernel; a run stopped before that keeps none).
    wait_until(lambda: (nb.plot_points(PLOT, trace=2) or 0) >= 1, 90, "the first epoch to end")
    assert nb.is_busy(1)
    nb.server.interrupt(nb.kernel_id())
    nb.wait_cell_done(1, timeout=90)
    assert nb.failure_text(1) == "", nb.failure_text(1)  # a clean stop: no traceback
    nb.screenshot("devices-interrupted")
    nb.run_cell(2)
    status, epochs, same = ast.literal_eval(nb.result_text(2))
    assert status == "interrupted" and epochs < 40 and same is True

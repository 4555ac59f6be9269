"""What only a browser shows about %gpu in a real JupyterLab: the widget renders, its numbers and
chart keep changing (also while another cell is busy), and clearing its output stops it in the kernel.

This machine has no GPU: the monitor shows the one-line reason and the CPU/RAM cards (with a GPU,
the GPU cards); both are accepted. Every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from jdl_lab import wait_until

MONITOR = ".jdl-gpu-monitor"
PLOT = ".jdl-gpu-monitor .js-plotly-plot"
# What the kernel says about its monitor: (a monitor is live, the sampler thread runs, why the last one stopped)
STATE = ("from jupyter_dl.gpu import widget as g; from jupyter_dl.monitor import get_sampler; "
         "(g.active_monitor() is not None, get_sampler().running, g._retired[-1].stop_reason if g._retired else '')")

pytestmark = [pytest.mark.e2e]


def _wait_monitor(nb, index: int):
    """Wait until the live widget is visible in cell ``index``; fail at once if the cell errored."""
    monitor = nb.cell(index).locator(MONITOR).first

    def ready():
        if monitor.count() and monitor.is_visible():
            return True
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        if nb.cell(index).locator(".jdl-gpu-static").count():
            raise AssertionError("%gpu showed the static table, not the live widget, in JupyterLab")
        return False

    wait_until(ready, 60, f"the GPU monitor widget in cell {index}")
    return monitor


def _updated(nb, index: int) -> str:
    loc = nb.cell(index).locator(f"{MONITOR} .jdl-gpu-updated")
    return loc.first.inner_text() if loc.count() else ""


@pytest.mark.timeout(150)
def test_gpu_monitor_renders_and_keeps_updating_while_a_cell_is_busy(open_notebook):
    """Cards and chart appear; the reading time and the chart move on while another cell sleeps.

    Also saves out/screenshots/gpu.png (the widget alone).
    """
    nb = open_notebook("gpu.ipynb", ["%load_ext jupyter_dl", "%gpu --interval 0.5 --history 60",
                                     "import time\ntime.sleep(8)"])
    nb.run_cell(0)
    nb.run_cell(1)
    assert nb.failure_text(1) == "", nb.failure_text(1)
    monitor = _wait_monitor(nb, 1)
    assert monitor.locator(".jdl-cpu-card").count() == 1 and monitor.locator(".jdl-ram-card").count() == 1
    assert "GB" in monitor.locator(".jdl-ram-mem").first.inner_text()
    gpus, reason = monitor.locator(".jdl-gpu-card").count(), monitor.locator(".jdl-gpu-error").count()
    assert gpus or reason, "neither GPU cards nor the reason why there are none"
    if reason:
        assert "GPU" in monitor.locator(".jdl-gpu-error").first.inner_text()
    assert "live" in monitor.locator(".jdl-gpu-status").first.inner_text()
    first = wait_until(lambda: nb.plot_points(PLOT, trace=0), 30, "the chart's first points")

    nb.run_cell(2, wait=False)                      # the kernel's shell is busy from here
    wait_until(lambda: nb.is_busy(2), 10, "cell 2 to run")
    seen = _updated(nb, 1)
    wait_until(lambda: _updated(nb, 1) not in ("", seen), 20, "a newer reading in the cards")
    later = wait_until(lambda: (nb.plot_points(PLOT, trace=0) or 0) >= first + 3 and nb.plot_points(PLOT, 0), 20,
                        "the chart to grow")
    assert nb.is_busy(2), "the busy cell ended before the monitor was seen updating"
    assert later > first
    path = nb.screenshot("gpu", monitor)
    assert path.stat().st_size > 10_000
    nb.wait_cell_done(2, timeout=60)


@pytest.mark.timeout(150)
def test_clearing_the_output_stops_the_monitor_and_the_sampler(open_notebook):
    nb = open_notebook("gpu-clear.ipynb", ["%load_ext jupyter_dl", "%gpu --interval 0.5", STATE])
    nb.run_cell(0)
    nb.run_cell(1)
    _wait_monitor(nb, 1)
    nb.run_cell(2)
    assert ast.literal_eval(nb.result_text(2))[:2] == (True, True)

    # Clear cell 1's output as a person does (select the cell, Edit > Clear Outputs).
    nb.cell(1).locator(".jp-InputArea-editor").first.click()
    nb.page.keyboard.press("Escape")
    nb.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-cell-output')")
    wait_until(lambda: nb.cell(1).locator(MONITOR).count() == 0, 10, "the widget to leave the page")

    def stopped():
        nb.run_cell(2)
        live, sampling, reason = ast.literal_eval(nb.result_text(2))
        return (not live and not sampling) and reason

    reason = wait_until(stopped, 30, "the kernel to stop the monitor and its sampler thread", interval=0.5)
    assert "cleared" in reason


# Kernel side of the closed-tab test: a thread writes what it saw once the monitor paused.
WATCH_PAUSE = """
import pathlib, threading, time
from jupyter_dl.gpu import widget as g
from jupyter_dl.monitor import get_sampler
monitor = g.active_monitor()
def watch():
    while not monitor.paused:
        time.sleep(0.2)
    pathlib.Path("paused.txt").write_text(f"{monitor.presence.last_ping is not None} {get_sampler().running}")
threading.Thread(target=watch, daemon=True).start()
monitor.presence.last_ping is not None
"""


@pytest.mark.timeout(150)
def test_closing_the_notebook_pauses_the_monitor_and_the_sampler(open_notebook, lab):
    """JupyterLab does not tell the kernel when a notebook tab closes; the widget's pings stop, so it pauses."""
    nb = open_notebook("gpu-close.ipynb", ["%load_ext jupyter_dl", "%gpu --interval 0.5", WATCH_PAUSE])
    nb.run_cell(0)
    nb.run_cell(1)
    _wait_monitor(nb, 1)
    nb.run_cell(2)
    assert nb.result_text(2) == "True", "the page did not ping the kernel"
    marker = lab.notebooks / "paused.txt"
    assert not marker.exists()
    nb.save()
    nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")
    wait_until(lambda: nb.page.locator(".jp-NotebookPanel").count() == 0, 10, "the notebook tab to close")
    assert lab.kernel_for("gpu-close.ipynb"), "the kernel should outlive the closed tab"
    wait_until(marker.exists, 45, "the kernel to pause the monitor after its tab closed")
    assert marker.read_text() == "True False"                     # pinged before; the sampler thread ended


# Readings recorded on an H100 (0.5 s apart: idle; bf16 matmuls with 22 GB allocated; half duty with
# 36 GB; freed), replayed through the real sampler and widget: only the probe is replaced.
RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "h100_monitor_history.json"
REPLAY = f'''
import json, os, time
import ipywidgets; from plotly.graph_objects import FigureWidget  # imported before the replay's clock starts
import jupyter_dl.monitor.sampler as sampler_module
from jupyter_dl.monitor import DeviceMemory, GpuReading, Reading, Sampler
records = json.load(open({str(RECORDING)!r}))
SHOWN, LOOP = 76, (66, 92)   # the first 76 at once as history, then live round the half-duty stretch

def as_sample(d, t):
    memory = d["device_memory"]
    return Reading(**{{**d, "time": t, "gpus": [GpuReading(**g) for g in d["gpus"]],
                      "device_memory": DeviceMemory(**memory) if memory else None}})

class Replay:
    def __init__(self):
        self.i, self.start = 0, time.time() - 0.5 * SHOWN
    def sample(self):
        i = self.i if self.i < LOOP[1] else LOOP[0] + (self.i - LOOP[0]) % (LOOP[1] - LOOP[0])
        t = self.start + 0.5 * self.i if self.i < SHOWN else time.time()
        self.i += 1
        return as_sample(records[i], t)

sampler = Sampler(probe_factory=Replay)
for _ in range(SHOWN):
    sampler.sample_now()
sampler_module.get_sampler = lambda: sampler
os.cpu_count = lambda: 16   # the H100 machine's cores, not this one's
get_ipython().run_line_magic("gpu", "--interval 0.5 --history 60")
'''


@pytest.mark.timeout(150)
def test_gpu_cards_and_chart_with_numbers_recorded_on_an_h100(open_notebook):
    """What a GPU machine shows, checked where there is none. Saves out/screenshots/gpu-h100.png (docs/gpu.png)."""
    nb = open_notebook("gpu-h100.ipynb", ["%load_ext jupyter_dl", REPLAY])
    nb.run_cell(0)
    nb.run_cell(1)
    monitor = _wait_monitor(nb, 1)
    card = monitor.locator(".jdl-gpu-card").first
    assert monitor.locator(".jdl-gpu-card").count() == 1 and monitor.locator(".jdl-gpu-error").count() == 0
    assert "GPU 0 \u00b7 H100 80GB HBM3" in card.inner_text()
    assert card.locator(".jdl-gpu-mem").inner_text().endswith("/79.6 GB")
    assert "PyTorch \u00b7 CUDA" in monitor.locator(".jdl-torch-card").first.inner_text()
    names = nb.page.evaluate(f"() => document.querySelector('{PLOT}').data.map(t => t.name)")
    assert names == ["GPU 0 util", "GPU 0 memory", "CPU", "RAM"]
    wait_until(lambda: (nb.plot_points(PLOT, trace=0) or 0) > 76, 30, "the replayed history and live points")
    time.sleep(1)  # plotly's redraw transition, for the picture only (nothing is asserted after it)
    path = nb.screenshot("gpu-h100", monitor)
    assert path.stat().st_size > 10_000


@pytest.mark.timeout(150)
def test_with_plotly_5_the_svg_chart_keeps_growing(open_notebook):
    """plotly 5 (Colab's pinned 5.24, classic Notebook 6): the chart is SVG lines, and they grow."""
    patch = "from jupyter_dl.ui import frontend\nfrontend.plotly_figure_widgets = lambda: False"
    nb = open_notebook("gpu5.ipynb", ["%load_ext jupyter_dl", patch, "%gpu --interval 0.5 --history 60"])
    for index in range(3):
        nb.run_cell(index)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    monitor = _wait_monitor(nb, 2)
    assert monitor.locator(".js-plotly-plot").count() == 0
    monitor.locator(".jdl-gpu-plot svg").first.wait_for(state="visible", timeout=30_000)
    line = monitor.locator(".jdl-gpu-plot svg path.jdl-gpu-line").first   # (a flat line has no height: not "visible")

    def points() -> int:
        return (line.get_attribute("d") or "").count("L")

    first = wait_until(points, 30, "the chart's first segment")
    wait_until(lambda: points() >= first + 3, 30, "the SVG chart to grow")
    assert "live" in monitor.locator(".jdl-gpu-status").first.inner_text()
    nb.screenshot("gpu-plotly5", monitor)


@pytest.mark.timeout(150)
def test_a_reopened_notebook_shows_the_first_reading_not_a_widget_error(open_notebook, lab):
    """Run %gpu, save, shut the kernel down, reload: the snapshot table shows, the widget error is hidden."""
    nb = open_notebook("gpu-reopen.ipynb", ["%load_ext jupyter_dl", "%gpu --interval 0.5"])
    nb.run_cell(0)
    nb.run_cell(1)
    _wait_monitor(nb, 1)
    snapshot = nb.cell(1).locator(".jdl-snapshot")
    assert snapshot.count() == 1 and not snapshot.is_visible()       # hidden while the live widget shows
    nb.save()
    lab.shutdown_kernels()
    nb.reload()
    snapshot.locator("table.jdl-gpu-table").wait_for(state="visible", timeout=30_000)
    text = nb.output_text(1)
    assert "Error displaying widget" not in text and "RAM" in text and "run the cell again" in text, text
    assert not nb.cell(1).locator(".jp-OutputArea-child").first.is_visible()

"""What only a browser shows about the JupyterLab extension (js/): the status-bar item and the
monitor panel, fed by the server extension, keep updating while the kernel is busy.

This machine has no GPU, so the item shows CPU and RAM ("CPU 12% · RAM 3.1/24.0 GB"); with a GPU
it shows the GPU ("GPU 87% · 11.2/16.0 GB"); both are accepted. Every wait is for a condition,
with a deadline; nothing asserts on durations.
"""
from __future__ import annotations

import re
import time

import pytest

STATUS = ".jp-dl-MonitorStatus"
PANEL = "#jupyter-dl-monitor"
NUMBERS = re.compile(r"^(CPU \d+% · RAM|GPU\d* (\d+% )?·) \d+\.\d/\d+\.\d GB")
# Keeps the kernel busy for ~16 s, taking 0.2 GB more memory (written, so it is really used) and
# burning CPU every 2 s: the machine's RAM figure (in the text without a GPU, in the tooltip
# always) must move, whatever else runs on the machine.
BUSY_CELL = """import time
blocks = []
for step in range(8):
    blocks.append(b"x" * (200 * 2**20))
    burn = time.time() + 2
    while time.time() < burn:
        pass
del blocks"""

pytestmark = [pytest.mark.e2e]


def _text(page, selector: str) -> str:
    loc = page.locator(selector)
    return loc.first.inner_text().strip() if loc.count() else ""


def _reading(page) -> tuple[str, str]:
    """The status item's text and its tooltip (every GPU, CPU and RAM)."""
    item = page.locator(STATUS).first
    return item.inner_text().strip(), item.get_attribute("title") or ""


def _wait_reading_change(page, previous: tuple[str, str], timeout: float) -> tuple[str, str]:
    page.wait_for_function(
        """([sel, text, title]) => {
            const el = document.querySelector(sel);
            return !!el && (el.textContent.trim() !== text || el.title !== title);
        }""", arg=[STATUS, *previous], timeout=timeout * 1000)
    return _reading(page)


def _wait_numbers(page) -> None:
    """The status item is in the status bar and shows numbers (not 'unavailable' / waiting)."""
    page.locator(STATUS).first.wait_for(state="visible", timeout=30_000)
    page.wait_for_function(
        """(sel) => {
            const el = document.querySelector(sel);
            return !!el && /\\d+\\.\\d\\/\\d+\\.\\d GB/.test(el.textContent);
        }""", arg=STATUS, timeout=30_000)
    text = _text(page, STATUS)
    assert NUMBERS.match(text), f"the status item shows {text!r}, not CPU/RAM or GPU numbers"


@pytest.mark.timeout(150)
def test_status_bar_item_shows_numbers_and_keeps_changing_while_a_cell_is_busy(open_notebook, page):
    nb = open_notebook("statusbar.ipynb", [BUSY_CELL])
    _wait_numbers(page)

    nb.run_cell(0, wait=False)
    assert nb.is_busy(0), f"cell 0 did not start: prompt {nb.prompt(0)!r}"
    readings = [_reading(page)]
    deadline = time.monotonic() + 40
    while len(set(readings)) < 4:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the status item showed only {sorted(set(readings))} while the cell was busy"
        reading = _wait_reading_change(page, readings[-1], remaining)
        # The point of the server extension: the item moves on while the kernel cannot answer.
        assert nb.is_busy(0) and nb.output_text(0) == "", "the cell finished before the item changed enough"
        assert nb.kernel_status() == "busy", nb.kernel_status()
        assert NUMBERS.match(reading[0]), f"the status item shows {reading[0]!r}"
        readings.append(reading)
    texts = {text for text, _ in readings}
    if all(text.startswith("CPU") for text in texts):  # no GPU: the text itself has the RAM that grows
        assert len(texts) >= 3, texts
    # The tooltip has the details: every GPU, or why there is none, and CPU/RAM.
    title = readings[-1][1]
    assert "CPU" in title and ("GPU " in title or "No GPU numbers" in title), title
    nb.wait_cell_done(0, timeout=60)


@pytest.mark.timeout(150)
def test_monitor_panel_opens_from_the_item_and_the_palette_and_draws_live_charts(open_notebook, page):
    """Also saves out/screenshots/statusbar.png (status bar and panel while a cell is busy)."""
    nb = open_notebook("monitor-panel.ipynb", [BUSY_CELL])
    _wait_numbers(page)
    panel = page.locator(PANEL)

    page.locator(STATUS).first.click()
    panel.wait_for(state="visible", timeout=10_000)
    system = panel.locator('.jp-dl-MonitorCard[data-key="system"]')
    system.wait_for(state="visible", timeout=10_000)
    values = system.locator(".jp-dl-MonitorChart-value").all_inner_texts()
    assert len(values) == 2, values
    assert re.fullmatch(r"\d+%", values[0]) and re.fullmatch(r"\d+\.\d/\d+\.\d GB", values[1]), values
    gpu_cards = panel.locator('.jp-dl-MonitorCard[data-key^="gpu-"]').count()
    note = _text(page, f"{PANEL} .jp-dl-MonitorPanel-note")
    assert gpu_cards or note.startswith("No GPU numbers:"), (gpu_cards, note)

    # Closed, then opened again from the command palette.
    page.evaluate("() => window.jupyterapp.shell.collapseRight()")
    panel.wait_for(state="hidden", timeout=10_000)
    page.keyboard.press("ControlOrMeta+Shift+c")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for(state="visible", timeout=10_000)
    palette.fill("Open GPU Monitor")
    page.locator(".lm-CommandPalette-item", has_text="Open GPU Monitor").first.click()
    panel.wait_for(state="visible", timeout=10_000)

    # The charts move on while a cell keeps the kernel busy: five new drawings of the line. (Not a
    # count of points: once the package's server has run longer than the panel's 300 s window, each
    # new point pushes the oldest out and the count stays the same.)
    nb.run_cell(0, wait=False)
    page.wait_for_function(
        """() => {
            const path = document.querySelector(
                '#jupyter-dl-monitor .jp-dl-MonitorCard[data-key="system"] .jp-dl-Sparkline-line');
            const d = path ? path.getAttribute('d') || '' : '';
            const seen = (window.__jdlSystemLines = window.__jdlSystemLines || new Set());
            if ((d.match(/[ML]/g) || []).length >= 2) seen.add(d);
            return seen.size >= 6;
        }""", timeout=30_000, polling=200)
    assert nb.is_busy(0), "the cell finished before the charts grew"
    nb.screenshot("statusbar")
    nb.wait_cell_done(0, timeout=60)

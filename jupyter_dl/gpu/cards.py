"""What ``%gpu`` shows of one reading, as HTML and text: the cards and the static table.

The same HTML serves the live widget (:mod:`jupyter_dl.gpu.widget`), ``%gpu --once`` and the
fallback without widgets, so it is styled inline (viewers without the notebook's CSS show it too).
Stable class names: cards ``.jdl-card`` with ``.jdl-gpu-card`` (``data-index``), ``.jdl-torch-card``,
``.jdl-cpu-card``, ``.jdl-ram-card``; numbers in ``.jdl-gpu-util``, ``.jdl-gpu-mem``,
``.jdl-cpu-util``, ``.jdl-ram-mem``; ``.jdl-gpu-error``; the static ``table.jdl-gpu-table``.
"""
from __future__ import annotations

import html
import os
import sys
from datetime import datetime

from ..monitor.readings import DeviceMemory, GpuReading, Reading
from ..ui import frontend
from ..ui.formatting import DASH, format_bytes, format_percent, format_used_total, share

UTIL_COLOR = "var(--jp-brand-color1, #1976d2)"
TRACK_COLOR = "var(--jp-layout-color2, #e3e7eb)"
MUTED = "color:var(--jp-ui-font-color2, #57606a)"
# Inline styles: the same HTML shows in the widget, in the static table, and in viewers without CSS.
CARD_STYLE = ("box-sizing:border-box;width:228px;padding:7px 10px 6px 10px;border-radius:6px;"
              "border:1px solid var(--jp-border-color2, #d8dee4);background:var(--jp-layout-color1, #fff);"
              "font-size:12px;line-height:1.45;color:var(--jp-ui-font-color1, #1f2328)")
BIG = "font-size:1.55em;font-weight:600;font-variant-numeric:tabular-nums"



# ---------------------------------------------------------------------------------------- format
def memory_color(percent: float | None) -> str:
    """Green while there is room, orange from 75 %, red from 90 % (out-of-memory is near)."""
    if percent is None or percent < 75:
        return "var(--jp-success-color1, #2e7d32)"
    if percent < 90:
        return "var(--jp-warn-color1, #e08600)"
    return "var(--jp-error-color1, #d32f2f)"


def _bar(percent: float | None, color: str, css_class: str, title: str = "") -> str:
    width = 0.0 if percent is None else min(max(percent, 0.0), 100.0)
    title_attr = f" title='{html.escape(title, quote=True)}'" if title else ""
    return (f"<div class='jdl-bar {css_class}'{title_attr} style='height:7px;border-radius:4px;overflow:hidden;"
            f"background:{TRACK_COLOR};margin:2px 0 3px 0'><div style='width:{width:.1f}%;height:100%;"
            f"background:{color}'></div></div>")


def _power(gpu: GpuReading) -> str:
    if gpu.power_w is None:
        return ""
    if gpu.power_limit_w:
        return f"{gpu.power_w:.0f}/{gpu.power_limit_w:.0f} W"
    return f"{gpu.power_w:.0f} W"


def _temperature(gpu: GpuReading) -> str:
    return "" if gpu.temperature_c is None else f"{gpu.temperature_c:.0f} \u00b0C"


def _memory(used: int, total: int) -> str:
    if not total:
        return DASH
    return f"{format_used_total(used, total)} ({format_percent(share(used, total))})"


def _gpu_title(gpu: GpuReading) -> str:
    return f"GPU {gpu.index} \u00b7 {gpu.name}"


def _torch_title(memory: DeviceMemory) -> str:
    return "PyTorch \u00b7 " + ("Apple MPS" if memory.backend == "mps" else memory.backend.upper())


def _torch_details(memory: DeviceMemory) -> list[str]:
    parts = [f"allocated {format_bytes(memory.allocated)}"]
    if memory.reserved is not None:
        # torch.mps calls it the driver's allocation; torch.cuda the caching allocator's reserve.
        parts.append(f"{'driver' if memory.backend == 'mps' else 'reserved'} {format_bytes(memory.reserved)}")
    if memory.peak is not None:
        parts.append(f"peak {format_bytes(memory.peak)}")
    return parts


def clock_time(timestamp: float) -> str:
    """When a reading was taken, as the time of day (``14:03:27``)."""
    return datetime.fromtimestamp(timestamp).strftime("%H:%M:%S")


# ----------------------------------------------------------------------------------------- cards
def _card(kind: str, title: str, body: str, right: str = "", extra_attrs: str = "", tooltip: str = "") -> str:
    return (f"<div class='jdl-card jdl-{kind}-card'{extra_attrs} style='{CARD_STYLE}'>"
            "<div style='display:flex;justify-content:space-between;gap:8px;align-items:baseline'>"
            f"<span class='jdl-card-title' title='{html.escape(tooltip or title, quote=True)}' style='font-weight:600;"
            f"white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>{html.escape(title)}</span>"
            f"<span style='{MUTED};white-space:nowrap'>{html.escape(right)}</span></div>{body}</div>")


def _footer(parts: list[str]) -> str:
    text = " \u00b7 ".join(p for p in parts if p) or "\u00a0"
    return f"<div style='{MUTED};white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>{html.escape(text)}</div>"


def gpu_card_html(gpu: GpuReading) -> str:
    """One GPU's card: util, memory (bar coloured by how full), temperature, power, this kernel's memory on it."""
    used = share(gpu.memory_used, gpu.memory_total)
    memory = format_used_total(gpu.memory_used, gpu.memory_total) if gpu.memory_total else DASH
    body = (
        "<div style='display:flex;justify-content:space-between;align-items:baseline'><span>"
        f"<span class='jdl-gpu-util' style='{BIG}'>{format_percent(gpu.util_percent)}</span>"
        f" <span style='{MUTED}'>util</span></span><span class='jdl-gpu-temp' style='{MUTED}'>"
        f"{_temperature(gpu)}</span></div>"
        + _bar(gpu.util_percent, UTIL_COLOR, "jdl-util-bar")
        + "<div style='display:flex;justify-content:space-between'><span style='" + MUTED + "'>memory</span>"
        f"<span class='jdl-gpu-mem' style='font-variant-numeric:tabular-nums'>{memory}</span></div>"
        + _bar(used, memory_color(used), "jdl-mem-bar", title=format_percent(used))
        + _footer([_power(gpu), f"this kernel {format_bytes(gpu.process_memory)}"
                   if gpu.process_memory is not None else ""])
    )
    # A card is narrow: "NVIDIA H100 80GB HBM3" shows as "GPU 0 · H100 80GB HBM3" (the full name on hover).
    short = gpu.name.removeprefix("NVIDIA ")
    return _card("gpu", f"GPU {gpu.index} \u00b7 {short}", body, extra_attrs=f" data-index='{gpu.index}'",
                 tooltip=_gpu_title(gpu))


def torch_card_html(memory: DeviceMemory) -> str:
    """The card of torch's own allocator numbers in this kernel (CUDA or Apple MPS)."""
    body = (
        f"<div><span class='jdl-torch-allocated' style='{BIG}'>{format_bytes(memory.allocated)}</span>"
        f" <span style='{MUTED}'>allocated</span></div>"
        + _footer(_torch_details(memory)[1:] or [DASH])
    )
    return _card("torch", _torch_title(memory), body, right="this kernel")


def cpu_card_html(sample: Reading) -> str:
    """The CPU card: utilisation over all cores, and how many there are."""
    cores = os.cpu_count()
    body = (
        f"<div><span class='jdl-cpu-util' style='{BIG}'>{format_percent(sample.cpu_percent)}</span>"
        f" <span style='{MUTED}'>all cores</span></div>"
        + _bar(sample.cpu_percent, UTIL_COLOR, "jdl-util-bar")
    )
    return _card("cpu", "CPU", body, right=f"{cores} cores" if cores else "")


def ram_card_html(sample: Reading) -> str:
    """The RAM card: used/total (bar coloured by how full) and this kernel's resident memory."""
    used = share(sample.ram_used, sample.ram_total)
    body = (
        f"<div><span class='jdl-ram-mem' style='{BIG}'>{format_used_total(sample.ram_used, sample.ram_total)}"
        f"</span></div>"
        + _bar(used, memory_color(used), "jdl-mem-bar", title=format_percent(used))
        + _footer([f"this kernel {format_bytes(sample.process_rss)}"])
    )
    return _card("ram", "RAM", body, right=format_percent(used))


def card_htmls(sample: Reading) -> dict[str, str]:
    """The cards of one sample, keyed (``gpu0``, ``gpu1``, ..., ``torch``, ``cpu``, ``ram``) in display order."""
    cards = {f"gpu{gpu.index}": gpu_card_html(gpu) for gpu in sample.gpus}
    if sample.device_memory is not None:
        cards["torch"] = torch_card_html(sample.device_memory)
    cards["cpu"] = cpu_card_html(sample)
    cards["ram"] = ram_card_html(sample)
    return cards


def error_html(sample: Reading) -> str:
    """The one line why there are no GPU numbers ("" when GPUs were read)."""
    if sample.gpus or not sample.gpu_error:
        return ""
    return (f"<div class='jdl-gpu-error' style='{MUTED};margin:2px 0 4px 0'>"
            f"\u26a0 {html.escape(_sentence(sample.gpu_error))}</div>")


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text[:1].upper() + text[1:] if text else text


# ----------------------------------------------------------------------------------------- static
def _rows(sample: Reading) -> list[tuple[str, str, str, str, str, str]]:
    """(device, load, memory, temperature, power, this kernel) per row of the static table."""
    rows = []
    for gpu in sample.gpus:
        rows.append((_gpu_title(gpu), format_percent(gpu.util_percent), _memory(gpu.memory_used, gpu.memory_total),
                     _temperature(gpu) or DASH, _power(gpu) or DASH,
                     format_bytes(gpu.process_memory) if gpu.process_memory is not None else DASH))
    memory = sample.device_memory
    if memory is not None:
        rows.append((_torch_title(memory), "", " \u00b7 ".join(_torch_details(memory)), "", "",
                     format_bytes(memory.allocated)))
    rows.append(("CPU", format_percent(sample.cpu_percent), "", "", "", ""))
    rows.append(("RAM", "", _memory(sample.ram_used, sample.ram_total), "", "", format_bytes(sample.process_rss)))
    return rows


_COLUMNS = ("device", "load", "memory", "temperature", "power", "this kernel")


def static_text(sample: Reading, note: str = "") -> str:
    """The table as text (terminals, ``text/plain``)."""
    lines = [f"jupyter_dl \u00b7 GPU monitor \u00b7 {clock_time(sample.time)}" + (f" \u00b7 {note}" if note else "")]
    if not sample.gpus and sample.gpu_error:
        lines.append(_sentence(sample.gpu_error))
    rows = [_COLUMNS, *_rows(sample)]
    # Drop the columns no row fills (no GPU: temperature and power say nothing).
    keep = [i for i in range(len(_COLUMNS)) if i == 0 or any(row[i] and row[i] != DASH for row in rows[1:])]
    widths = [max(len(row[i]) for row in rows) for i in keep]
    for row in rows:
        lines.append("  ".join(row[i].ljust(w) for i, w in zip(keep, widths)).rstrip())
    return "\n".join(lines)


def static_html(sample: Reading, note: str = "") -> str:
    """The table as HTML, with the memory columns drawn as bars too (inline styles only)."""
    cell = "padding:3px 10px;text-align:left;border-bottom:1px solid var(--jp-border-color2, #eaeef2)"
    head = "".join(f"<th style='{cell};{MUTED};font-weight:600'>{name}</th>" for name in _COLUMNS)
    body = []
    bars = [share(g.memory_used, g.memory_total) for g in sample.gpus]
    if sample.device_memory is not None:
        bars.append(None)
    bars += [None, share(sample.ram_used, sample.ram_total)]
    for row, percent in zip(_rows(sample), bars):
        cells = [html.escape(value) for value in row]
        if percent is not None:
            cells[2] = (f"<div style='min-width:170px'>{cells[2]}"
                        f"{_bar(percent, memory_color(percent), 'jdl-mem-bar')}</div>")
        body.append("<tr>" + "".join(f"<td style='{cell};font-variant-numeric:tabular-nums'>{c}</td>"
                                     for c in cells) + "</tr>")
    caption = (f"<div style='margin-bottom:3px'><b>jupyter_dl</b> \u00b7 GPU monitor \u00b7 "
               f"<span class='jdl-gpu-updated'>{clock_time(sample.time)}</span>"
               + (f" \u00b7 <span class='jdl-gpu-note'>{html.escape(note)}</span>" if note else "") + "</div>")
    return (f"<div class='jdl-gpu-static' style='font-size:12px'>{caption}{error_html(sample)}"
            f"<table class='jdl-gpu-table' style='border-collapse:collapse'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def static_bundle(sample: Reading, note: str = "") -> dict[str, str]:
    """The static table as a display bundle (HTML and text)."""
    return {"text/html": static_html(sample, note), "text/plain": static_text(sample, note)}


def show_static(sample: Reading, note: str = "", *, kernel: bool | None = None) -> None:
    """Display the table in a kernel (HTML + text), print the text elsewhere (terminal IPython)."""
    if kernel if kernel is not None else frontend.in_kernel():
        from IPython.display import display

        display(static_bundle(sample, note), raw=True)
    else:
        print(static_text(sample, note), file=sys.stdout)

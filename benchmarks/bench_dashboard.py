"""What the live views cost a training run: throughput with a view on vs off, paired in one process.

The same learner trains one epoch at a time, alternating view on / off, so machine noise hits both
alike. Two views can be measured (``--view``):

- ``widget``: the widget dashboard, built headless (no front end), which still pays for everything on
  the kernel side: events, throttled draws, reading the losses from the device, plotly serialisation
  of the updates;
- ``svg``: the progress view without widgets, with its SVG loss curves, in kernel mode; the display
  is replaced by what a kernel pays to send it (the bundle serialised to JSON). It also times every
  draw (reading the losses, drawing the SVG, the HTML, the JSON) in CPU time of the training thread,
  against the epoch's CPU time (all threads), so that other processes' load moves it little; and,
  separately, one draw of a full chart (a long run: 300 bounded points per curve, 20 epochs, 2 metrics).

    python benchmarks/bench_dashboard.py [--view widget|svg|all] [--pairs 5] [--size 32] [--bs 32]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Any


def make_svg_view(draw_times: list[float]) -> Any:
    """The no-widget progress view in kernel mode, its display replaced by a JSON serialisation; draws timed."""
    from jupyter_dl.dashboard.progress import ProgressView

    class Handle:
        def update(self, bundle: dict, raw: bool = True) -> None:
            json.dumps(bundle)

    view = ProgressView(total_epochs=1, kernel=True, title="bench")

    def draw_display() -> None:  # what ProgressView._draw_display does, minus the kernel's socket
        from jupyter_dl.dashboard.progress import render_html, render_text

        svg, line = view._chart_parts()
        Handle().update({"text/html": render_html(view.state, svg, title=view.title),
                         "text/plain": render_text(view.state, line)})

    view._draw_display = draw_display
    draw = view.draw

    def timed_draw(*args: Any, **kwargs: Any) -> None:
        start = time.thread_time()
        try:
            draw(*args, **kwargs)
        finally:
            draw_times.append(time.thread_time() - start)

    view.draw = timed_draw
    return view


def full_chart_draw_ms(repeats: int = 200) -> tuple[float, int]:
    """Median CPU ms of one draw of a full chart (SVG + HTML + JSON), and the bundle's size in bytes."""
    from jupyter_dl.dashboard.progress import render_html
    from jupyter_dl.dashboard.progress_state import ProgressState
    from jupyter_dl.dashboard.svg_chart import SvgChart

    chart, x = SvgChart(), 0
    for epoch in range(1, 21):
        xs = list(range(x + 1, x + 1001))
        x += 1000
        losses = [2.0 / (1 + 0.001 * s) for s in xs]
        chart.add_losses(xs, losses, losses, epoch)
        chart.add_lrs(xs, [1e-3] * len(xs))
        chart.add_epoch(x, {"epoch": epoch, "valid_loss": 0.5, "accuracy": 0.9, "error_rate": 0.1})
    state = ProgressState(20)
    times, size = [], 0
    for _ in range(repeats):
        start = time.thread_time()
        payload = json.dumps({"text/html": render_html(state, chart.svg("bench")), "text/plain": chart.text()})
        times.append(time.thread_time() - start)
        size = len(payload)
    return statistics.median(times) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", choices=["widget", "svg", "all"], default="all")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--bs", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("JUPYTER_DL_RUNS", tempfile.mkdtemp(prefix="jdl-bench-runs-"))
    import jupyter_dl

    learn = jupyter_dl.finetuning.build_learner("sample", size=args.size, bs=args.bs, augment="none")
    learn.fit(1, quiet=True)  # warm-up: first-epoch allocations are not the view's

    def images_per_second(kind: str | None, draw_times: list[float]) -> tuple[float, int, float]:
        view = None
        if kind == "widget":
            from jupyter_dl.dashboard.widget import Dashboard

            view = Dashboard(total_epochs=1, title="bench", show=False, on_stop=learn.trainer.request_stop)
        elif kind == "svg":
            view = make_svg_view(draw_times)
        if view is not None:
            learn.trainer.bus.subscribe(view)
        cpu = time.process_time()
        try:
            learn.fit(1, quiet=True)
        finally:
            cpu = time.process_time() - cpu
            if view is not None:
                learn.trainer.bus.unsubscribe(view)
                view.close("finished")
        row = learn.history[-1]
        images = len(learn.loaders.train) * args.bs
        return images / row["seconds"], (view.draws if view is not None else 0), cpu

    print(f"sample data, efficientnet_lite0, {args.size}px, bs {args.bs}, one epoch per sample, "
          f"{args.pairs} on/off pairs (median)")
    for kind in (["widget", "svg"] if args.view == "all" else [args.view]):
        ratios, on, off, draws, seconds, draw_ms, per_epoch = [], [], [], [], [], [], []
        for _ in range(args.pairs):
            times: list[float] = []
            speed_on, n_draws, cpu = images_per_second(kind, times)
            seconds.append(cpu)
            speed_off, _, _ = images_per_second(None, [])
            on.append(speed_on)
            off.append(speed_off)
            draws.append(n_draws)
            ratios.append(speed_on / speed_off)
            if times:
                draw_ms.append(statistics.median(times) * 1000)
                per_epoch.append(sum(times))
        name = "widget dashboard" if kind == "widget" else "SVG progress view"
        print(f"[{name}]")
        print(f"  off: {statistics.median(off):7.1f} images/s")
        print(f"  on:  {statistics.median(on):7.1f} images/s  ({statistics.median(draws):.0f} draws per epoch)")
        print(f"  on / off throughput: {statistics.median(ratios):.3f}  (goal >= 0.98)")
        if draw_ms:
            share = statistics.median(per_epoch) / statistics.median(seconds)
            print(f"  one draw (losses read, SVG, HTML, JSON): median {statistics.median(draw_ms):.2f} ms CPU; "
                  f"all draws of an epoch: {statistics.median(per_epoch) * 1000:.0f} ms CPU "
                  f"= {share:.2%} of the epoch's {statistics.median(seconds):.1f} CPU s")
    if args.view in ("svg", "all"):
        ms, size = full_chart_draw_ms()
        print(f"[SVG progress view, a long run] one draw of a full chart (20,000 steps, 20 epochs, 2 metrics): "
              f"{ms:.2f} ms CPU, {size / 1024:.1f} KiB sent per update")


if __name__ == "__main__":
    main()

"""What the live dashboard costs a training run: throughput with it on vs off, paired in one process.

The same learner trains one epoch at a time, alternating dashboard on / off, so
machine noise hits both alike. The dashboard is built headless (no front end),
which still pays for everything on the kernel side: events, throttled draws,
reading the losses from the device, plotly serialisation of the updates.

    python benchmarks/bench_dashboard.py [--pairs 5] [--size 32] [--bs 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--bs", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("JUPYTER_DL_RUNS", tempfile.mkdtemp(prefix="jdl-bench-runs-"))
    import jupyter_dl
    from jupyter_dl.dashboard.widget import Dashboard

    learn = jupyter_dl.finetuning.build_learner("sample", size=args.size, bs=args.bs, augment="none")
    learn.fit(1, quiet=True)  # warm-up: first-epoch allocations are not the dashboard's

    def images_per_second(with_dashboard: bool) -> tuple[float, int]:
        view = None
        if with_dashboard:
            view = Dashboard(total_epochs=1, title="bench", show=False, on_stop=learn.trainer.request_stop)
            learn.trainer.bus.subscribe(view)
        try:
            learn.fit(1, quiet=True)
        finally:
            if view is not None:
                learn.trainer.bus.unsubscribe(view)
                view.close("finished")
        row = learn.history[-1]
        images = len(learn.loaders.train) * args.bs
        return images / row["seconds"], (view.draws if view is not None else 0)

    ratios, on, off, draws = [], [], [], []
    for _ in range(args.pairs):
        speed_on, n_draws = images_per_second(True)
        speed_off, _ = images_per_second(False)
        on.append(speed_on)
        off.append(speed_off)
        draws.append(n_draws)
        ratios.append(speed_on / speed_off)
    print(f"sample data, efficientnet_lite0, {args.size}px, bs {args.bs}, one epoch per sample, "
          f"{args.pairs} on/off pairs (median)")
    print(f"dashboard off: {statistics.median(off):7.1f} images/s")
    print(f"dashboard on:  {statistics.median(on):7.1f} images/s  ({statistics.median(draws):.0f} draws per epoch)")
    print(f"on / off throughput: {statistics.median(ratios):.3f}  (goal >= 0.98)")


if __name__ == "__main__":
    main()

"""What the monitor's background sampling costs: CPU time of the sampler thread per wall second.

Two measurements in one run:
1. per-sample cost: ``sample_now()`` called back to back in this thread, CPU time each
   (``time.thread_time``: user + system time of the calling thread, so NVML's driver calls count);
2. the real thing: the background thread subscribed at --interval for --seconds, its own CPU time
   (read per thread through psutil) over the wall time, as a percentage of one core.
With --torch-cuda, torch is imported and CUDA initialised first so the torch.cuda reads are paid too.

    python benchmarks/bench_monitor.py [--seconds 20] [--interval 1.0] [--torch-cuda]
"""
from __future__ import annotations

import argparse
import statistics
import time

GOAL_PERCENT_OF_ONE_CORE = 1.0


def thread_cpu_seconds(native_id: int) -> float:
    import psutil

    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return thread.user_time + thread.system_time
    raise RuntimeError("sampler thread not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--torch-cuda", action="store_true")
    args = parser.parse_args()
    if args.torch_cuda:
        import torch

        if torch.cuda.is_available():
            torch.ones(1, device="cuda")  # a CUDA context, as during training
    import threading

    from jupyter_dl.monitor import get_sampler

    sampler = get_sampler()
    first = sampler.sample_now()
    print(f"GPUs: {[g.name for g in first.gpus] or first.gpu_error}; device memory: {first.device_memory}")

    costs = []
    for _ in range(args.samples):
        start = time.thread_time()
        sampler.sample_now()
        costs.append(time.thread_time() - start)
    per_sample_ms = statistics.median(costs) * 1000
    print(f"per sample: median {per_sample_ms:.2f} ms CPU (mean {statistics.mean(costs) * 1000:.2f} ms,"
          f" {args.samples} samples) -> at 1 Hz {per_sample_ms / 10:.3f}% of one core")

    with sampler.subscribe(interval=args.interval):
        time.sleep(0.2)
        thread = next(t for t in threading.enumerate() if t.name == "jupyter_dl-monitor")
        cpu0, wall0 = thread_cpu_seconds(thread.native_id), time.monotonic()
        time.sleep(args.seconds)
        cpu1, wall1 = thread_cpu_seconds(thread.native_id), time.monotonic()
    # /proc counts thread CPU time in clock ticks (10 ms): below one tick only a bound is known.
    tick = 0.01
    percent = 100 * max(cpu1 - cpu0, tick) / (wall1 - wall0)
    bound = "< " if cpu1 - cpu0 < tick else ""
    taken = len(sampler.history(seconds=args.seconds))
    print(f"background thread at {args.interval:g} s for {wall1 - wall0:.1f} s: {taken} samples, "
          f"{(cpu1 - cpu0) * 1000:.0f} ms CPU -> {bound}{percent:.3f}% of one core "
          f"(goal < {GOAL_PERCENT_OF_ONE_CORE:g}%; ratio to goal {percent / GOAL_PERCENT_OF_ONE_CORE:.3f})")
    print(f"sampler thread stopped after the subscription closed: {not sampler.running}")


if __name__ == "__main__":
    main()

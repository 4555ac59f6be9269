"""Data larger than memory: building the decode cache and training from it, a big set against one that fits.

Generates random-ish JPEGs (smooth colour fields plus noise and a shape; several processes), then measures
in fresh subprocesses, one per measurement so each one's peak RSS is its own:

- **build**: ``make_loaders`` on the folder with an empty cache (decode + resize + write the cache for
  both splits): images/s and peak RSS;
- **train**: ``make_loaders`` again (the cache is found, nothing is decoded), then a fixed number of
  training batches through the loader alone (pixels gathered + the batch transform, by default without
  augmentation, whose cost on a CPU would hide the gather: "loader img/s"; after 5 untimed batches) and
  through the loader plus a small CNN's SGD steps ("steps img/s"); and peak RSS over all of it.

Peak RSS is the child's VmHWM from /proc/self/status (ru_maxrss where there is no /proc): the number a
"memory" column and the OOM killer see; file-backed pages of a mapping count in it. Variants:

- ``big`` / ``small``: the big set (default 40,000 images: a 4.4 GB cache at 192 px) and a set that fits
  in RAM (default 4,000 images), same image size, same code;
- ``small, in RAM``: the small set's pixels copied into memory first (the fastest possible gather);
- ``big, mapping``: batches indexed from the mapped file, as the branch did before reading rows with
  preadv (train only): how RSS grows when the mapping is touched.

Both caches stay in the OS page cache here (24 GiB machine), so this measures the process's memory, not
reads from a disk. Rounds alternate the variants; the best round is printed (machine noise only slows).

    python benchmarks/bench_big_data.py                        # 40,000 + 4,000 images at 192 px (~5.5 GB disk)
    python benchmarks/bench_big_data.py --images 4000 --small 1000 --batches 60
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

N_CLASSES = 10
WARM_UP = 5  # training batches before the timed ones


# ----------------------------------------------------------------------------- the data
def _write_images(job: tuple[str, int, int, int]) -> int:
    """Write images ``start:stop`` of a set into ``root/c<label>/``; returns how many."""
    import numpy as np
    from PIL import Image, ImageDraw

    root, start, stop, side = job
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        label = i % N_CLASSES
        coarse = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((side, side), Image.BILINEAR)
        noisy = np.asarray(image, dtype=np.int16) + rng.integers(-20, 21, (side, side, 3))
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        x, y = (label % 5) * side // 6 + 4, (label // 5) * side // 2 + 8
        ImageDraw.Draw(image).ellipse([x, y, x + side // 3, y + side // 3], fill=(255, 255 - 25 * label, 0))
        image.save(Path(root) / f"c{label}" / f"{i:06d}.jpg", quality=85)
    return stop - start


def make_set(root: Path, n: int, side: int, processes: int) -> Path:
    """``n`` JPEGs of ``side`` px in ``root/c0`` ... ``root/c9``, written by ``processes`` processes."""
    for label in range(N_CLASSES):
        (root / f"c{label}").mkdir(parents=True, exist_ok=True)
    step = 500
    jobs = [(str(root), start, min(n, start + step), side) for start in range(0, n, step)]
    with ProcessPoolExecutor(processes) as pool:
        assert sum(pool.map(_write_images, jobs)) == n
    return root


# ----------------------------------------------------------------------------- one measurement (a child)
def memory() -> dict[str, float]:
    """This process's peak and current RSS, anonymous and file-backed (MB)."""
    found: dict[str, float] = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key = line.split(":")[0]
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    found[key] = int(line.split()[1]) / 1024
    except OSError:
        import resource

        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return found


def child(args: argparse.Namespace) -> None:
    """Run one measurement in this (fresh) process and print its result as JSON on the last line."""
    import torch
    from torch import nn

    from jupyter_dl.data import make_loaders
    from jupyter_dl.data.loaders import CachedImageLoader

    torch.set_num_threads(args.threads)
    base = memory()
    start = time.perf_counter()
    loaders = make_loaders(args.data, size=args.size, bs=args.bs, workers=args.workers, augment=args.augment)
    setup_s = time.perf_counter() - start
    result: dict = {"setup_s": setup_s, "n": loaders.n_train + loaders.n_valid, "after_import": base,
                    "after_setup": memory()}
    if args.child == "train":
        train = loaders.train
        assert isinstance(train, CachedImageLoader)
        if args.variant == "in RAM":
            train.pixels, train._disk = train.pixels.clone(), None
        elif args.variant == "mapping":
            train._disk = None  # index the mapped file, as before (a729308)
        model = nn.Sequential(nn.Conv2d(3, 16, 5, stride=4, padding=2), nn.ReLU(),
                              nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, N_CLASSES))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

        def batches(count: int):
            done = 0
            while True:
                for batch in train:
                    if done == count:
                        return
                    done += 1
                    yield batch

        for x, y in batches(WARM_UP):  # first calls of torch's ops and allocations are not what is measured
            nn.functional.cross_entropy(model(x), y).backward()
        start, cpu = time.perf_counter(), time.process_time()
        seen = sum(int(x.shape[0]) for x, _ in batches(args.batches))
        result["loader_img_s"] = seen / (time.perf_counter() - start)
        result["loader_img_cpu_s"] = seen / (time.process_time() - cpu)
        start, cpu, seen = time.perf_counter(), time.process_time(), 0
        for x, y in batches(args.batches):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += int(x.shape[0])
        result["steps_img_s"] = seen / (time.perf_counter() - start)
        result["steps_img_cpu_s"] = seen / (time.process_time() - cpu)
    else:
        result["build_img_s"] = result["n"] / setup_s
        result["build_img_cpu_s"] = result["n"] / time.process_time()  # the whole child: imports are ~2 s of it
    result["end"] = memory()
    print(json.dumps(result))


def measure(kind: str, data: Path, cache: Path, args: argparse.Namespace, variant: str = "") -> dict:
    """Run ``kind`` ("build" or "train") in a fresh interpreter; its JSON result."""
    env = {**os.environ, "JUPYTER_DL_CACHE": str(cache)}
    command = [sys.executable, __file__, "--child", kind, "--data", str(data), "--variant", variant,
               "--size", str(args.size), "--bs", str(args.bs), "--workers", str(args.workers),
               "--batches", str(args.batches), "--threads", str(args.threads), "--augment", args.augment]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the comparison
def main() -> None:
    """Generate the sets, measure every variant in fresh processes, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40_000, help="images in the big set")
    parser.add_argument("--small", type=int, default=4_000, help="images in the set that fits in RAM")
    parser.add_argument("--size", type=int, default=192, help="cache size (px)")
    parser.add_argument("--side", type=int, default=224, help="side of the generated JPEGs (px)")
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--batches", type=int, default=200, help="training batches per measurement")
    parser.add_argument("--workers", type=int, default=2, help="decode threads")
    parser.add_argument("--augment", default="none",
                        help="the loader's augmentation (\"light\" on a CPU costs far more than the gather)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the training measurements")
    parser.add_argument("--root", type=Path, default=None, help="where to put the data (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and caches")
    parser.add_argument("--child", choices=("build", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    root = Path(tempfile.mkdtemp(prefix="jdl-bigdata-", dir=args.root))
    print(f"data in {root}; cache {args.images} x 3 x {args.size} x {args.size} = "
          f"{args.images * 3 * args.size ** 2 / 1e9:.2f} GB", flush=True)
    try:
        sets = {}
        for name, n in (("big", args.images), ("small", args.small)):
            start = time.perf_counter()
            sets[name] = make_set(root / name, n, args.side, processes=os.cpu_count() or 2)
            print(f"generated {n} JPEGs ({name}) in {time.perf_counter() - start:.0f} s", flush=True)
        rows: dict[str, dict] = {}
        for name in ("small", "big"):
            rows[f"{name}: build"] = measure("build", sets[name], root / f"cache-{name}", args)
            print(f"  built {name}", flush=True)
        variants = [("big", ""), ("small", ""), ("small", "in RAM"), ("big", "mapping")]
        for _ in range(args.rounds):
            for name, variant in variants:
                result = measure("train", sets[name], root / f"cache-{name}", args, variant)
                label = f"{name}: train" + (f", {variant}" if variant else "")
                best = rows.get(label)
                if best is not None:  # best throughput, highest peak RSS over the rounds
                    result["end"]["VmHWM"] = max(result["end"]["VmHWM"], best["end"]["VmHWM"])
                    for key in ("loader_img_s", "steps_img_s", "loader_img_cpu_s", "steps_img_cpu_s"):
                        result[key] = max(result[key], best[key])
                rows[label] = result
            print("  one round of training measurements done", flush=True)
        report(rows, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def report(rows: dict[str, dict], args: argparse.Namespace) -> None:
    """The table and the ratios the goal is about."""
    print(f"\n{'measurement':28s} {'images':>7s} {'img/s':>12s} {'img/CPU-s':>12s} {'peak RSS MB':>12s} "
          f"{'after import':>12s} {'RssFile end':>11s}")
    for label, row in rows.items():
        if "build_img_s" in row:
            speed, cpu = f"{row['build_img_s']:.0f}", f"{row['build_img_cpu_s']:.0f}"
        else:
            speed = f"{row['loader_img_s']:.0f} / {row['steps_img_s']:.0f}"
            cpu = f"{row['loader_img_cpu_s']:.0f} / {row['steps_img_cpu_s']:.0f}"
        print(f"{label:28s} {row['n']:7d} {speed:>12s} {cpu:>12s} {row['end']['VmHWM']:12.0f} "
              f"{row['after_import'].get('VmRSS', 0):12.0f} {row['end'].get('RssFile', 0):11.0f}")
    print("(train: loader alone / loader + small CNN steps; img/CPU-s: per second of this process's CPU time,\n"
          " less sensitive to other jobs on the machine; peak RSS: VmHWM)")
    big, small = rows["big: train"], rows["small: train"]
    ram = rows["small: train, in RAM"]
    for unit in ("s", "cpu_s"):
        name = "img/s" if unit == "s" else "img/CPU-s"
        print(f"\n{name}: build big / small: "
              f"{rows['big: build'][f'build_img_{unit}'] / rows['small: build'][f'build_img_{unit}']:.2f}")
        for key, what in (("loader", "loader"), ("steps", "loader + steps")):
            k = f"{key}_img_{unit}"
            print(f"{name}: {what} big / small: {big[k] / small[k]:.2f}; big / small in RAM: {big[k] / ram[k]:.2f}")
    peak = max(rows["big: build"]["end"]["VmHWM"], big["end"]["VmHWM"])
    print(f"\npeak RSS of the big set, build and train: {peak:.0f} MB (goal < 1536 MB)")


if __name__ == "__main__":
    main()

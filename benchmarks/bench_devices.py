"""``--devices cpu:2`` against one process: the same job, side by side, images/s and whole-job seconds.

Same data (synthetic JPEGs, ``bench_finetune.make_images``), model (resnet18 from random weights),
size, global batch (one process ``--bs B``, N processes ``--bs B/N``: the same steps) and recipe
(1 frozen + 1 unfrozen epoch). The cache is built once before the rounds, so both variants read
it; the whole job of the multi-process run includes starting its workers (spawn, imports, model
build) and relaying its events. Rounds alternate the variants; medians and the ratio are printed.

    python benchmarks/bench_devices.py [--rounds 3] [--train 1600] [--size 64] [--bs 64] [--devices cpu:2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_finetune import make_images  # noqa: E402

import jupyter_dl  # noqa: E402


def run(data: Path, args: argparse.Namespace, devices: str | None) -> tuple[float, float]:
    """(whole-job seconds, training images/s over the epochs) of one run."""
    count = int(devices.split(":")[1]) if devices else 1
    started = time.perf_counter()
    learn = jupyter_dl.finetune(str(data), "resnet18", pretrained=False, size=args.size, bs=args.bs // count,
                                epochs=1, freeze_epochs=1, devices=devices, quiet=True)
    whole = time.perf_counter() - started
    seconds = sum(h["seconds"] for h in learn.history)
    return whole, 2 * learn.config["n_train"] / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train", type=int, default=1600)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--devices", default="cpu:2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_images(Path(tmp) / "data", args.train, args.train // 4)
        jupyter_dl.finetuning.build_learner(str(data), "resnet18", pretrained=False, size=args.size, quiet=True)
        results: dict[str, list[tuple[float, float]]] = {"one process": [], args.devices: []}
        for _ in range(args.rounds):
            results["one process"].append(run(data, args, None))
            results[args.devices].append(run(data, args, args.devices))
    print(f"{'variant':<14} {'whole job s':>12} {'train img/s':>12}")
    medians = {}
    for name, rows in results.items():
        whole = statistics.median(r[0] for r in rows)
        speed = statistics.median(r[1] for r in rows)
        medians[name] = (whole, speed)
        each = ", ".join(f"{r[0]:.1f}s/{r[1]:.0f}" for r in rows)
        print(f"{name:<14} {whole:>12.1f} {speed:>12.0f}   (rounds: {each})")
    one, many = medians["one process"], medians[args.devices]
    print(f"{args.devices} / one process: whole job {many[0] / one[0]:.2f}x the time, training {many[1] / one[1]:.2f}x "
          "the images/s")


if __name__ == "__main__":
    main()

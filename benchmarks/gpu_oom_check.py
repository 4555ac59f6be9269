"""Out of GPU memory for real, on a CUDA GPU: the clear error, a usable learner, and --auto-bs.

A blocker tensor takes all of the GPU's free memory but ``--free-gib``, so that fine-tuning
resnet18 (random weights, nothing to download) on the sample data at ``--size`` px with
``--bs`` images per batch runs out of memory. Then, through the Python API behind %finetune:

1. without auto_bs: a UserInputError that carries torch's numbers (asked, free) and the
   advice; the learner's weights are unchanged; the failed step's tensors are given back
   (allocated memory is back to what it was before the fit); predict() works;
2. the same learner with auto_bs=True: the phase is retried with half the batch until it
   fits, and the run finishes with the batch size it chose;
3. ``jupyter_dl.finetune(..., background=True, auto_bs=True)``: the same in a training thread.

Prints one PASS/FAIL line per check with the numbers; exit status 1 if any check failed.
Without CUDA it says so and exits 0. Takes well under a minute on an H100.

    python benchmarks/gpu_oom_check.py [--free-gib 3] [--bs 1024] [--size 224]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

GIB = 2**30
ARCH = "torchvision:resnet18"
failures: list[str] = []


def check(name: str, ok: bool, detail: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        failures.append(name)


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def block_all_but(free_gib: float) -> torch.Tensor | None:
    """Take the GPU's free memory but ``free_gib`` GiB with one plain allocation."""
    free, _total = torch.cuda.mem_get_info()
    size = int(free - free_gib * GIB)
    return torch.empty(size, dtype=torch.uint8, device="cuda") if size > 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--free-gib", type=float, default=3.0, help="GPU memory left free beside the blocker")
    parser.add_argument("--bs", type=int, default=1024, help="the batch size that should not fit")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("SKIP: no CUDA GPU here; this check needs one (the CPU tests in tests/test_oom.py simulate it).")
        return 0

    os.environ.setdefault("JUPYTER_DL_CACHE", tempfile.mkdtemp(prefix="jdl-oom-cache-"))
    os.environ.setdefault("JUPYTER_DL_RUNS", tempfile.mkdtemp(prefix="jdl-oom-runs-"))
    import jupyter_dl
    from jupyter_dl.errors import UserInputError

    started = time.perf_counter()
    free, total = torch.cuda.mem_get_info()
    print(f"{torch.cuda.get_device_name()}: {free / GIB:.1f} of {total / GIB:.1f} GiB free; torch {torch.__version__}")
    data = jupyter_dl.datasets.sample()
    image = next(iter(sorted((data / "3").iterdir())))
    options = dict(pretrained=False, size=args.size, bs=args.bs, device="cuda")
    learn = jupyter_dl.finetuning.build_learner(data, ARCH, **options)
    print(f"learner built in {time.perf_counter() - started:.1f} s: {learn.loaders.n_train} train / "
          f"{learn.loaders.n_valid} valid images, batch size {learn.batch_size}, {learn.trainer.precision.name}")

    blocker = block_all_but(args.free_gib)
    torch.cuda.synchronize()
    print(f"blocker: {(blocker.numel() if blocker is not None else 0) / GIB:.1f} GiB; "
          f"free now {torch.cuda.mem_get_info()[0] / GIB:.2f} GiB")

    # 1. Without auto_bs: the clear error, nothing lost, memory given back, predict works.
    before = {k: v.detach().cpu().clone() for k, v in learn.model.state_dict().items()}
    allocated_before = torch.cuda.memory_allocated()
    t0 = time.perf_counter()
    error = None
    try:
        learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True)
    except UserInputError as exc:
        error = exc
    seconds = time.perf_counter() - t0
    message = str(error) if error is not None else ""
    report = getattr(error, "report", None)
    check("error", error is not None and "--auto-bs" in message and report is not None
          and report.asked is not None and report.free is not None,
          f"in {seconds:.1f} s: {message or 'no error: raise --bs or lower --free-gib'}")
    check("status", learn.status == "failed",
          f"learn.status {learn.status!r}, learn.error {type(learn.error).__name__}")
    after = learn.model.state_dict()
    unchanged = all(torch.equal(before[k], after[k].detach().cpu()) for k in before)
    check("weights", unchanged, "unchanged by the failed phase" if unchanged else "CHANGED by the failed phase")
    allocated_after = torch.cuda.memory_allocated()
    grown = allocated_after - allocated_before
    check("memory", grown < 256 * 2**20,
          f"allocated {mib(allocated_before)} before the fit, {mib(allocated_after)} after the error "
          f"({mib(grown)} kept); free {torch.cuda.mem_get_info()[0] / GIB:.2f} GiB")
    error = report = None
    try:
        label, prob, _ = learn.predict(image)
        check("predict", label in learn.classes, f"predict() -> {label!r} ({prob:.2f}) after the error")
    except Exception as exc:  # noqa: BLE001 - the check reports whatever went wrong
        check("predict", False, f"{type(exc).__name__}: {exc}")

    # 2. The same learner, auto_bs: halves until it fits and says what it chose.
    t0 = time.perf_counter()
    try:
        status = learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, auto_bs=True)
    except Exception as exc:  # noqa: BLE001
        status = f"{type(exc).__name__}: {exc}"
    check("auto-bs", status == "finished" and learn.batch_size < args.bs,
          f"{status} in {time.perf_counter() - t0:.1f} s with batch size {learn.batch_size} (asked {args.bs}); "
          f"history {[(r['phase'], round(r.get('accuracy') or 0, 3)) for r in learn.history]}")

    # 3. The public API in the background: the retry happens in the training thread.
    t0 = time.perf_counter()
    try:
        ns: dict = {}
        bg = jupyter_dl.finetune(data, ARCH, epochs=1, freeze_epochs=1, quiet=True, background=True, auto_bs=True,
                                 namespace=ns, **options)
        status = bg.wait(300)
        detail = (f"{status} in {time.perf_counter() - t0:.1f} s with batch size {bg.batch_size}"
                  + (f"; error: {bg.error}" if bg.error is not None else ""))
        ok = status == "finished" and bg.batch_size < args.bs
    except Exception as exc:  # noqa: BLE001
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    check("background auto-bs", ok, detail)

    del blocker
    print(f"total {time.perf_counter() - started:.1f} s; {len(failures)} failed" +
          (f": {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The whole ``%finetune`` job on the CPU against a hand-written PyTorch loop doing the SAME steps.

Issue 12, item 4: ``bench_finetune.py``'s plain loop trains only the head while frozen and applies no
augmentation, while ``%finetune``'s default recipe trains the BatchNorm layers while frozen (a
backward pass through the body), augments every training batch and logs to a run folder. Here the
references do the default recipe's work, written as a competent PyTorch user would:

- ``reference (ImageFolder)``: ``datasets.ImageFolder`` + per-image torchvision transforms
  (Resize, RandomAffine for zoom/rotate/shift, ColorJitter for brightness/contrast, ToTensor,
  Normalize) + ``DataLoader(num_workers=W, persistent_workers=True)``: decoding every epoch in
  worker processes, overlapping the training steps.
- ``reference (decoded tensors)``: every image decoded and resized once into a uint8 tensor, a
  ``DataLoader`` over a ``TensorDataset`` (no workers: nothing left to do per item) and the
  augmentation as one affine ``grid_sample`` + brightness/contrast per batch.

Both: torchvision resnet18 from random weights; phase 1 with the body frozen except its BatchNorm
layers (their params train, so the backward pass goes through the body) and the head, AdamW
(betas (0.95, 0.99), eps 1e-5, wd 0.01 off the norm/bias params) with three layer groups at
discriminative lrs, ``OneCycleLR`` (pct_start 0.99, div 25, final div 1e5, beta1 cycling 0.95 ->
0.85); phase 2 everything at lr/2, pct_start 0.3, div 5; validation loss + accuracy after every
epoch; the best weights kept. The compute limit does the same steps on one in-memory batch.

Each variant runs in a fresh process (``--child NAME``) and times the whole job from after
``import torch, torchvision``: data set-up (jupyter_dl: a cold cache, so its decode is counted),
model, training, validation. Rounds alternate the variants so the machine's noise hits all alike;
the medians, spreads and ratios of the one run are printed.

    python benchmarks/bench_cpu_job.py [--rounds 5] [--train 800] [--valid 200] [--size 64] [--bs 32]
    python benchmarks/bench_cpu_job.py --profile     # where jupyter_dl's time above the compute limit goes
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

N_CLASSES = 10
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FUSED_REF = False  # torch's default AdamW on the CPU (the single-tensor loop), as a hand-written loop has it


# ----------------------------------------------------------------------- the hand-written reference
def _model_and_groups(torch, torchvision):
    model = torchvision.models.resnet18(num_classes=N_CLASSES)
    early = [*model.conv1.parameters(), *model.bn1.parameters(), *model.layer1.parameters(),
             *model.layer2.parameters()]
    late = [*model.layer3.parameters(), *model.layer4.parameters()]
    head = list(model.fc.parameters())
    return model, [early, late, head]


def _optimizer(torch, model, groups, lrs):
    """AdamW over layer groups, no weight decay on BatchNorm params and biases (as fastai and jupyter_dl)."""
    torch_groups = []
    for params, lr in zip(groups, lrs):
        decay = [p for p in params if p.requires_grad and p.ndim > 1]
        plain = [p for p in params if p.requires_grad and p.ndim <= 1]
        torch_groups += [{"params": decay, "lr": lr, "weight_decay": 0.01},
                         {"params": plain, "lr": lr, "weight_decay": 0.0}]
    torch_groups = [g for g in torch_groups if g["params"]]
    opt = torch.optim.AdamW(torch_groups, betas=(0.95, 0.99), eps=1e-5, **({"fused": True} if FUSED_REF else {}))
    return opt, [g["lr"] for g in torch_groups]


def _fit_one_cycle(torch, model, groups, train, valid, lrs, pct_start, div, augment=None):
    opt, max_lrs = _optimizer(torch, model, groups, lrs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=len(train), pct_start=pct_start,
                                                div_factor=div, final_div_factor=1e5 / div,
                                                base_momentum=0.85, max_momentum=0.95)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for x, y in train:
        if augment is not None:
            x = augment(x)
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for x, y in valid:
            if augment is not None:
                x = augment.normalize(x)
            out = model(x)
            loss_sum += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def _fine_tune(torch, model, groups, train, valid, lr=1e-2, augment=None):
    """Phase 1 (body frozen but its BatchNorm layers, 1 epoch), phase 2 (all, 1 epoch); the best weights kept."""
    bn_types = (torch.nn.BatchNorm2d,)
    body = {id(p) for g in groups[:-1] for p in g}
    bn = {id(p) for m in model.modules() if isinstance(m, bn_types) for p in m.parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) not in body or id(p) in bn)
    ratios = [0.1, math.sqrt(0.1), 1.0]  # earliest group at lr/10, geometric up to the head's
    best, best_state = -1.0, None
    for phase_lr, pct, div in ((lr, 0.99, 25.0), (lr / 2, 0.3, 5.0)):
        acc = _fit_one_cycle(torch, model, groups, train, valid, [phase_lr * r for r in ratios], pct, div, augment)
        if acc > best:
            best, best_state = acc, {k: v.detach().clone() for k, v in model.state_dict().items()}
        for p in model.parameters():
            p.requires_grad_(True)
    model.load_state_dict(best_state)
    return best


def run_reference_folder(data: Path, args) -> dict:
    import torch
    import torchvision
    from torchvision import datasets, transforms

    t0 = time.perf_counter()
    resize = [transforms.Resize(args.size), transforms.CenterCrop(args.size)]
    norm = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    train_tf = transforms.Compose(resize + [transforms.RandomAffine(10, translate=(0.05, 0.05), scale=(1.0, 1.1)),
                                            transforms.ColorJitter(brightness=0.1, contrast=0.1)] + norm)
    common = dict(batch_size=args.bs, num_workers=args.workers, persistent_workers=args.workers > 0)
    train = torch.utils.data.DataLoader(datasets.ImageFolder(data / "train", train_tf), shuffle=True, drop_last=True,
                                        **common)
    valid = torch.utils.data.DataLoader(datasets.ImageFolder(data / "valid", transforms.Compose(resize + norm)),
                                        **common)
    model, groups = _model_and_groups(torch, torchvision)
    t1 = time.perf_counter()
    acc = _fine_tune(torch, model, groups, train, valid)
    return {"setup_s": t1 - t0, "accuracy": acc}


class BatchAugment:
    """uint8 batch -> float, normalised; training batches get a random affine + brightness/contrast per image."""

    def __init__(self, torch):
        self.torch = torch
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(STD).view(1, 3, 1, 1) * 255

    def normalize(self, x):
        return (x.float() - self.mean) / self.std

    def __call__(self, x):
        torch, F = self.torch, self.torch.nn.functional
        x = x.float()
        n = x.shape[0]
        r = torch.rand(n, 6)
        zoom, angle = 1 + 0.1 * r[:, 0], (2 * r[:, 1] - 1) * math.radians(10)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([cos, -sin, (2 * r[:, 2] - 1) * 0.1, sin, cos, (2 * r[:, 3] - 1) * 0.1], 1).view(n, 2, 3)
        x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="reflection",
                          align_corners=False)
        b, c = (0.9 + 0.2 * r[:, 4]).view(n, 1, 1, 1), (0.9 + 0.2 * r[:, 5]).view(n, 1, 1, 1)
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - m) * c + m) * b
        return (x.clamp(0, 255) - self.mean) / self.std


def run_reference_tensors(data: Path, args) -> dict:
    import numpy as np
    import torch
    import torchvision
    from PIL import Image
    from torchvision import datasets

    t0 = time.perf_counter()

    def decoded(folder):
        ds = datasets.ImageFolder(folder)
        pixels = np.stack([np.asarray(Image.open(p).convert("RGB").resize((args.size, args.size),
                                                                           Image.BILINEAR)) for p, _ in ds.samples])
        return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets)

    train_ds = torch.utils.data.TensorDataset(*decoded(data / "train"))
    valid_ds = torch.utils.data.TensorDataset(*decoded(data / "valid"))
    train = torch.utils.data.DataLoader(train_ds, batch_size=args.bs, shuffle=True, drop_last=True)
    valid = torch.utils.data.DataLoader(valid_ds, batch_size=args.bs)
    model, groups = _model_and_groups(torch, torchvision)
    t1 = time.perf_counter()
    acc = _fine_tune(torch, model, groups, train, valid, augment=BatchAugment(torch))
    return {"setup_s": t1 - t0, "accuracy": acc}


def run_reference_tensors_fused(data: Path, args) -> dict:
    """The decoded-tensors reference with ``AdamW(..., fused=True)``, as jupyter_dl now steps on the CPU."""
    global FUSED_REF
    FUSED_REF = True
    return run_reference_tensors(data, args)


def run_compute_limit(data: Path, args) -> dict:
    """The references' steps on one in-memory float batch: no decode, no augmentation, no loader."""
    import torch
    import torchvision

    t0 = time.perf_counter()
    x = torch.randn(args.bs, 3, args.size, args.size)
    y = torch.randint(0, N_CLASSES, (args.bs,))
    train = [(x, y)] * (args.train // args.bs)
    valid = [(x, y)] * math.ceil(args.valid / args.bs)
    model, groups = _model_and_groups(torch, torchvision)
    t1 = time.perf_counter()
    _fine_tune(torch, model, groups, train, valid)
    return {"setup_s": t1 - t0, "accuracy": float("nan")}


# ----------------------------------------------------------------------- jupyter_dl
def run_jupyter_dl(data: Path, args, quiet: bool = False) -> dict:
    """``%finetune torchvision:resnet18 DATA --size S --bs B --no-pretrained``: the default recipe and options."""
    t0 = time.perf_counter()
    import jupyter_dl

    learn = jupyter_dl.finetune(data, "torchvision:resnet18", pretrained=False, size=args.size, bs=args.bs,
                                quiet=quiet, **({"workers": args.workers} if args.workers_jdl else {}))
    total = time.perf_counter() - t0
    train_s = sum(row["seconds"] for row in learn.history)
    return {"setup_s": total - train_s, "accuracy": learn.history[-1]["accuracy"],
            "data_wait_s": sum(row.get("data_wait_s") or 0 for row in learn.history)}


def run_jupyter_dl_no_saves(data: Path, args) -> dict:
    """The same job without the run folder's model.jdl / resume.pt (``Learner.fine_tune(checkpoints=False)``)."""
    t0 = time.perf_counter()
    import jupyter_dl

    learn = jupyter_dl.finetuning.build_learner(data, "torchvision:resnet18", pretrained=False, size=args.size,
                                                bs=args.bs)
    learn.fine_tune(epochs=1, freeze_epochs=1, checkpoints=False)
    total = time.perf_counter() - t0
    return {"setup_s": total - sum(row["seconds"] for row in learn.history),
            "accuracy": learn.history[-1]["accuracy"]}


def run_jupyter_dl_quiet(data: Path, args) -> dict:
    return run_jupyter_dl(data, args, quiet=True)


VARIANTS = {
    "jupyter_dl %finetune": run_jupyter_dl,
    "reference (ImageFolder)": run_reference_folder,
    "reference (decoded tensors)": run_reference_tensors,
    "compute limit": run_compute_limit,
}
EXTRA = {"jupyter_dl quiet": run_jupyter_dl_quiet,  # run with --only "NAME" ...
         "jupyter_dl without run-folder saves": run_jupyter_dl_no_saves,
         "reference (decoded tensors, fused AdamW)": run_reference_tensors_fused}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (DataLoader workers), user + system."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(name: str, data: Path, args) -> None:
    import torch  # (imports are not the job: every variant pays them alike)
    import torchvision  # noqa: F401

    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["JUPYTER_DL_CACHE"] = tempfile.mkdtemp(prefix="jdl-cpu-job-cache-")  # cold: the decode counts
    start, cpu = time.perf_counter(), _cpu_seconds()
    result = {**VARIANTS, **EXTRA}[name](data, args)
    result["job_s"] = time.perf_counter() - start
    result["cpu_s"] = _cpu_seconds() - cpu  # workers count once they exit (persistent ones: at the job's end)
    print("RESULT " + json.dumps(result))


BASELINE = "jupyter_dl before (--baseline)"


def spawn(name: str, data: Path, args, extra: list[str] | None = None) -> dict:
    env = {**os.environ}
    if name == BASELINE:  # the same job on another checkout of the package (e.g. `git archive` of main)
        env["PYTHONPATH"], name = args.baseline, "jupyter_dl %finetune"
    cmd = [sys.executable, __file__, "--child", name, "--data", str(data), "--size", str(args.size),
           "--bs", str(args.bs), "--train", str(args.train), "--valid", str(args.valid),
           "--workers", str(args.workers)] + (["--workers-jdl"] if args.workers_jdl else []) + (extra or []) + \
        (["--threads", str(args.threads)] if args.threads else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def compare(data: Path, args) -> None:
    names = args.only or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS and n not in EXTRA]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}: pick from {list(VARIANTS) + list(EXTRA)}")
    if args.baseline:
        names = names[:1] + [BASELINE] + names[1:]
    results: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]  # alternate, and reverse every other round
        for name in order:
            results[name].append(spawn(name, data, args))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {results[n][-1]['job_s']:.2f}s" for n in names),
              file=sys.stderr)
    print(f"\n{args.train} train + {args.valid} valid JPEGs (96 px -> {args.size} px), bs {args.bs}, resnet18 "
          f"(random init), default recipe (1 frozen epoch with BatchNorm training + 1 unfrozen), "
          f"{args.workers} workers, torch threads {args.threads or f'default ({os.cpu_count()} cores)'}, "
          f"median of {args.rounds}, "
          "fresh process per run")
    ours = [r["job_s"] for r in results.get("jupyter_dl %finetune", [])]
    print(f"{'variant':30s} {'whole job':>10s} {'spread':>12s} {'set-up':>8s} {'accuracy':>9s} "
          f"{'ours/this':>10s} {'paired':>16s} {'CPU s':>7s} {'ours/this':>10s}")
    our_cpu = [r.get("cpu_s", math.nan) for r in results.get("jupyter_dl %finetune", [])]
    for name in names:
        jobs = [r["job_s"] for r in results[name]]
        med = statistics.median(jobs)
        setup = statistics.median(r["setup_s"] for r in results[name])
        acc = statistics.median(r["accuracy"] for r in results[name])
        ratio = f"{statistics.median(ours) / med:.3f}x" if ours else "-"
        paired = sorted(o / j for o, j in zip(ours, jobs)) if ours else []
        pair_text = f"{paired[0]:.2f}-{paired[-1]:.2f}" if paired else "-"
        cpu = statistics.median(r.get("cpu_s", math.nan) for r in results[name])
        cpu_ratio = f"{statistics.median(our_cpu) / cpu:.3f}x" if our_cpu else "-"
        print(f"{name:30s} {med:9.2f}s {spread(jobs):>12s} {setup:7.2f}s {acc:9.3f} {ratio:>10s} {pair_text:>16s} "
              f"{cpu:7.1f} {cpu_ratio:>10s}")


# ----------------------------------------------------------------------- profile
def profile(data: Path, args) -> None:
    """Run jupyter_dl's job once under cProfile in a fresh process and print where the time goes."""
    spawn_profile = [sys.executable, __file__, "--profile-child", "--data", str(data), "--size", str(args.size),
                     "--bs", str(args.bs), "--train", str(args.train), "--valid", str(args.valid),
                     "--workers", str(args.workers)] + (["--workers-jdl"] if args.workers_jdl else []) + \
        (["--threads", str(args.threads)] if args.threads else [])
    out = subprocess.run(spawn_profile, capture_output=True, text=True, check=False)
    sys.stdout.write(out.stdout)
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])


def profile_child(data: Path, args) -> None:
    import cProfile
    import pstats

    import torch
    import torchvision  # noqa: F401

    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["JUPYTER_DL_CACHE"] = tempfile.mkdtemp(prefix="jdl-cpu-job-cache-")
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    run_jupyter_dl(data, args)
    prof.disable()
    job = time.perf_counter() - start
    breakdown(pstats.Stats(prof), job)


# (label, file suffix, function): cumulative seconds of that function on the main thread. Indented labels
# are parts of the row above them; the rows without indent do not overlap and add up to the job.
PROFILE_ROWS = [
    ("set-up: data, model, Trainer (assemble_learner)", "finetuning/build.py", "assemble_learner"),
    ("  resolve the data (list the files)", "data/sources.py", "resolve_data"),
    ("  build the model", "models/registry.py", "create_model"),
    ("  decode once into the uint8 cache (incl. its .npy write)", "data/cache.py", "build_image_cache"),
    ("run session set-up (view, run log, run folder)", "finetuning/session.py", "__init__"),
    ("training + validation epochs (Trainer._run_epoch)", "train/trainer.py", "_run_epoch"),
    ("  next batch: gather + BatchTransform", "data/loaders.py", "__iter__"),
    ("    augmentation (BatchTransform._augment)", "data/transforms.py", "_augment"),
    ("  training step (forward, backward, AdamW)", "train/trainer.py", "_train_step"),
    ("    AdamW step", "torch/optim/optimizer.py", "wrapper"),
    ("  per-batch hypers (schedule + set_hypers)", "train/optimizer.py", "set_hypers"),
    ("  LossLog.append", "train/losslog.py", "append"),
    ("  events: every emit (views, run log, run files)", "train/events.py", "emit"),
    ("    run folder: CPU copies at epoch ends", "finetuning/run_files.py", "__call__"),
    ("    run log (JSON lines)", "train/runlog.py", "__call__"),
    ("  validation (_collect_outputs)", "train/trainer.py", "_collect_outputs"),
    ("  best weights: CPU copy (BestWeights.update)", "train/best_weights.py", "update"),
    ("run end: writes finish, log closes, summary", "finetuning/session.py", "close"),
]


def breakdown(stats, job: float) -> None:
    """Print PROFILE_ROWS' seconds and shares of the job (cProfile's cumulative times, main thread)."""
    table = stats.stats  # type: ignore[attr-defined]
    print(f"jupyter_dl job under cProfile: {job:.2f} s (cProfile adds a little per Python call)")
    print(f"{'where':62s} {'seconds':>8s} {'share':>7s} {'calls':>7s}")
    for label, suffix, func in PROFILE_ROWS:
        hits = [(v[3], v[1]) for (file, _line, name), v in table.items()
                if name == func and file.replace(os.sep, "/").endswith(suffix)]
        if not hits:
            print(f"{label:62s} {'-':>8s}")
            continue
        seconds, calls = max(hits)  # one function of that name per file holds the time we mean
        print(f"{label:62s} {seconds:8.2f} {seconds / job:7.1%} {calls:7d}")
    top = sorted(table.items(), key=lambda kv: -kv[1][2])[:15]
    print("\ntop own-time functions:")
    for (file, line, name), v in top:
        print(f"  {v[2]:7.2f}s  {name}  ({Path(file).name}:{line})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--valid", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="the ImageFolder reference's DataLoader workers")
    parser.add_argument("--workers-jdl", action="store_true",
                        help="pass --workers to jupyter_dl too (default: its own default, the CPU count up to 8)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads in every variant (default: torch's own, one per core)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these variants (names as printed)")
    parser.add_argument("--baseline", default=None,
                        help="a folder holding another jupyter_dl package: its job runs as one more variant")
    parser.add_argument("--profile", action="store_true", help="profile one jupyter_dl job and print the breakdown")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, Path(args.data), args)
    if args.profile_child:
        return profile_child(Path(args.data), args)
    from bench_finetune import make_images

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUPYTER_DL_RUNS"] = str(Path(tmp) / "runs")
        data = make_images(Path(tmp) / "data", args.train, args.valid)
        if args.profile:
            profile(data, args)
        else:
            compare(data, args)


if __name__ == "__main__":
    main()

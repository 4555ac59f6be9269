"""%finetune's core against a plain PyTorch loop, fastai and the compute limit, side by side.

Same model (resnet18 from random weights), same data (synthetic JPEGs in
train/ and valid/ class folders), same batch size, image size and schedule
(1 frozen + 1 unfrozen epoch). Each variant is the whole job, data set-up
included; jupyter_dl runs with a cold cache (a fresh cache folder per round),
so its decode-once cost is counted. Rounds alternate the variants so machine
noise hits all of them alike; medians and ratios are printed.

What keeping the run folder's files costs (the best weights in ``model.jdl`` and the state to
resume from in ``resume.pt``, saved at epoch ends): the same job with and without them
(``checkpoints=False``), side by side in each round; the paired ratio, and the time the saving
itself took on the training thread (the CPU copies) and on the writer thread.

    python benchmarks/bench_finetune.py [--rounds 6] [--train 800] [--valid 200] [--size 64] [--bs 32]
    python benchmarks/bench_finetune.py --only "jupyter_dl %finetune" "  ... without run-folder saves"
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

N_CLASSES = 10


def make_images(root: Path, n_train: int, n_valid: int, side: int = 96, seed: int = 0) -> Path:
    """Coloured shapes whose class sets colour and position: learnable, JPEG-encoded like photos."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("valid", n_valid)):
        for i in range(count):
            label = i % N_CLASSES
            folder = root / split / f"c{label}"
            folder.mkdir(parents=True, exist_ok=True)
            noise = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
            image = Image.fromarray(noise // 3)
            draw = ImageDraw.Draw(image)
            x, y = (label % 5) * side // 6 + 4, (label // 5) * side // 2 + 8
            draw.ellipse([x, y, x + side // 3, y + side // 3], fill=tuple(int(v) for v in rng.integers(60, 255, 3)))
            image.save(folder / f"{i}.jpg", quality=90)
    return root


def timed(fn) -> tuple[float, float]:
    """(seconds for the whole job, seconds spent in training steps) for one run."""
    start = time.perf_counter()
    train_seconds = fn()
    return time.perf_counter() - start, train_seconds


# --------------------------------------------------------------- the variants
SAVES: list[dict] = []  # per run with checkpoints: seconds on the training thread and the writer's, bytes


def run_jupyter_dl(data: Path, args, train_bn: bool = False, checkpoints: bool = True) -> float:
    import jupyter_dl
    from jupyter_dl.finetuning import session

    os.environ["JUPYTER_DL_CACHE"] = tempfile.mkdtemp(prefix="jdl-bench-cache-")  # cold cache: decode counted
    learn = jupyter_dl.finetuning.build_learner(data, "torchvision:resnet18", pretrained=False, size=args.size,
                                                bs=args.bs, workers=args.workers, augment="none")
    made = []

    class CountedRunFiles(session.RunFiles):  # the same writer, remembered so its own timings can be read
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    original, session.RunFiles = session.RunFiles, CountedRunFiles
    try:
        learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, train_bn=train_bn, checkpoints=checkpoints)
    finally:
        session.RunFiles = original
    for files in made:
        written = sum(p.stat().st_size for p in files.model_path.parent.iterdir() if p.name != "log.jsonl")
        SAVES.append({"training_thread": files.seconds, "writer": files.writer.seconds, "bytes": written,
                      "epochs": len(learn.history)})
    return sum(row["seconds"] for row in learn.history)


def run_jupyter_dl_default(data: Path, args) -> float:
    """The default recipe also trains BatchNorm in the frozen phase (as fastai): more work per frozen step."""
    return run_jupyter_dl(data, args, train_bn=True)


def run_jupyter_dl_no_saves(data: Path, args) -> float:
    """The same job without the run folder's model.jdl and resume.pt (``checkpoints=False``)."""
    return run_jupyter_dl(data, args, checkpoints=False)


def _resnet18() -> torch.nn.Module:
    import torchvision

    model = torchvision.models.resnet18(num_classes=N_CLASSES)
    return model


def _one_cycle_epoch(model, loader, params, lr, train=True):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=len(loader))
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for x, y in loader:
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


def _validate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def run_plain_loop(data: Path, args) -> float:
    """What a person writes by hand: ImageFolder + transforms + DataLoader + AdamW + OneCycleLR."""
    from torchvision import datasets, transforms

    tfm = transforms.Compose([transforms.Resize(args.size), transforms.CenterCrop(args.size), transforms.ToTensor(),
                              transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    train = torch.utils.data.DataLoader(datasets.ImageFolder(data / "train", tfm), batch_size=args.bs, shuffle=True,
                                        drop_last=True, num_workers=args.workers, persistent_workers=args.workers > 0)
    valid = torch.utils.data.DataLoader(datasets.ImageFolder(data / "valid", tfm), batch_size=args.bs,
                                        num_workers=args.workers, persistent_workers=args.workers > 0)
    model = _resnet18()
    start = time.perf_counter()
    head = list(model.fc.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head:
        p.requires_grad_(True)
    _one_cycle_epoch(model, train, head, 1e-2)
    _validate(model, valid)
    for p in model.parameters():
        p.requires_grad_(True)
    _one_cycle_epoch(model, train, model.parameters(), 5e-3)
    _validate(model, valid)
    return time.perf_counter() - start


def run_fastai(data: Path, args) -> float:
    from fastai.vision.all import ImageDataLoaders, Resize, accuracy, resnet18, vision_learner

    dls = ImageDataLoaders.from_folder(data, train="train", valid="valid", item_tfms=Resize(args.size), bs=args.bs,
                                       num_workers=args.workers)
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=accuracy)
    start = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        learn.fine_tune(1, freeze_epochs=1)
    return time.perf_counter() - start


def run_compute_limit(data: Path, args) -> float:
    """The same optimizer steps and validation passes on one in-memory tensor batch: no data loading at all."""
    n_train_batches = args.train // args.bs
    n_valid_batches = -(-args.valid // args.bs)
    x = torch.randn(args.bs, 3, args.size, args.size)
    y = torch.randint(0, N_CLASSES, (args.bs,))
    batches = [(x, y)] * n_train_batches
    model = _resnet18()
    start = time.perf_counter()
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.fc.parameters():
        p.requires_grad_(True)
    _one_cycle_epoch(model, batches, model.fc.parameters(), 1e-2)
    _validate(model, [(x, y)] * n_valid_batches)
    for p in model.parameters():
        p.requires_grad_(True)
    _one_cycle_epoch(model, batches, model.parameters(), 5e-3)
    _validate(model, [(x, y)] * n_valid_batches)
    return time.perf_counter() - start


VARIANTS = {
    # Same steps as the plain loop and the compute limit: head only while frozen.
    "jupyter_dl %finetune": run_jupyter_dl,
    "  ... without run-folder saves": run_jupyter_dl_no_saves,
    "  ... with train_bn": run_jupyter_dl_default,
    "plain PyTorch loop": run_plain_loop,
    "fastai fine_tune": run_fastai,
    "compute limit": run_compute_limit,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--valid", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="run only these variants (names as printed)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = {k: v for k, v in VARIANTS.items() if not args.only or k in args.only}
    import fastai.vision.all  # noqa: F401  (import once, outside the timings)

    import jupyter_dl.data
    import jupyter_dl.finetuning  # noqa: F401,E401

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUPYTER_DL_RUNS"] = str(Path(tmp) / "runs")
        data = make_images(Path(tmp) / "data", args.train, args.valid)
        for fn in variants.values():  # warm-up: first-call costs (lazy imports, allocator) are not the job
            fn(data, argparse.Namespace(**{**vars(args), "train": 64, "valid": 32}) if fn is run_compute_limit
               else args)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for r in range(args.rounds):
            for name, fn in variants.items():
                results[name].append(timed(lambda fn=fn: fn(data, args)))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    images = 2 * (args.train // args.bs) * args.bs
    print(f"\n{args.train} train + {args.valid} valid JPEGs, {args.size}px, bs {args.bs}, resnet18 (random init), "
          f"1 frozen + 1 unfrozen epoch, {args.threads} threads, {args.workers} workers, median of {args.rounds}")
    medians = {name: statistics.median(w for w, _ in runs) for name, runs in results.items()}
    train_medians = {name: statistics.median(t for _, t in runs) for name, runs in results.items()}
    ours = medians.get("jupyter_dl %finetune")
    print("'jupyter_dl %finetune' does the references' steps (head only while frozen, --no-train-bn); "
          "'with train_bn' is the default recipe, which like fastai also trains BatchNorm while frozen.")
    print(f"{'variant':24s} {'whole job':>10s} {'train imgs/s':>13s} {'ours / this':>12s}")
    for name in variants:
        ratio = f"{ours / medians[name]:.2f}x" if ours else "-"
        print(f"{name:30s} {medians[name]:9.2f}s {images / train_medians[name]:13.0f} {ratio:>12s}")
    report_saving_cost(results)


def report_saving_cost(results: dict[str, list[tuple[float, float]]]) -> None:
    """The run folder's saves: whole job with / without them (paired per round), and their own time."""
    with_saves, without = results.get("jupyter_dl %finetune"), results.get("  ... without run-folder saves")
    if not with_saves or not without:
        return
    pairs = [w / wo for (w, _), (wo, _) in zip(with_saves, without)]
    job = statistics.median(w for w, _ in with_saves)
    timed = SAVES[-len(with_saves):]  # the timed rounds (the warm-up ran first)
    on_thread = statistics.median(s["training_thread"] for s in timed)
    writer = statistics.median(s["writer"] for s in timed)
    size = statistics.median(s["bytes"] for s in timed) / 2**20
    print(f"\nrun-folder saves (model.jdl + resume.pt, {size:.0f} MiB left in the folder): whole job with / "
          f"without, paired per round: median {statistics.median(pairs):.3f} (rounds: "
          f"{', '.join(f'{r:.3f}' for r in pairs)}; goal <= 1.02)")
    print(f"their own time: {on_thread * 1000:.0f} ms on the training thread (CPU copies at epoch ends) = "
          f"{on_thread / job:.2%} of the job; {writer * 1000:.0f} ms on the writer thread (serialise, write, "
          f"rename) = {writer / job:.2%}, overlapping training")


if __name__ == "__main__":
    main()

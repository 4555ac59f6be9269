"""How fast %browse's data layer is on a 10,000-image folder: catalog, thumbnail pages, health check.

Generates (once, reused by later runs) a folder of --n small JPEGs of varied sizes in
--classes class folders, then measures, each with an empty thumbnail/health cache
(a fresh JUPYTER_DL_CACHE per round) and the median over --rounds:

- build_catalog (list, label and split every file, as %finetune does);
- first page: --page thumbnails, cold (nothing cached);  time to first page = catalog + first page;
- page change: the next --page thumbnails, cold;
- page change after prefetch: page 3 was prefetched in the background while page 2 was looked at;
- page revisit: page 1 again (memory cache); and page 1 in a new session (disk cache only);
- health check cold (read every file) and warm (cached facts, files unchanged); the data has
  --planted exact and near copies, and what the check found is printed next to what was planted.

"Cold" means jupyter_dl's caches are empty; the files themselves are in the OS page cache
(they were just written), as they are for someone browsing a data set they just unpacked.

    python benchmarks/bench_browse.py [--n 10000] [--classes 10] [--planted 50] [--page 48] [--rounds 3]
                                      [--sides 48 400] [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

GOAL_FIRST_PAGE_S = 1.0
GOAL_PAGE_CHANGE_S = 0.2


def generate(root: Path, n: int, classes: int, planted: int, sides: tuple[int, int] = (48, 400),
             seed: int = 0) -> Path:
    """n JPEGs, sides[0]..sides[1] px a side: smooth random colour patterns plus noise.

    ``planted`` of them are exact copies of another image and ``planted`` are near copies
    (re-encoded at JPEG quality 60 and 5 % smaller), so the health check has something to find.
    """
    import shutil

    import numpy as np
    from PIL import Image

    marker = root / f".complete-{n}-{classes}-{planted}-{sides[0]}-{sides[1]}"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)  # an older or half-written set
    originals = n - 2 * planted

    def path_of(i: int, prefix: str = "img") -> Path:
        return root / f"class_{i % classes:02d}" / f"{prefix}_{i:05d}.jpg"

    def write(i: int) -> None:
        rng = np.random.default_rng(seed * 1_000_003 + i)
        width, height = (int(v) for v in rng.integers(sides[0], sides[1] + 1, 2))
        cells = rng.integers(0, 256, (int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3)).astype(np.uint8)
        image = Image.fromarray(cells).resize((width, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.int16) + rng.integers(-10, 11, (height, width, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path_of(i), quality=85)

    def plant(j: int) -> None:
        source = path_of(j * 7 % originals)
        shutil.copyfile(source, path_of(originals + j, "copy"))
        with Image.open(path_of(j * 7 % originals + 1)) as image:
            smaller = image.resize((round(image.width * 0.95), round(image.height * 0.95)), Image.Resampling.BILINEAR)
            smaller.save(path_of(originals + planted + j, "near"), quality=60)

    for c in range(classes):
        (root / f"class_{c:02d}").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(write, range(originals)))
        list(pool.map(plant, range(planted)))
    marker.write_text("done")
    return root


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def one_round(root: Path, page: int, workers: int | None) -> dict[str, object]:
    """One round with empty caches (a fresh JUPYTER_DL_CACHE, deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="jdl-bench-browse-cache-") as cache:
        os.environ["JUPYTER_DL_CACHE"] = cache
        return measure(root, page, workers)


def measure(root: Path, page: int, workers: int | None) -> dict[str, object]:
    from jupyter_dl.data import thumbnails as thumbs
    from jupyter_dl.data.catalog import build_catalog
    from jupyter_dl.data.health import check_health

    thumbs.clear_memory()
    times: dict[str, float] = {}
    times["build_catalog"], catalog = timed(build_catalog, root)
    items = catalog.items
    pages = [items[i * page:(i + 1) * page] for i in range(4)]
    times["first page (cold)"], _ = timed(thumbs.thumbnails, catalog, pages[0], workers=workers)
    times["time to first page"] = times["build_catalog"] + times["first page (cold)"]
    times["page change (cold)"], _ = timed(thumbs.thumbnails, catalog, pages[1], workers=workers)
    times["prefetch of a page (background)"], _ = timed(lambda: thumbs.prefetch(catalog, pages[2]).result())
    times["page change after prefetch"], _ = timed(thumbs.thumbnails, catalog, pages[2], workers=workers)
    times["page revisit (memory)"], _ = timed(thumbs.thumbnails, catalog, pages[0], workers=workers)
    thumbs.clear_memory()
    times["page revisit, new session (disk)"], _ = timed(thumbs.thumbnails, catalog, pages[0], workers=workers)
    times["health check (cold)"], report = timed(check_health, catalog, workers=workers)
    times["health check (warm)"], again = timed(check_health, catalog, workers=workers)
    assert again == report
    times["_report"] = report
    times["_catalog"] = catalog
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--page", type=int, default=48)
    parser.add_argument("--sides", type=int, nargs=2, default=(48, 400), metavar=("MIN", "MAX"),
                        help="image width and height range in px (photos: e.g. 800 2000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--planted", type=int, default=50, help="exact and near copies planted (each)")
    parser.add_argument("--workers", type=int, default=None, help="thumbnail/health threads (default: the library's)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "jdl-bench-browse-data")
    args = parser.parse_args()

    folder = args.data / f"n{args.n}-{args.sides[0]}-{args.sides[1]}px"
    generating, root = timed(generate, folder, args.n, args.classes, args.planted, tuple(args.sides))
    sizes = sorted(p.stat().st_size for p in list(root.rglob("*.jpg"))[:2000])
    print(f"data: {root} ({args.n} JPEGs of {args.sides[0]}-{args.sides[1]} px, {args.classes} classes,"
          f" median file {sizes[len(sizes) // 2] / 1024:.1f} KiB; generated in {generating:.1f} s); "
          f"cpus: {os.cpu_count()}")
    rounds = [one_round(root, args.page, args.workers) for _ in range(args.rounds)]
    goals = {"time to first page": GOAL_FIRST_PAGE_S, "page change (cold)": GOAL_PAGE_CHANGE_S,
             "page change after prefetch": GOAL_PAGE_CHANGE_S}
    print(f"\n{'step':36s} {'median':>9s} {'min':>9s} {'max':>9s}   goal")
    for name in rounds[0]:
        if name.startswith("_"):
            continue
        values = [r[name] for r in rounds]
        goal = goals.get(name)
        verdict = "" if goal is None else f"< {goal:.2f} s {'met' if statistics.median(values) < goal else 'MISSED'}"
        print(f"{name:36s} {statistics.median(values) * 1000:7.1f}ms {min(values) * 1000:7.1f}ms "
              f"{max(values) * 1000:7.1f}ms   {verdict}")
    print(f"\n({args.rounds} rounds, {len(rounds[0]['_catalog'].items)} items in the catalog, "
          f"page = {args.page} thumbnails of 128 px)")
    print(planted_found(rounds[0]["_catalog"], rounds[0]["_report"], args.n, args.planted))


def planted_found(catalog, report, n: int, planted: int) -> str:
    """How many planted copies the health check found, and how many groups it found besides."""
    originals = n - 2 * planted
    key = {item.path.name: item.key for item in catalog.items}
    exact = {frozenset((key[f"img_{j * 7 % originals:05d}.jpg"], key[f"copy_{originals + j:05d}.jpg"]))
             for j in range(planted)}
    near = {frozenset((key[f"img_{j * 7 % originals + 1:05d}.jpg"], key[f"near_{originals + planted + j:05d}.jpg"]))
            for j in range(planted)}
    exact_groups = [frozenset(g) for g in report.exact_duplicates]
    near_groups = [frozenset(g) for g in report.near_duplicates]
    exact_found = sum(any(pair <= g for g in exact_groups) for pair in exact)
    near_found = sum(any(pair <= g for g in near_groups) for pair in near)
    other_exact = sum(not any(pair <= g for pair in exact) for g in exact_groups)
    other_near = sum(not any(pair <= g for pair in near) for g in near_groups)
    return (f"health check: found {exact_found}/{planted} planted exact copies ({other_exact} other groups), "
            f"{near_found}/{planted} planted near copies ({other_near} other groups); all counts {report.counts()}")


if __name__ == "__main__":
    main()

"""How long `import jupyter_dl` and `%load_ext jupyter_dl` take, next to `import torch`.

Each statement runs in a fresh interpreter (so nothing is cached in-process);
the interpreter's own start-up (`pass`) is subtracted. Prints medians and ratios.

    python benchmarks/bench_import.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python start-up (subtracted)": "pass",
    "import jupyter_dl": "import jupyter_dl",
    "%load_ext jupyter_dl": ("from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
                             "import time; t = time.perf_counter(); ip.run_line_magic('load_ext', 'jupyter_dl'); "
                             "print(time.perf_counter() - t)"),
    "import torch": "import torch",
    "from fastai.vision.all import *": "from fastai.vision.all import *",
}


def run_once(statement: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    # %load_ext prints its own in-process time (IPython's start-up is not ours to count).
    return float(out.stdout.strip().splitlines()[-1]) if "perf_counter" in statement else elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    medians = {name: statistics.median(run_once(code) for _ in range(args.repeat)) for name, code in STATEMENTS.items()}
    base = medians.pop("python start-up (subtracted)")
    net = {name: (t if name.startswith("%") else t - base) for name, t in medians.items()}
    torch_time = net["import torch"]
    print(f"median of {args.repeat} fresh interpreters; python start-up {base * 1000:.0f} ms subtracted")
    for name, t in net.items():
        print(f"{name:34s} {t * 1000:8.1f} ms   {t / torch_time:6.3f}x import torch")


if __name__ == "__main__":
    main()

"""Execute a notebook headless with a real kernel; write it and an HTML copy.

    python examples/run_notebook.py examples/quickstart.ipynb --out out

Used by ``make demo`` (which then prints the final validation metrics) and by
the tests that execute the example notebooks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def execute(notebook: Path, out_dir: Path, timeout: int = 1200) -> Path:
    """Run every cell of ``notebook`` in a fresh kernel started in ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    # Run logs of the demo go next to its outputs, not into the user's ./runs.
    os.environ.setdefault("JUPYTER_DL_RUNS", str((out_dir / "runs").resolve()))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(out_dir)}})
    client.execute()
    executed = out_dir / notebook.name
    nbformat.write(nb, executed)
    body, _ = HTMLExporter().from_notebook_node(nb)
    executed.with_suffix(".html").write_text(body, encoding="utf-8")
    return executed


def latest_run_metrics(runs_dir: Path) -> dict | None:
    """The last epoch record of the newest run log under ``runs_dir``."""
    logs = sorted(runs_dir.glob("*/log.jsonl"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return None
    epochs = [json.loads(line) for line in logs[-1].read_text().splitlines() if '"epoch_end"' in line]
    return epochs[-1] if epochs else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    executed = execute(args.notebook, args.out)
    print(f"Executed notebook: {executed}")
    print(f"HTML copy:         {executed.with_suffix('.html')}")
    metrics = latest_run_metrics(Path(os.environ["JUPYTER_DL_RUNS"]))
    if metrics:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                          if isinstance(v, float) and k not in ("time", "seconds", "lr", "train_loss"))
        print(f"Final validation metrics (epoch {metrics.get('epoch')}): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

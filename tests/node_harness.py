"""Run a front-end module's JavaScript under Node.js against a fake page, for tests of widget code."""
from __future__ import annotations

import json
import shutil
import subprocess


def run_harness(tmp_path_factory, harness: str, module_path, what: str) -> dict:
    """Run ``harness`` (a script with a %(module)s placeholder for the module's URL); return its last JSON line.

    Skips when Node.js is missing: ``what`` names the front end, which the end-to-end tests still cover.
    """
    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.skip(f"Node.js is not installed: {what} is checked in the end-to-end tests only")
    script = tmp_path_factory.mktemp("js") / "harness.mjs"
    script.write_text(harness % {"module": json.dumps(module_path.as_uri())})
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])

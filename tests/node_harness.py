"""Run a front-end module's JavaScript under Node.js against a fake page, for tests of widget code."""
from __future__ import annotations

import json
import shutil
import subprocess

# A stand-in for an anywidget model that harnesses get as %(fake_model)s: traits in a dict, change
# handlers, the messages sent (``model.sent``) and how often the page saved (``model.saves``).
FAKE_MODEL = """
function makeModel(traits) {
  const handlers = {}; const sent = []; let saves = 0;
  return {
    sent, get saves() { return saves; },
    get: (k) => traits[k],
    set: (k, v) => { traits[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
    on: (name, fn) => { (handlers[name] = handlers[name] || []).push(fn); },
    off: (name, fn) => { handlers[name] = (handlers[name] || []).filter((f) => f !== fn); },
    send: (msg) => sent.push(msg),
    save_changes: () => { saves += 1; },
  };
}
"""


def run_harness(tmp_path_factory, harness: str, module_path, what: str) -> dict:
    """Run ``harness`` (a script with a %(module)s placeholder for the module's URL, and %(fake_model)s for
    :data:`FAKE_MODEL`); return its last JSON line.

    Skips when Node.js is missing: ``what`` names the front end, which the end-to-end tests still cover.
    """
    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.skip(f"Node.js is not installed: {what} is checked in the end-to-end tests only")
    script = tmp_path_factory.mktemp("js") / "harness.mjs"
    script.write_text(harness % {"module": json.dumps(module_path.as_uri()), "fake_model": FAKE_MODEL})
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])

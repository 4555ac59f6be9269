"""The installed package ships the built JupyterLab extension.

`pip install` builds js/ into jupyter_dl/labextension (hatch-jupyter-builder) and installs it
under share/jupyter/labextensions/jupyter_dl; these tests fail when that did not happen, e.g. a
build step that was skipped or produced nothing, instead of a status bar that silently stays empty.
"""
from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# JupyterLab knows the extension by its npm name, which is also its folder under labextensions/.
NAME = json.loads((REPO / "js" / "package.json").read_text())["name"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_jupyterlab_lists_the_extension_as_enabled_and_ok():
    done = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                          capture_output=True, text=True, timeout=120)
    listing = ANSI.sub("", done.stdout + done.stderr)
    lines = [line.strip() for line in listing.splitlines() if line.strip().startswith(f"{NAME} v")]
    assert lines, f"JupyterLab does not list the {NAME} extension:\n{listing}"
    assert "enabled" in lines[0].split() and "OK" in lines[0].split(), lines[0]


def test_the_distribution_installed_the_built_extension_and_install_json():
    prefix = f"share/jupyter/labextensions/{NAME}/"
    shipped = sorted(str(f).split(prefix, 1)[1] for f in importlib.metadata.distribution("jupyter_dl").files
                     if prefix in str(f).replace("\\", "/"))
    assert "package.json" in shipped, f"no built extension in the installed jupyter_dl: {shipped}"
    assert "install.json" in shipped  # JupyterLab tells people to uninstall it with pip, not jupyter
    assert "static/style.js" in shipped
    assert any(re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", f) for f in shipped), shipped

"""The wheel `make dist` built installs into a fresh venv with no node on PATH, and works there.

The wheel is installed with ``--no-deps`` into a new venv (pip and the wheel only: nothing is
built, no node, no network); its dependencies come from this interpreter's site-packages through a
``.pth`` file, so torch is not installed a second time. That venv's own site-packages comes first,
so ``jupyter_dl`` and its Jupyter data and config files are the wheel's. The Colab-stack environment
(``.ci/colab-env``) checks the other half: that pip resolves the wheel's dependencies against Colab.

Skipped when ``dist/`` holds no wheel (run ``make dist``); with env ``CI=true`` that is a failure.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import jupyter_dl

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NAME = json.loads((REPO / "js" / "package.json").read_text())["name"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def built_wheel() -> Path:
    wheels = sorted((REPO / "dist").glob(f"jupyter_dl-{jupyter_dl.__version__}-py3-none-any.whl"))
    if not wheels:
        reason = f"no wheel of jupyter_dl {jupyter_dl.__version__} in dist/: run `make dist` first"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: .ci/run builds it before this test)", pytrace=False)
        pytest.skip(reason)
    return wheels[-1]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return built_wheel()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed (no deps, no node on PATH); returns (python, env, cwd)."""
    root = tmp_path_factory.mktemp("wheel-venv")
    target = root / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    empty_home = root / "home"
    empty_home.mkdir()
    # Only the venv's bin on PATH (no node, no jupyter of this checkout); private Jupyter and IPython
    # folders, so nothing a developer installed by hand (`jupyter labextension develop`) shows up.
    env = {"PATH": str(target / "bin"), "HOME": str(empty_home), "LANG": "C.UTF-8",
           "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"), "JUPYTER_DATA_DIR": str(root / "jupyter-data"),
           "IPYTHONDIR": str(root / "ipython"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert done.returncode == 0, f"pip install of {wheel.name} failed:\n{done.stdout}\n{done.stderr}"
    # After the install, so pip does not see this checkout's editable jupyter_dl as already installed.
    # A path line of a .pth is put on sys.path without reading the .pth files in it (the editable hook).
    site = Path(sysconfig.get_paths(vars={"base": str(target), "platbase": str(target)})["purelib"])
    (site / "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Commands run in `root`: `python -c` and `-m` put the current folder first on sys.path, and in the
    # checkout that is where its own jupyter_dl/ is.
    return python, env, root


def run(installed, *args: str) -> str:
    python, env, cwd = installed
    done = subprocess.run([str(python), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    output = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"{' '.join(args)} exited with {done.returncode}:\n{output}"
    return output


def test_the_wheel_ships_the_production_extension_and_the_server_config(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    data = f"jupyter_dl-{jupyter_dl.__version__}.data/data/"
    ext = data + f"share/jupyter/labextensions/{NAME}/"
    assert ext + "package.json" in names and ext + "static/style.js" in names, names
    assert ext + "install.json" in names
    assert data + "etc/jupyter/jupyter_server_config.d/jupyter_dl.json" in names
    # A development build ships source maps (and a non-minified bundle); `make dist` cleans it away first.
    assert not [n for n in names if n.startswith(ext) and n.endswith(".map")], "a development build was shipped"
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if r.lower().startswith("jupyterlab") and "extra ==" not in r], requires


def test_it_installs_and_imports_without_node(installed):
    python, env, _ = installed
    assert not any((Path(d) / "node").exists() for d in env["PATH"].split(os.pathsep))
    where = run(installed, "-c", "import jupyter_dl; print(jupyter_dl.__file__)").strip()
    assert Path(where).is_relative_to(python.parent.parent), f"jupyter_dl came from {where}, not the new venv"


def test_jupyterlab_lists_the_prebuilt_extension_enabled_and_ok(installed):
    listing = run(installed, "-m", "jupyterlab.labextensions", "list")
    lines = [line.strip() for line in listing.splitlines() if line.strip().startswith(f"{NAME} v")]
    assert lines, f"JupyterLab does not list the {NAME} extension:\n{listing}"
    assert "enabled" in lines[0].split() and "OK" in lines[0].split(), lines[0]


def test_jupyter_server_lists_the_server_extension_enabled(installed):
    listing = run(installed, "-m", "jupyter_server.extension.serverextension", "list")
    assert re.search(r"^\s*jupyter_dl enabled\s*$", listing, re.M), listing
    assert re.search(r"jupyter_dl\s+\S+\s+OK", listing), listing


def test_load_ext_registers_the_magics_in_ipython(installed):
    code = ("%load_ext jupyter_dl\n"
            "print('magics:', sorted(m for m in ('finetune', 'lr_find', 'browse', 'gpu', 'runs')"
            " if m in get_ipython().magics_manager.magics['line']))")
    output = run(installed, "-m", "IPython", "--quick", "--no-banner", "-c", code)
    assert "magics: ['browse', 'finetune', 'gpu', 'lr_find', 'runs']" in output, output

"""Classic Notebook 6 in headless Chromium: the page Colab's front end is built like.

Fixtures: ``classic_server`` (``jupyter notebook`` 6.5 with the stand-in ``google.colab`` imported in
every kernel, see nb6.ClassicServer; started once for this folder) and ``classic_notebook(name,
cells)`` (writes the notebook through the REST API and opens it: -> nb6.ClassicNotebookPage). The
tab, its failure screenshot and the server's log come from ``new_tab`` in ../conftest.py.

Notebook 6 is installed in the Colab-stack environment (``.ci/colab-env``; ``make test-colab``);
elsewhere (the project's venv has Notebook 7) these tests skip, unless env ``JDL_CLASSIC_REQUIRED=1``
(set by ``.ci/colab-test``), which makes that a failure.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nb6 import ClassicNotebookPage, ClassicServer, notebook_major_version


@pytest.fixture(scope="package")
def classic_server(chromium_executable, tmp_path_factory):
    """A running classic Notebook 6 server with the stand-in google.colab, stopped at the end."""
    major = notebook_major_version()
    if major != 6:
        reason = (f"classic Notebook 6 is not installed here (notebook {major or 'missing'}); it runs in the "
                  "Colab-stack environment: make dist test-colab")
        if os.environ.get("JDL_CLASSIC_REQUIRED") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    threads = int(os.environ.get("JDL_BROWSER_THREADS", "1"))
    server = ClassicServer(tmp_path_factory.mktemp("classic-notebook"), threads=threads, colab=True)
    try:
        server.start()
        error = None
    except RuntimeError as exc:
        error = str(exc)
    if error:
        pytest.fail(error, pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def classic_page(new_tab, classic_server):
    """A new tab for the classic Notebook server."""
    return new_tab(classic_server)


@pytest.fixture
def classic_notebook(classic_page, classic_server):
    """``classic_notebook(name, cells)`` writes a notebook through the REST API and opens it in Notebook 6."""

    def _open(name: str, cells=("%load_ext jupyter_dl",)) -> ClassicNotebookPage:
        classic_server.create_notebook(name, cells)
        return ClassicNotebookPage.open(classic_page, classic_server, name)

    return _open

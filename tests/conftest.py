"""Shared test set-up: caches and run logs go to temporary folders, never ~/.cache."""
import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    # One cache for the whole session (the sample is written once), fresh run logs per test.
    cache = tmp_path_factory.getbasetemp() / "jdl-cache"
    monkeypatch.setenv("JUPYTER_DL_CACHE", str(cache))
    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path_factory.mktemp("runs")))
    yield


@pytest.fixture
def shell():
    """A real IPython shell with the extension loaded."""
    from IPython.testing.globalipapp import get_ipython, start_ipython

    ip = start_ipython() or get_ipython()  # the global test shell is created once per process
    ip.run_line_magic("load_ext", "jupyter_dl")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_dl")

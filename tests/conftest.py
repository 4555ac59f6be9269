"""Shared test set-up: caches and run logs go to temporary folders, never ~/.cache."""

import importlib.util

import pytest

# jp_fetch / jp_serverapp: a real jupyter_server for the monitor endpoint (tests/test_server.py).
# `make test` always installs pytest-jupyter; only the bare GPU machine (tests/test_gpu.py) lacks it.
pytest_plugins = ["pytest_jupyter.jupyter_server"] if importlib.util.find_spec("pytest_jupyter") else []


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


@pytest.fixture
def folder(tmp_path):
    """A small folder-per-class image data set: pets/cat/*.png, pets/dog/*.png."""
    from imagegen import make_image_folder

    return make_image_folder(tmp_path / "pets", classes={"cat": 8, "dog": 8}, size=16)


@pytest.fixture
def tiny(shell):
    """The name of a notebook variable holding a tiny CNN (trains in a second)."""
    from tinynet import TinyNet

    shell.user_ns["tiny"] = TinyNet()
    return "tiny"


@pytest.fixture
def views(monkeypatch):
    """Replace the live view of fastai/live() runs by recorders; the list holds every view made."""
    from jupyter_dl.integrations import common
    from jupyter_dl.train.events import EventRecorder

    class FakeView(EventRecorder):
        """Stands in for the dashboard: records events, the options it was made with and how it was closed."""

        def __init__(self, **options):
            super().__init__()
            self.options = options
            self.closed: list[tuple] = []

        def close(self, status, summary=None):
            self.closed.append((status, summary))

    made: list[FakeView] = []

    def make_view(**options):
        if options.get("quiet"):
            return None
        made.append(FakeView(**options))
        return made[-1]

    monkeypatch.setattr(common, "make_view", make_view)
    return made

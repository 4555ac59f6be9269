"""End-to-end tests: a real JupyterLab (and Notebook 7) on localhost, driven by Playwright in headless Chromium.

Run them alone with ``.venv/bin/python -m pytest tests/e2e`` (they also run in
``make test``). Debian's ``chromium`` is used through ``executable_path`` (Playwright's own
browser download does not work here); override with env ``JDL_CHROMIUM``.

Without Chromium or Playwright the tests skip with the reason; with env ``CI=true`` that is a
failure instead, because CI must run them. Screenshots go to ``out/screenshots/`` (git-ignored),
including one per failed test (``failed-<test>.png``), and the server log is printed on failure.

Fixtures: ``lab`` (the JupyterLab server, see jdl_lab.LabServer; torch/BLAS threads in its
kernels: env JDL_BROWSER_THREADS, default 1), ``browser_context`` (Chromium, fresh profile), both
started once for this package and stopped after its last test; ``page`` (a tab per test; all
kernels are shut down after each test) and ``open_notebook(name, cells)`` (-> jdl_lab.NotebookPage).
Classic Notebook 6 (``classic/``): ``classic_server`` and ``classic_notebook(name, cells)`` in
classic/conftest.py, on the ``new_tab(server)`` fixture here.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jdl_lab import CHROMIUM_ARGS, SCREENSHOTS, LabServer, NotebookPage


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the end-to-end tests must run; .ci/run installs chromium and playwright)",
                    pytrace=False)
    pytest.skip(f"{reason}; install Debian's chromium (apt-get install chromium) and playwright "
                "(pip install playwright), or set JDL_CHROMIUM to a Chromium binary")


def chromium_path() -> str | None:
    """$JDL_CHROMIUM when set (and only it), else Debian's /usr/bin/chromium or chromium on PATH."""
    override = os.environ.get("JDL_CHROMIUM")
    candidates = [override] if override else ["/usr/bin/chromium", shutil.which("chromium"),
                                               shutil.which("chromium-browser")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed")
    path = chromium_path()
    if path is None:
        _unavailable("chromium was not found (/usr/bin/chromium, PATH, $JDL_CHROMIUM)")
    return path


@pytest.fixture(scope="package")
def lab(chromium_executable, tmp_path_factory):
    """A running JupyterLab server (token auth, private root/settings/run logs/cache), stopped at the end."""
    threads = int(os.environ.get("JDL_BROWSER_THREADS", "1"))
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"), threads=threads)
    try:
        server.start()
        error = None
    except RuntimeError as exc:
        error = str(exc)
    if error:
        pytest.fail(error, pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser_context(chromium_executable, tmp_path_factory):
    """Headless Chromium with a fresh user-data dir, one context for the session."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium_executable,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000},
        )
    except PlaywrightError as exc:  # a broken chromium install: same policy as a missing one
        pw.stop()
        _unavailable(f"chromium at {chromium_executable} did not start: {exc}".splitlines()[0])
    context.set_default_timeout(30_000)
    yield context
    context.close()
    pw.stop()


# tests/conftest.py loads pytest-jupyter for the REST tests; its autouse fixtures would close the
# event loop that Playwright's sync API runs on (teardown error "Cannot close a running event
# loop"). The end-to-end tests start their own server, so here they are no-ops.
@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    yield


_CALL_REPORT = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_CALL_REPORT] = report  # read by the page fixture's teardown


@pytest.fixture
def new_tab(browser_context, request):
    """``new_tab(server)``: a new tab; on teardown: screenshot + console errors + the server's log if the test
    failed, then end all of the server's kernels. For JupyterLab (``page``) and classic Notebook (classic/)."""
    from playwright.sync_api import Error as PlaywrightError

    tabs = []

    def _new(server):
        pg = browser_context.new_page()
        console: list[str] = []

        def on_console(msg):
            if msg.type == "error":
                console.append(f"console error: {msg.text}")

        pg.on("console", on_console)
        pg.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
        tabs.append((pg, server, console))
        return pg

    yield _new
    report = request.node.stash.get(_CALL_REPORT, None)
    for pg, server, console in tabs:
        if report is not None and report.failed:
            try:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=str(SCREENSHOTS / f"failed-{request.node.name}.png"), full_page=True)
            except (PlaywrightError, OSError) as exc:
                console.append(f"(no failure screenshot: {exc})")
            sys.stderr.write("\n--- browser console errors ---\n" + "\n".join(console[-40:]) + "\n")
            sys.stderr.write(f"--- {server.log_path.name} (tail) ---\n" + server.log_tail() + "\n")
        pg.close()
        with contextlib.suppress(OSError, ValueError):  # the server is stopped at the end anyway, with its kernels
            server.shutdown_kernels()


@pytest.fixture
def page(new_tab, lab):
    """A new tab for the JupyterLab server (see new_tab)."""
    return new_tab(lab)


@pytest.fixture
def open_notebook(page, lab):
    """``open_notebook(name, cells)`` writes a notebook through the REST API and opens it in JupyterLab."""

    def _open(name: str, cells=("%load_ext jupyter_dl",), app: str = "lab") -> NotebookPage:
        lab.create_notebook(name, cells)
        return NotebookPage.open(page, lab, name, app=app)

    return _open

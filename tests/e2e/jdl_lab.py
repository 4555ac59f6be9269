"""A real JupyterLab server driven by Playwright: the pieces the end-to-end tests share.

``LabServer`` starts ``jupyter lab`` on a free localhost port with a random token in
a temporary root folder (its own settings, workspaces, run logs and data cache) and
talks to its REST API. ``NotebookPage`` wraps a Playwright page showing one notebook
in JupyterLab: open it, wait for the kernel, run cells (prefilled, by index, or typed
into a new cell), read outputs, save, reload, take screenshots.

Everything waits on a condition with a deadline (Playwright's auto-waiting or
``wait_for_function``); nothing sleeps a fixed time and nothing asserts on durations.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "out" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# User settings written into the server's private JUPYTERLAB_SETTINGS_DIR.
LAB_SETTINGS = {
    # Every cell stays in the DOM (no virtual scrolling): tests address cells by index.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # Only the tests save (Ctrl+S); no autosave racing a reload.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # No "fetch Jupyter news?" toast over the notebook (there is no network anyway).
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll ``predicate`` until it returns something truthy (returned), or fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jupyter_command() -> list[str]:
    """``jupyter`` next to the running Python (the project's .venv), else on PATH."""
    here = Path(sys.executable).parent / "jupyter"
    return [str(here)] if here.exists() else ["jupyter"]


def notebook_json(cells: Sequence[str]) -> dict[str, Any]:
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": src,
             "outputs": [], "execution_count": None}
            for i, src in enumerate(cells)
        ],
    }


class LabServer:
    """``jupyter lab`` in a subprocess, isolated in ``root`` (a temporary folder)."""

    def __init__(self, root: Path, *, threads: int = 1, startup_timeout: float = 90.0) -> None:
        self.root = Path(root)
        self.notebooks = self.root / "notebooks"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.log_path = self.root / "jupyter-lab.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.extra_env: dict[str, str] = {}   # more environment for the server and its kernels

    # -- lifecycle ---------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        private = {
            "JUPYTER_DL_RUNS": self.root / "runs",
            "JUPYTER_DL_CACHE": self.root / "cache",
            "JUPYTER_CONFIG_DIR": self.root / "jupyter-config",
            "JUPYTER_RUNTIME_DIR": self.root / "jupyter-runtime",
            "JUPYTER_DATA_DIR": self.root / "jupyter-data",      # notebook-signing key etc.
            "JUPYTERLAB_SETTINGS_DIR": self.root / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.root / "lab-workspaces",
            "IPYTHONDIR": self.root / "ipython",
        }
        for key, path in private.items():
            path.mkdir(parents=True, exist_ok=True)
            env[key] = str(path)
        threads = str(self.threads)
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   TORCH_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
        env.pop("JUPYTER_DL_WIDGETS", None)  # the end-to-end tests are about the widget front end
        env.update(self.extra_env)
        return env

    def _write_settings(self) -> None:
        base = self.root / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = base / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def command(self) -> list[str]:
        """The server's command line (subclasses start another app: see classic/nb6.py)."""
        cmd = jupyter_command() + [
            "lab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
            # IdentityProvider.token: ServerApp.token's non-deprecated name (jupyter_server 2).
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.notebooks}",
            "--ServerApp.disable_check_xsrf=False", "--ServerApp.port_retries=0",
            "--LabApp.expose_app_in_browser=True",          # window.jupyterapp, for diagnostics
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")                      # containers and CI often run as root
        return cmd

    def start(self) -> LabServer:
        self.notebooks.mkdir(parents=True, exist_ok=True)
        env = self._env()
        self._write_settings()
        cmd = self.command()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open for the server's lifetime, closed by stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.notebooks, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise RuntimeError(f"jupyter lab exited with {code}:\n{self.log_tail()}")
            try:
                self.api("GET", "api/status", timeout=2)
                return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter lab did not answer /api/status in {self.startup_timeout:.0f} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.25)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # urllib errors are OSErrors; the kill below ends them
                self.shutdown_kernels()
            # The server's own process group (start_new_session): the server and its kernels.
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- REST API ------------------------------------------------------------------------------------
    def url(self, path: str = "", **query: str) -> str:
        query = {"token": self.token, **query}
        return self.base_url + path.lstrip("/") + "?" + urllib.parse.urlencode(query)

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path.lstrip("/"), data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def create_notebook(self, name: str, cells: Sequence[str] = ()) -> str:
        """Write ``name`` (a path under the server root) with the given code cells."""
        self.api("PUT", f"api/contents/{urllib.parse.quote(name)}",
                 {"type": "notebook", "format": "json", "content": notebook_json(cells)})
        return name

    def read_notebook(self, name: str) -> dict[str, Any]:
        return self.api("GET", f"api/contents/{urllib.parse.quote(name)}?content=1")["content"]

    def sessions(self) -> list[dict[str, Any]]:
        return self.api("GET", "api/sessions")

    def kernel_for(self, name: str) -> dict[str, Any] | None:
        for session in self.sessions():
            if session.get("path") == name and session.get("kernel"):
                return session["kernel"]
        return None

    def kernel_state(self, kernel_id: str) -> str:
        return self.api("GET", f"api/kernels/{kernel_id}")["execution_state"]

    def interrupt(self, kernel_id: str) -> None:
        self.api("POST", f"api/kernels/{kernel_id}/interrupt")

    def shutdown_kernels(self) -> None:
        """End every session and kernel (frees the CPU between tests)."""
        for session in self.sessions():
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"api/kernels/{kernel['id']}")


class NotebookPageBase:
    """What a notebook page does alike in JupyterLab, Notebook 7 and classic Notebook 6.

    The pages differ in their DOM only: a subclass gives the selectors (cells, prompt, editor,
    outputs), the page's kernel-idle check and its own ways to open, type into and save a notebook.
    """

    CELLS_JS = ""                    # JS expression: the open notebook's cells, in order
    CELL = ""                        # Playwright selector of a cell, within ``cells_root()``
    PROMPT = ""                      # the input prompt in a cell: "[ ]:", "[*]:", "[3]:" (In ... in Notebook 6)
    EDITOR = ""                      # the input editor in a cell (clicked before Shift+Enter)
    OUTPUT = ""                      # the output area of a cell
    RESULT = ""                      # the execute_result in a cell
    ERRORS = ""                      # stderr and traceback outputs in a cell
    PAGE_IDLE_JS = ""                # JS function: the page shows an idle kernel
    SERVER_IDLE: tuple[str, ...] = ("idle",)  # kernel states the REST API may report once idle

    def __init__(self, page: Any, server: LabServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    def cells_root(self) -> Any:
        """Where the cells are looked up (the whole page, or the visible notebook panel)."""
        return self.page

    def kernel_id(self) -> str:
        kernel = self.server.kernel_for(self.name)
        if not kernel:
            raise AssertionError(f"no kernel session for {self.name}: {self.server.sessions()}")
        return kernel["id"]

    def wait_kernel_idle(self, timeout: float = 90) -> None:
        """Idle both in the page (its kernel indicator) and on the server (REST)."""
        self.page.wait_for_function(self.PAGE_IDLE_JS, timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while True:
            kernel = self.server.kernel_for(self.name)
            if kernel and self.server.kernel_state(kernel["id"]) in self.SERVER_IDLE:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"kernel of {self.name} not idle after {timeout} s: {kernel}")
            time.sleep(0.2)

    # -- cells ---------------------------------------------------------------------------------------
    def cell(self, index: int):
        return self.cells_root().locator(self.CELL).nth(index)

    def cell_count(self) -> int:
        return self.cells_root().locator(self.CELL).count()

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(self.PROMPT).first.inner_text().strip()

    def is_busy(self, index: int) -> bool:
        return "*" in self.prompt(index)

    def run_cell(self, index: int, *, wait: bool = True, timeout: float = 120) -> None:
        """Click into cell ``index`` and press Shift+Enter, as a person does."""
        before = self.prompt(index)
        self.cell(index).locator(self.EDITOR).first.click()
        self.page.keyboard.press("Shift+Enter")
        self._wait_started(index, before)
        if wait:
            self.wait_cell_done(index, timeout)

    def _wait_started(self, index: int, before: str, timeout: float = 30) -> None:
        """The prompt changed from ``before`` ([*] queued/running, or a new number)."""
        self.page.wait_for_function(
            f"""([i, before, sel]) => {{
                const cell = {self.CELLS_JS}[i];
                const prompt = cell && cell.querySelector(sel);
                return !!prompt && prompt.innerText.trim() !== before;
            }}""", arg=[index, before, self.PROMPT], timeout=timeout * 1000)

    def wait_cell_done(self, index: int, timeout: float = 120) -> None:
        """Wait until cell ``index`` shows an execution count ([n]), i.e. it ran to the end."""
        self.page.wait_for_function(
            f"""([i, sel]) => {{
                const cell = {self.CELLS_JS}[i];
                const prompt = cell && cell.querySelector(sel);
                return !!prompt && /\\[\\s*\\d+\\s*\\]/.test(prompt.innerText);
            }}""", arg=[index, self.PROMPT], timeout=timeout * 1000)

    # -- outputs -------------------------------------------------------------------------------------
    def output(self, index: int):
        return self.cell(index).locator(self.OUTPUT).first

    def output_text(self, index: int) -> str:
        area = self.cell(index).locator(self.OUTPUT)
        return area.first.inner_text() if area.count() else ""

    def output_html(self, index: int) -> str:
        area = self.cell(index).locator(self.OUTPUT)
        return area.first.inner_html() if area.count() else ""

    def result_text(self, index: int) -> str:
        """The cell's execute_result as plain text (e.g. a tuple's repr)."""
        result = self.cell(index).locator(self.RESULT).first
        result.wait_for(state="attached", timeout=10_000)
        return result.inner_text().strip()

    def error_text(self, index: int) -> str:
        """Tracebacks and stderr shown under cell ``index`` ('' when none)."""
        loc = self.cell(index).locator(self.ERRORS)
        return "\n".join(loc.nth(i).inner_text() for i in range(loc.count()))

    def failure_text(self, index: int) -> str:
        """The error output of cell ``index`` when it reports an error (traceback, XxxError: ...), else ''.

        Warnings on stderr alone do not count."""
        text = self.error_text(index)
        return text if re.search(r"Traceback|\b\w*(Error|Exception|Interrupt)\b", text) else ""

    def plot_points(self, selector: str = ".jdl-dashboard .js-plotly-plot", trace: int = 0) -> int | None:
        """Length of ``data[trace].x`` of the first plotly graph matching ``selector`` (None: no graph)."""
        return self.page.evaluate(
            """([sel, t]) => {
                const el = document.querySelector(sel);
                if (!el || !el.data || !el.data[t] || !el.data[t].x) return null;
                return el.data[t].x.length;
            }""", [selector, trace])

    def wait_ready(self, timeout: float = 90) -> None:
        """The notebook is loaded and its kernel idle (each page says how it knows)."""
        raise NotImplementedError

    def reload(self, timeout: float = 90) -> None:
        self.page.reload(wait_until="domcontentloaded")
        self.wait_ready(timeout)

    # -- artifacts -----------------------------------------------------------------------------------
    def screenshot(self, name: str, locator: Any = None) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / (name if name.endswith(".png") else name + ".png")
        (locator or self.page).screenshot(path=str(path))
        return path


# JS run in the page. The visible notebook panel (the tests open one at a time).
_JS_PANEL = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)')"


class NotebookPage(NotebookPageBase):
    """One notebook open in JupyterLab (or Notebook 7) in a Playwright page."""

    CELLS_JS = (f"(() => {{ const p = {_JS_PANEL}; "
                "return p ? [...p.querySelectorAll('.jp-Notebook .jp-Cell')] : []; })()")
    CELL = ".jp-Notebook .jp-Cell"
    PROMPT = ".jp-InputPrompt"
    EDITOR = ".jp-InputArea-editor"
    OUTPUT = ".jp-OutputArea"
    RESULT = ".jp-OutputArea-executeResult .jp-OutputArea-output"
    ERRORS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    PAGE_IDLE_JS = f"""() => {{
        const p = {_JS_PANEL};
        const el = p && p.querySelector('.jp-Notebook-ExecutionIndicator[data-status]');
        return el && el.getAttribute('data-status') === 'idle';
    }}"""

    # -- opening -------------------------------------------------------------------------------------
    @classmethod
    def open(cls, page: Any, server: LabServer, name: str, *, workspace: str | None = None,
             timeout: float = 90, app: str = "lab") -> NotebookPage:
        """Open ``name`` in a fresh JupyterLab workspace (or Notebook 7: ``app="notebook"``); wait for an idle
        kernel."""
        quoted = urllib.parse.quote(name)
        if app == "notebook":
            page.goto(server.url(f"notebooks/{quoted}"), wait_until="domcontentloaded")
        else:
            workspace = workspace or "t" + secrets.token_hex(4)
            page.goto(server.url(f"lab/workspaces/{workspace}/tree/{quoted}"), wait_until="domcontentloaded")
        nb = cls(page, server, name)
        nb.wait_ready(timeout)
        if app == "lab":
            # More room for the notebook (and tidier screenshots): fold the file browser away.
            page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
        return nb

    def wait_ready(self, timeout: float = 90) -> None:
        """The notebook is rendered, its cells are in the DOM, and its kernel is idle."""
        self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
            state="visible", timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)

    @property
    def panel(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def cells_root(self) -> Any:
        return self.panel

    def kernel_status(self) -> str:
        """The kernel status as the page sees it (the notebook toolbar's execution indicator)."""
        return self.page.evaluate(
            f"""() => {{
                const p = {_JS_PANEL};
                const el = p && p.querySelector('.jp-Notebook-ExecutionIndicator[data-status]');
                return el ? el.getAttribute('data-status') : '';
            }}""")

    def run_code(self, code: str, *, wait: bool = True, timeout: float = 120) -> int:
        """Type ``code`` into a new cell at the end and run it (Shift+Enter). Returns its index.

        The empty cell JupyterLab adds after running the last cell is reused.
        """
        last = self.cell_count() - 1
        editor = self.cell(last).locator(self.EDITOR).first
        if self.cell(last).locator(".cm-content").first.inner_text().strip() or self.prompt(last) != "[ ]:":
            editor.click()
            self.page.keyboard.press("Escape")      # command mode
            self.page.keyboard.press("b")           # insert a cell below, selected
            self.page.wait_for_function(f"(n) => {self.CELLS_JS}.length > n", arg=last + 1, timeout=10_000)
            last += 1
        self.cell(last).locator(self.EDITOR).first.click()
        # insert_text: no per-key auto-indent or bracket closing from the editor.
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Shift+Enter")
        self._wait_started(last, "[ ]:")
        if wait:
            self.wait_cell_done(last, timeout)
        return last

    # -- saving --------------------------------------------------------------------------------------
    def save(self, timeout: float = 30) -> None:
        """Ctrl+S, then wait until the tab is no longer marked dirty."""
        self.panel.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("ControlOrMeta+s")
        self.page.wait_for_function(
            """() => {
                const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current');
                return tab && !tab.classList.contains('jp-mod-dirty');
            }""", timeout=timeout * 1000)


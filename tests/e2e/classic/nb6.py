"""Classic Notebook 6 (the page Colab's is built like) for the end-to-end tests.

``ClassicServer`` starts ``jupyter notebook`` 6.5 the way ``jdl_lab.LabServer`` starts JupyterLab
(private root, token, REST API), optionally with a stand-in ``google.colab`` module imported by every
kernel at start, so jupyter_dl takes the same paths as on Colab. ``ClassicNotebookPage`` wraps a
Playwright page showing one notebook there: open it, wait for the kernel, run cells, read outputs,
save, reload. Notebook 6's DOM is not JupyterLab's: cells are ``.cell``, outputs ``.output_area``,
prompts ``In [n]:``, and the page's own ``Jupyter.notebook`` object is there for what a person would
do with a menu.

Notebook 6 runs in the Colab-stack environment (``.ci/colab-env``: notebook 6.5.7 is Colab's); the
project's own venv has Notebook 7, where these tests skip.
"""
from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

from jdl_lab import LabServer, NotebookPageBase, jupyter_command

# The stand-in for Colab's google.colab: only what jupyter_dl calls there.
COLAB_STUB = {
    "google/__init__.py": '"""Stand-in for Colab\'s google namespace (tests/e2e/classic)."""\n',
    "google/colab/__init__.py": '"""Stand-in for Colab\'s google.colab: imported at kernel start, as Colab does."""\n'
                                "from . import output  # noqa: F401\n",
    "google/colab/output/__init__.py": (
        '"""Stand-in for google.colab.output."""\n'
        "calls = []\n\n\n"
        "def enable_custom_widget_manager():\n"
        '    """Colab turns on its third-party widget manager here; the classic page has one already."""\n'
        '    calls.append("enable_custom_widget_manager")\n'),
}


def notebook_major_version() -> int | None:
    """The installed ``notebook`` package's major version (None: not installed)."""
    from importlib import metadata

    try:
        return int(metadata.version("notebook").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


class ClassicServer(LabServer):
    """``jupyter notebook`` (classic Notebook 6) in a subprocess, isolated in ``root``.

    ``colab=True`` puts the stand-in ``google.colab`` on the kernels' path and imports it at their start.
    """

    def __init__(self, root: Path, *, threads: int = 1, startup_timeout: float = 90.0, colab: bool = True) -> None:
        super().__init__(root, threads=threads, startup_timeout=startup_timeout)
        self.log_path = self.root / "jupyter-notebook.log"
        self.colab = colab
        if colab:
            stub = self.root / "colab-stub"
            for rel, text in COLAB_STUB.items():
                (stub / rel).parent.mkdir(parents=True, exist_ok=True)
                (stub / rel).write_text(text)
            self.extra_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(stub), os.environ.get("PYTHONPATH")) if p)
            # Colab's kernel imports google.colab before the first cell; an IPython startup file does that here.
            startup = self.root / "ipython" / "profile_default" / "startup"
            startup.mkdir(parents=True, exist_ok=True)
            (startup / "00-colab-stand-in.py").write_text("import google.colab  # noqa: F401\n")

    def command(self) -> list[str]:
        cmd = jupyter_command() + [
            "notebook", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
            f"--NotebookApp.token={self.token}", f"--NotebookApp.notebook_dir={self.notebooks}",
            "--NotebookApp.port_retries=0", "--NotebookApp.disable_check_xsrf=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd


class ClassicNotebookPage(NotebookPageBase):
    """One notebook open in classic Notebook 6 in a Playwright page (the methods of jdl_lab.NotebookPage)."""

    CELLS_JS = "[...document.querySelectorAll('#notebook-container .cell')]"
    CELL = "#notebook-container .cell"
    PROMPT = ".input_prompt"                       # 'In [ ]:', 'In [*]:', 'In [3]:'
    EDITOR = ".CodeMirror"
    OUTPUT = ".output"
    RESULT = ".output_result"
    ERRORS = ".output_stderr, .output_error"
    PAGE_IDLE_JS = "() => !!document.querySelector('#kernel_indicator_icon.kernel_idle_icon')"
    # Notebook 6's server can miss a new kernel's first idle message and report "starting" until the
    # kernel next runs something, so "starting" counts as idle once the page has seen idle.
    SERVER_IDLE = ("idle", "starting")

    @classmethod
    def open(cls, page: Any, server: ClassicServer, name: str, *, timeout: float = 90) -> ClassicNotebookPage:
        """Open ``name`` at /notebooks/NAME; wait until its kernel is connected and idle."""
        page.goto(server.url(f"notebooks/{urllib.parse.quote(name)}"), wait_until="domcontentloaded")
        nb = cls(page, server, name)
        nb.wait_ready(timeout)
        return nb

    def wait_ready(self, timeout: float = 90) -> None:
        """The notebook is loaded, its cells are in the DOM, and its kernel is connected and idle."""
        self.page.wait_for_function(
            """() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded
                     && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()""",
            timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)

    def kernel_status(self) -> str:
        """'idle' or 'busy' as the page's kernel indicator shows it ('' before it shows either)."""
        return self.page.evaluate(
            """() => {
                const icon = document.querySelector('#kernel_indicator_icon');
                if (!icon) return '';
                if (icon.classList.contains('kernel_idle_icon')) return 'idle';
                if (icon.classList.contains('kernel_busy_icon')) return 'busy';
                return '';
            }""")

    def run_all(self) -> None:
        """Cell > Run All (the page's own command)."""
        self.page.evaluate("() => Jupyter.notebook.execute_all_cells()")

    def run_code(self, code: str, *, wait: bool = True, timeout: float = 120) -> int:
        """Put ``code`` into a new cell at the end and run it (Shift+Enter). Returns its index.

        An empty, never-run last cell is reused. The text goes in through the page's cell API
        (CodeMirror 5 would auto-indent typed text).
        """
        index = self.page.evaluate(
            """(code) => {
                const nb = Jupyter.notebook;
                let cell = nb.get_cell(nb.ncells() - 1);
                if (!cell || cell.cell_type !== 'code' || cell.get_text().trim() !== ''
                    || cell.input_prompt_number !== undefined) {
                    cell = nb.insert_cell_at_bottom('code');
                }
                cell.set_text(code);
                return nb.find_cell_index(cell);
            }""", code)
        self.run_cell(index, wait=wait, timeout=timeout)
        return index

    def interrupt_from_menu(self) -> None:
        """Kernel > Interrupt, as a person does on this page."""
        self.page.locator("#kernellink").click()
        self.page.locator("#int_kernel").click()

    def save(self, timeout: float = 30) -> None:
        """File > Save (the page's own save), then wait until the notebook is no longer dirty."""
        self.page.evaluate("() => Jupyter.notebook.save_checkpoint()")
        self.page.wait_for_function("() => !Jupyter.notebook.dirty", timeout=timeout * 1000)

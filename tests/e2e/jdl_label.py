"""%label in a real page: the pool the tests label, and how a person drives the keyboard grid.

Shared by the JupyterLab / Notebook 7 tests (test_lab_label.py) and the classic Notebook 6 ones
(classic/test_classic_label.py): the grid's DOM is the same everywhere (see the docstrings of
jupyter_dl/labelling/label_grid.py and widget.py). Files are checked from the test process, in the
server's root folder (the kernel's working directory).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from imagegen import class_color, make_image
from jdl_lab import wait_until

COLOURS = ("red", "green", "blue")
GRID = ".jdl-labeller .jdl-label-grid"
FIGURES = f"{GRID} figure.jdl-cell"


def make_pool(data: Path, per_class: int = 8, size: int = 20) -> Path:
    """``data`` with no class folder yet and ``per_class`` small images of each colour in data/unlabelled,
    named ``<colour>_<i>.png`` (the truth, read back from the name)."""
    for c, colour in enumerate(COLOURS):
        for i in range(per_class):
            make_image(data / "unlabelled" / f"{colour}_{i}.png", size=size, color=class_color(c), seed=c * 1000 + i)
    return data


def truth(name: str) -> str:
    """The colour an image was made with, from its file name (or path)."""
    return name.rsplit("/", 1)[-1].split("_")[0]


def tree(folder: Path) -> dict[str, bytes]:
    """Every data file under ``folder`` (relative path -> bytes), without the hidden logs and trash."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files
            if not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def unlabelled(data: Path) -> set[str]:
    """The file names still waiting in data/unlabelled."""
    return {p.name for p in (data / "unlabelled").iterdir() if p.is_file()}


def filed_as(data: Path, name: str) -> str | None:
    """The class folder ``name`` was moved into (None: not moved, or the move is under way).

    A move first claims its place with an empty file, then renames the image onto it (never overwriting), so
    for a moment the name is in both folders: moved means there and no longer in the pool."""
    if (data / "unlabelled" / name).exists():
        return None
    found = [p.parent.name for p in data.glob(f"*/{name}") if p.parent.name != "unlabelled"]
    return found[0] if found else None


class LabelGridPage:
    """The labeller's grid in cell ``index`` of a notebook page (JupyterLab, Notebook 7 or classic)."""

    def __init__(self, nb: Any, index: int) -> None:
        self.nb = nb
        self.page = nb.page
        self.index = index
        self.grid = nb.cell(index).locator(GRID).first

    def wait_page(self, n: int, timeout: float = 120) -> list[str]:
        """Wait until the grid shows ``n`` decoded thumbnails (failing at once if the cell failed); their names."""

        def ready():
            if not self.nb.is_busy(self.index) and self.nb.failure_text(self.index):
                raise AssertionError(f"cell {self.index} failed:\n{self.nb.failure_text(self.index)[-3000:]}")
            return self.grid.count() and self.grid.locator("figure.jdl-cell img.jdl-thumb").evaluate_all(
                "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length") == n

        wait_until(ready, timeout, f"the labelling grid with {n} decoded thumbnails in cell {self.index}")
        return self.names()

    def names(self) -> list[str]:
        """The file names on the page, in page order."""
        return self.grid.locator("figure.jdl-cell").evaluate_all(
            "figs => figs.map(f => f.title.split(/[\\\\/]/).pop())")

    def cursor_name(self) -> str:
        """The file name under the cursor."""
        names = self.grid.locator("figure.jdl-cell.jdl-cell-cursor").evaluate_all(
            "figs => figs.map(f => f.title.split(/[\\\\/]/).pop())")
        assert len(names) == 1, f"one cursor expected, found {names}"
        return names[0]

    def labelled_names(self) -> set[str]:
        """The file names whose cell shows them labelled."""
        return set(self.grid.locator("figure.jdl-cell.jdl-cell-labelled").evaluate_all(
            "figs => figs.map(f => f.title.split(/[\\\\/]/).pop())"))

    def has_focus(self) -> bool:
        """The grid holds the keyboard focus."""
        return self.page.evaluate("() => !!(document.activeElement && document.activeElement.closest"
                                  "&& document.activeElement.closest('.jdl-label-grid'))")

    def click(self, position: int = 0) -> None:
        """Click a thumbnail (puts the cursor there and gives the grid the focus), as a person starts."""
        self.grid.locator("figure.jdl-cell").nth(position).click()
        wait_until(self.has_focus, 10, "the grid to take the keyboard focus after a click")

    def press(self, key: str) -> None:
        """One key press, sent to whatever has the focus (as a person types)."""
        assert self.has_focus(), "the grid lost the keyboard focus"
        self.page.keyboard.press(key)

    def label_cursor(self, data: Path) -> tuple[str, str]:
        """Press the digit of the right class for the image under the cursor; wait for its file to move.

        Returns (file name, class)."""
        name = self.cursor_name()
        assert filed_as(data, name) is None, f"the cursor is on {name}, which is labelled already"
        colour = truth(name)
        self.press(str(COLOURS.index(colour) + 1))
        wait_until(lambda: filed_as(data, name) == colour, 30, f"{name} to move into {colour}/")
        assert not (data / "unlabelled" / name).exists()
        return name, colour

    def type_ahead(self, data: Path, names: list[str]) -> None:
        """Type the right digits for ``names`` (the next open images from the cursor on, in page order) as fast
        as a person who knows them, without waiting for the kernel; then wait for every file to move."""
        assert self.cursor_name() == names[0], (self.cursor_name(), names)
        for name in names:
            self.press(str(COLOURS.index(truth(name)) + 1))
        wait_until(lambda: all(filed_as(data, name) == truth(name) for name in names), 30,
                   f"{', '.join(names)} to move into their class folders")

    def turn_page(self, key: str = "Enter", n: int = 9) -> list[str]:
        """Press ``key`` (Enter: next page, `a`: accept the page) and wait for the next page's ``n`` thumbnails."""
        before = self.names()
        self.press(key)
        wait_until(lambda: self.names() != before, 30, f"{key!r} to show another page")
        return self.wait_page(n)

    def status(self) -> str:
        """The labeller's status line."""
        return self.nb.cell(self.index).locator(".jdl-labeller .jdl-label-status").first.inner_text()

"""What only a browser shows about %browse in a real JupyterLab: thumbnails render, a click on a
confusion-matrix cell filters the grid, and a relabel made with the toolbar moves the file on disk.

The data sets are written by the test into the server's notebook folder (the kernel's working
directory); files are checked from the test process. Every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import shutil

import pytest
from imagegen import make_colour_zoo, make_corrupt_file
from jdl_lab import wait_until

pytestmark = [pytest.mark.e2e]

BROWSER = ".jdl-browser"
THUMBS = ".jdl-browser .jdl-grid img.jdl-thumb"
# Thumbnails that the browser has decoded (an <img> with a broken data URI has naturalWidth 0).
DECODED = f"() => [...document.querySelectorAll('{THUMBS}')].filter(i => i.complete && i.naturalWidth > 0).length"
SHOWN_NAMES = f"() => [...document.querySelectorAll('{THUMBS}')].map(i => i.alt.split('/').pop())"

# The kernel side of the mistakes test: a "model" that answers by colour (red cat, green dog, blue fox).
COLOUR_LEARNER = """
from torch import nn
from jupyter_dl.finetuning.api import build_learner

class ColourNet(nn.Module):
    def forward(self, x):
        return 8.0 * x.mean(dim=(2, 3))

learn = build_learner("zoo", ColourNet(), size=16, bs=4, workers=0, device="cpu")
"""


def _wait_browser(nb, index: int, thumbs: int):
    """Wait until cell ``index`` shows the live browser with ``thumbs`` decoded thumbnails."""

    def ready():
        if not nb.is_busy(index) and nb.failure_text(index):
            raise AssertionError(f"cell {index} failed:\n{nb.failure_text(index)[-3000:]}")
        if nb.cell(index).locator(".jdl-browse-static:not(.jdl-snapshot *)").count():   # (the snapshot has one)
            raise AssertionError("%browse showed the static summary, not the live browser, in JupyterLab")
        return nb.page.evaluate(DECODED) == thumbs

    wait_until(ready, 90, f"{thumbs} decoded thumbnails in cell {index}")
    return nb.cell(index).locator(BROWSER).first


def make_digits(folder, per_class: int = 12):
    """Six digit classes copied from the sample, with planted problems: a 7 filed as 1, a duplicate, a corrupt file."""
    from jupyter_dl.data.sample_data import sample

    digits = sample()
    for label in "012345":
        for path in sorted((digits / label).iterdir())[:per_class]:
            (folder / label).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / label / path.name)
    shutil.copy(sorted((digits / "7").iterdir())[0], folder / "1" / "seven.png")
    first_three = sorted((folder / "3").iterdir())[0]
    shutil.copy(first_three, folder / "3" / ("copy_" + first_three.name))
    make_corrupt_file(folder / "5" / "broken.png")
    return folder


@pytest.mark.timeout(240)
def test_thumbnails_render_and_a_relabel_from_the_toolbar_moves_the_file(open_notebook, lab):
    """Also saves out/screenshots/browse.png (docs/browse.png)."""
    root = make_digits(lab.notebooks / "digits")
    nb = open_notebook("browse.ipynb", ["%load_ext jupyter_dl", "%browse digits --page-size 24"])
    nb.run_cell(0)
    nb.run_cell(1)
    browser = _wait_browser(nb, 1, 24)
    sizes = nb.page.evaluate(f"() => [...document.querySelectorAll('{THUMBS}')].map(i => [i.alt, i.naturalWidth])")
    # 32 px digits stay 32 px (thumbnails are never enlarged); a corrupt file shows the 128 px placeholder.
    assert {alt.split("/")[-1]: width for alt, width in sizes if width != 32} in ({}, {"broken.png": 128})
    assert "page 1 of 4" in browser.locator(".jdl-page-label").inner_text()
    wait_until(lambda: browser.locator(".jdl-class-bars.js-plotly-plot").count() == 1, 60, "the class bar chart")
    wait_until(lambda: "1 unreadable" in browser.locator(".jdl-health").inner_text(), 60, "the health line")
    assert "2 exact duplicates" in browser.locator(".jdl-health").inner_text()

    # Find the 7 filed as 1, tick its box, choose "7" as a new class, click Relabel: as a person does it.
    browser.locator(".jdl-search input").fill("seven")
    browser.locator(".jdl-search input").press("Enter")
    cell = browser.locator(".jdl-cell[title$='/seven.png']")
    cell.wait_for(state="visible", timeout=20_000)
    cell.locator("input.jdl-select").click()
    wait_until(lambda: "1 selected" in browser.locator(".jdl-toolbar").inner_text(), 20, "the selection to count")
    browser.locator(".jdl-label-choice select").select_option("new class\u2026")
    browser.locator(".jdl-new-label input").fill("7")
    browser.locator(".jdl-new-label input").press("Enter")
    browser.locator("button.jdl-relabel").click()
    wait_until(lambda: (root / "7" / "seven.png").is_file(), 30, "seven.png to move into 7/")
    assert not (root / "1" / "seven.png").exists()
    wait_until(lambda: "Relabelled 1 image" in browser.locator(".jdl-action-status").inner_text(), 20,
               "the status line")
    wait_until(lambda: browser.locator(".jdl-cell[title$='/seven.png'] .jdl-cell-label").inner_text() == "7", 20,
               "the cell to show its new label")

    # Back to everything; a click on a thumbnail opens the large view.
    browser.locator("button.jdl-reset").click()
    wait_until(lambda: nb.page.evaluate(DECODED) == 24, 30, "the first page again")
    browser.locator(".jdl-cell img.jdl-thumb").nth(2).click()
    details = browser.locator(".jdl-details")
    wait_until(lambda: details.is_visible() and "32 \u00d7 32" in details.inner_text(), 20, "the large view")
    nb.page.set_viewport_size({"width": 1280, "height": 1900})    # the whole browser in one picture
    browser.scroll_into_view_if_needed()
    path = nb.screenshot("browse", browser)
    nb.page.set_viewport_size({"width": 1280, "height": 1000})
    assert path.stat().st_size > 10_000

    browser.locator("button.jdl-undo").click()
    wait_until(lambda: (root / "1" / "seven.png").is_file(), 30, "the undo to move the file back")


@pytest.mark.timeout(240)
def test_clicking_a_confusion_matrix_cell_filters_the_grid(open_notebook, lab):
    root = lab.notebooks / "zoo"
    make_colour_zoo(root, size=32)
    nb = open_notebook("mistakes.ipynb", ["%load_ext jupyter_dl", COLOUR_LEARNER, "%browse learn"])
    for index in range(3):
        nb.run_cell(index, timeout=180)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    browser = _wait_browser(nb, 2, 12)
    assert nb.page.evaluate(SHOWN_NAMES)[:3] and set(nb.page.evaluate(SHOWN_NAMES)[:3]) == {
        "red_a.png", "red_b.png", "green_a.png"}            # worst first
    assert browser.locator(".jdl-cell-wrong").count() == 3

    # The heatmap cell (actual dog, predicted cat): its centre, from plotly's own axes in the page.
    plot = ".jdl-mistakes .jdl-confusion.js-plotly-plot"
    wait_until(lambda: nb.page.evaluate(f"() => !!document.querySelector('{plot}')?._fullLayout?.xaxis?._length"),
               30, "the confusion matrix to be drawn")
    x, y = nb.page.evaluate(f"""() => {{
        const el = document.querySelector('{plot}');
        const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis, box = el.getBoundingClientRect();
        return [box.left + xa._offset + xa.d2p('cat'), box.top + ya._offset + ya.d2p('dog')];
    }}""")
    nb.page.mouse.move(x, y)
    nb.page.mouse.click(x, y)
    wait_until(lambda: sorted(nb.page.evaluate(SHOWN_NAMES)) == ["red_a.png", "red_b.png"], 30,
               "the grid to show the two red images filed as dog")
    assert "actual dog \u00b7 predicted cat" in browser.locator(".jdl-match-count").inner_text()
    nb.screenshot("browse-mistakes", browser)


# The static snapshot shown after the live widget's output (see jupyter_dl/browser/snapshot.py).
SNAPSHOT = ".jdl-snapshot"


def _decoded(nb, index: int, selector: str) -> int:
    """How many images matching ``selector`` in cell ``index`` the browser has decoded and shows."""
    return nb.cell(index).locator(selector).evaluate_all(
        "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getClientRects().length).length")


@pytest.mark.timeout(300)
def test_a_reopened_notebook_shows_the_snapshot_not_a_widget_error(open_notebook, lab):
    """Run %browse on data and on a learner, save, shut the kernel down, reload: the snapshots show.

    Also saves out/screenshots/browse-reopened.png.
    """
    make_digits(lab.notebooks / "digits")
    make_colour_zoo(lab.notebooks / "zoo", size=32)
    nb = open_notebook("reopen.ipynb", ["%load_ext jupyter_dl", "%browse digits --page-size 12", COLOUR_LEARNER,
                                        "%browse learn --page-size 6"])
    for index in range(4):
        nb.run_cell(index, timeout=180)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    _wait_browser(nb, 1, 18)                           # 12 digits + 6 zoo images, both browsers live
    for index, thumbs in ((1, 12), (3, 6)):
        snapshot = nb.cell(index).locator(SNAPSHOT)
        assert snapshot.count() == 1 and not snapshot.is_visible(), "the snapshot shows beside the live widget"
        # Drawn in the background a moment after the health check: wait for its thumbnails and health line.
        wait_until(lambda i=index, n=thumbs: nb.cell(i).locator(f"{SNAPSHOT} img.jdl-thumb").count() == n
                   and "Health:" in nb.cell(i).locator(SNAPSHOT).text_content(), 60, f"cell {index}'s snapshot")
    nb.save()
    saved = lab.read_notebook("reopen.ipynb")["cells"]
    for index in (1, 3):
        html = "".join(out.get("data", {}).get("text/html", "") for out in saved[index]["outputs"])
        assert "jdl-snapshot" in html and "data:image/jpeg;base64," in html, saved[index]["outputs"]

    lab.shutdown_kernels()
    nb.reload()
    # Saved by JupyterLab, the notebook is trusted: the snapshots' own <style> and the extension's CSS act.
    assert nb.cell(1).locator(f"{SNAPSHOT} style").count() == 1
    _check_reopened(nb, "browse-reopened")

    # Untrusted (as one downloaded from elsewhere): its HTML is sanitised, no <style> is left, and the
    # JupyterLab extension's CSS alone hides the dead widgets.
    notebook = lab.read_notebook("reopen.ipynb")
    notebook["metadata"]["copied_from"] = "elsewhere"     # not the content that was signed
    for cell in notebook["cells"]:
        cell["metadata"].pop("trusted", None)           # and no cell vouched for: the server does not sign it
    lab.api("PUT", "api/contents/reopen.ipynb", {"type": "notebook", "format": "json", "content": notebook})
    lab.shutdown_kernels()
    nb.reload()
    assert nb.cell(1).locator(f"{SNAPSHOT} style").count() == 0
    _check_reopened(nb, "browse-reopened-untrusted")


def _check_reopened(nb, screenshot: str) -> None:
    """Cells 1 (%browse digits) and 3 (%browse learn) show their snapshots and no widget error."""
    for index in (1, 3):
        text = nb.output_text(index)
        assert "Error displaying widget" not in text and "model not found" not in text.lower(), text[-500:]
        # The widget's output (shown first) says "Loading widget...", then "Error displaying widget: model not
        # found" (untrusted: its text line, as widgets do not render there), and is hidden.
        widget_output = nb.cell(index).locator(".jp-OutputArea-child").first
        said = widget_output.text_content()
        assert any(words in said for words in ("Error displaying widget", "Loading widget", "jupyter_dl browser:")), \
            said
        assert not widget_output.is_visible()
        snapshot = nb.cell(index).locator(SNAPSHOT)
        snapshot.wait_for(state="visible", timeout=30_000)
        assert "Health:" in snapshot.inner_text() and "run the cell again" in snapshot.inner_text()
    digits, learner = nb.cell(1).locator(SNAPSHOT), nb.cell(3).locator(SNAPSHOT)
    wait_until(lambda: _decoded(nb, 1, f"{SNAPSHOT} img.jdl-thumb") == 12, 30, "the digits' thumbnails")
    assert _decoded(nb, 1, f"{SNAPSHOT} img.jdl-class-chart") == 1         # the class chart (an SVG image)
    assert "1 unreadable" in digits.locator(".jdl-health").inner_text()
    wait_until(lambda: _decoded(nb, 3, f"{SNAPSHOT} img.jdl-thumb") == 6, 30, "the learner's top losses")
    assert learner.locator("table.jdl-confusion").is_visible() and learner.locator("table.jdl-per-class").is_visible()
    assert "Validation accuracy 0.7500" in learner.inner_text()
    nb.screenshot(screenshot, nb.cell(1))


# What plotly 5 (Colab's pinned 5.24, classic Notebook 6) looks like to jupyter_dl: no FigureWidget.
PLOTLY_5 = "from jupyter_dl.ui import frontend\nfrontend.plotly_figure_widgets = lambda: False"


@pytest.mark.timeout(240)
def test_with_plotly_5_the_svg_charts_are_live_and_clicks_filter(open_notebook, lab):
    make_digits(lab.notebooks / "digits")
    make_colour_zoo(lab.notebooks / "zoo", size=32)
    nb = open_notebook("plotly5.ipynb", ["%load_ext jupyter_dl", PLOTLY_5, "%browse digits --page-size 24",
                                         COLOUR_LEARNER, "%browse learn"])
    for index in range(3):
        nb.run_cell(index)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    browser = _wait_browser(nb, 2, 24)
    assert browser.locator(".js-plotly-plot").count() == 0                # no plotly in the page
    bar = browser.locator(".jdl-class-bars svg.jdl-plot-svg g.jdl-svg-bar[data-x='3']")
    bar.wait_for(state="visible", timeout=30_000)
    bar.click()
    labels = f"() => [...document.querySelectorAll('{BROWSER} .jdl-cell .jdl-cell-label')].map(e => e.textContent)"
    wait_until(lambda: set(nb.page.evaluate(labels)) == {"3"}, 30, "the grid to show class 3 only")
    assert "class 3" in browser.locator(".jdl-match-count").inner_text()
    nb.screenshot("browse-plotly5", browser)

    for index in (3, 4):
        nb.run_cell(index, timeout=180)
        assert nb.failure_text(index) == "", nb.failure_text(index)
    mistakes = nb.cell(4).locator(BROWSER)
    cell = mistakes.locator(".jdl-confusion svg g.jdl-svg-cell[data-x='cat'][data-y='dog']")
    cell.wait_for(state="visible", timeout=60_000)
    assert cell.locator("text").text_content() == "2"
    cell.click()
    names = f"() => [...document.querySelectorAll('.jp-Cell:nth-child(5) {THUMBS}')].map(i => i.alt.split('/').pop())"
    wait_until(lambda: sorted(nb.page.evaluate(names)) == ["red_a.png", "red_b.png"], 30,
               "the grid to show the two red images filed as dog")
    assert "actual dog \u00b7 predicted cat" in mistakes.locator(".jdl-match-count").inner_text()

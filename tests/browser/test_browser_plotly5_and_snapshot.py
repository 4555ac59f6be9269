"""%browse where plotly's FigureWidget cannot render (plotly 5), and the snapshot a live browser leaves.

plotly 5 is made to look present by patching ``frontend.plotly_figure_widgets`` (what the browser
asks); the charts are then SVG widgets whose clicks arrive as the page sends them (``{"action":
"click", "x", "y"}``). The snapshot is checked as the display messages that carry it: shown
after the widget, redrawn after a filter, an edit or the health check (never after a page change),
emptied when the browser closes. How a page shows or hides it is tested in tests/e2e.
"""
from __future__ import annotations

import re
import time

import pytest
from imagegen import make_colour_zoo, make_corrupt_file, make_image_folder
from torch import nn

from jupyter_dl.browser.svg_chart import SvgChart
from jupyter_dl.browser.widget import Browser
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.finetuning.api import build_learner
from jupyter_dl.ui import frontend
from jupyter_dl.ui.snapshot import SnapshotKeeper

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def plotly5(monkeypatch):
    """plotly 5: its FigureWidget needs a front-end extension of its own, which Colab and Notebook 6 lack."""
    monkeypatch.setattr(frontend, "plotly_figure_widgets", lambda: False)


@pytest.fixture
def shown(monkeypatch):
    """What is displayed, in order: [bundle, handle]; a handle records its updates in ``.updates``."""
    outputs = []

    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, bundle, raw=False, **kw):
            self.updates.append(bundle)

        @property
        def last(self):
            return self.updates[-1] if self.updates else None

    def fake_display(*objs, raw=False, display_id=None, **kw):
        handle = Handle()
        outputs.extend([obj, handle] for obj in objs)
        return handle if display_id else None

    monkeypatch.setattr("IPython.display.display", fake_display)
    return outputs


@pytest.fixture
def pets(tmp_path):
    root = make_image_folder(tmp_path / "pets", classes={"cat": 8, "dog": 6, "fox": 2}, size=40)
    make_corrupt_file(root / "cat" / "broken.png")
    return root


def click(chart: SvgChart, x: str, y: str | None = None) -> None:
    """What svg_chart.js sends when a bar (x) or a heatmap cell (x: predicted, y: actual) is clicked."""
    chart._on_page_message(chart, {"action": "click", "x": x, "y": y})


def svg_counts(chart: SvgChart) -> dict[tuple[str, str], str]:
    """(actual, predicted) -> the count written in that heatmap cell of the SVG."""
    cell = r"<g class='jdl-svg-cell[^']*' data-x='([^']*)' data-y='([^']*)'.*?<text[^>]*>([^<]*)</text></g>"
    cells = re.findall(cell, chart.svg)
    return {(actual, predicted): count for predicted, actual, count in cells}


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ----------------------------------------------------------------------------- plotly 5: SVG charts
def test_with_plotly_5_the_class_bars_are_svg_and_a_bar_click_filters(plotly5, pets):
    b = Browser(build_catalog(pets), show=False, check_health=False)
    assert isinstance(b.bars, SvgChart) and "jdl-class-bars" in b.bars._dom_classes
    assert b.bars.svg.count("class='jdl-svg-bar'") == 3 and "data-x='dog'" in b.bars.svg
    click(b.bars, "dog")
    assert {b.state.item(k).label for k in b.grid.shown_keys()} == {"dog"} and len(b.grid.shown_keys()) == 6
    assert b.filter_bar.class_filter.value == "dog"
    assert "fill='#f58518'" in b.bars.svg                              # the chosen bar is orange
    click(b.bars, "dog")                                               # again: every class
    assert len(b.grid.shown_keys()) == 17 and "fill='#f58518'" not in b.bars.svg
    before = b.state.counts()["fox"]
    b.relabel("fox", [b.state.keys()[0]])                              # the bars follow the edits
    train, valid = b.state.counts("train")["fox"], b.state.counts("valid")["fox"]
    assert train + valid == before + 1 and f"<title>fox: {train:g} train, {valid:g} valid</title>" in b.bars.svg
    b.undo()
    b.close()


class ColourNet(nn.Module):
    """Predicts the strongest colour channel: red cat, green dog, blue fox (imagegen's zoo)."""

    def forward(self, x):
        return 8.0 * x.mean(dim=(2, 3))


def test_with_plotly_5_a_confusion_matrix_cell_click_shows_its_items(plotly5, tmp_path):
    from jupyter_dl.browser.interpretation import interpret

    root = tmp_path / "zoo"
    make_colour_zoo(root, size=16)
    interp = interpret(build_learner(root, ColourNet(), size=16, bs=4, workers=0, device="cpu"))
    b = Browser(interp.catalog, interpretation=interp, show=False, check_health=False)
    matrix = b.mistakes.figure
    assert isinstance(matrix, SvgChart) and "jdl-confusion" in matrix._dom_classes
    assert svg_counts(matrix)[("dog", "cat")] == "2" and svg_counts(matrix)[("fox", "dog")] == "1"
    click(matrix, x="cat", y="dog")                                    # predicted cat, actual dog
    assert sorted(b.state.keys()) == sorted(interp.items_in_cell("dog", "cat"))
    assert "jdl-svg-active" in matrix.svg and "data-x='cat' data-y='dog'" in matrix.svg
    b.toolbar.select_page.click()
    b.toolbar.label_choice.value = "cat"
    b.toolbar.relabel_button.click()                                   # the two red "dogs" are cats
    assert svg_counts(matrix)[("dog", "cat")] == "" and svg_counts(matrix)[("cat", "cat")] == "5"
    b.undo()
    b.close()


def test_browse_is_live_wherever_widgets_render_even_with_plotly_5(plotly5, pets, shown, monkeypatch):
    import jupyter_dl

    monkeypatch.setattr(frontend, "widgets_available", lambda: True)
    b = jupyter_dl.browse(pets, page_size=4)
    assert isinstance(b, Browser) and isinstance(b.bars, SvgChart)
    assert WIDGET_MIME in shown[0][0]
    b.close()


# ----------------------------------------------------------------------------- the snapshot
def snapshot_of(shown) -> tuple[str, object]:
    """(the snapshot output's HTML now, its handle): the output displayed right after the widget."""
    bundle, handle = shown[1]
    current = handle.last or bundle
    return current.get("text/html", ""), handle


def test_the_snapshot_follows_the_widget_and_shows_what_it_shows(pets, shown):
    b = Browser(build_catalog(pets), page_size=4, check_health=True)
    assert [WIDGET_MIME in out[0] for out in shown] == [True, False]   # the widget, then the snapshot
    token = re.search(r"jdl-snap-([0-9a-f]+)", shown[1][0]["text/html"]).group(1)
    assert "jdl-live" in b.widget._dom_classes
    style = b.widget.children[0]
    assert f".jdl-snap-{token}{{display:none !important}}" in style.value and style.layout.display == "none"
    b.wait_health(60)
    wait_for(lambda: "Health: 1 unreadable" in snapshot_of(shown)[0] and not b.snapshot.pending, "the snapshot")
    html, handle = snapshot_of(shown)
    assert f"jdl-snapshot jdl-snap-{token}" in html and "run the cell again" in html
    assert f".jp-OutputArea-child:has(+ .jp-OutputArea-child .jdl-snap-{token}):not(:has(.jdl-live))" in html
    assert html.count("<img class='jdl-thumb' src='data:image/jpeg;base64,") == 4
    assert "<img class='jdl-class-chart' src='data:image/svg+xml;base64," in html
    assert "First images: 4 of 17" in html and "text/plain" in handle.last

    drawn = b.snapshot.renders
    b.next_page()                                                      # a page change: no redraw
    b.go_to(3)
    assert not b.snapshot.pending and b.snapshot.renders == drawn
    b.filter(label="dog")                                              # a filter: redrawn a moment later
    assert b.snapshot.pending
    wait_for(lambda: b.snapshot.renders > drawn, "the redraw after a filter")
    html, _ = snapshot_of(shown)
    assert "First images: 4 of 6" in html and html.count("dog_") >= 4 and "cat_" not in html
    drawn = b.snapshot.renders
    b.relabel("cat", [b.state.keys()[0]])                               # an edit: redrawn too
    wait_for(lambda: b.snapshot.renders > drawn, "the redraw after an edit")
    assert "First images: 4 of 5" in snapshot_of(shown)[0]

    b.close()                                                          # the widget's output becomes the summary
    assert "closed browser" in shown[0][1].last["text/html"] and shown[1][1].last == {"text/plain": ""}
    assert b.snapshot._thread is None or not b.snapshot._thread.is_alive()


def test_a_mistakes_snapshot_has_the_confusion_matrix_and_per_class_table(tmp_path, shown):
    from jupyter_dl.browser.interpretation import interpret

    root = tmp_path / "zoo"
    make_colour_zoo(root, size=16)
    interp = interpret(build_learner(root, ColourNet(), size=16, bs=4, workers=0, device="cpu"))
    b = Browser(interp.catalog, interpretation=interp, page_size=3, check_health=False)
    b.snapshot.flush()
    html, _ = snapshot_of(shown)
    assert "Validation accuracy 0.7500 on 12 images" in html and "Top losses: 3 of 12" in html
    assert "table class='jdl-confusion'" in html and "table class='jdl-per-class'" in html
    assert "background-color:rgb(" in html                              # the matrix is shaded like a heatmap
    b.close()


def test_changes_close_together_are_drawn_once_and_a_failing_drawing_warns_once():
    drawn = []

    class Handle:
        def update(self, bundle, raw=False):
            drawn.append(bundle)

    keeper = SnapshotKeeper(lambda: {"text/plain": str(len(drawn))}, delay=0.3)
    keeper.handle = Handle()
    for _ in range(5):
        keeper.changed()
    wait_for(lambda: not keeper.pending and drawn, "the drawing")
    time.sleep(0.4)
    assert len(drawn) == 1 and keeper.renders == 1

    def broken():
        raise OSError("disk gone")

    keeper.render = broken
    with pytest.warns(UserWarning, match="snapshot could not be drawn"):
        keeper.flush()
    keeper.flush()                                                     # (warned once)
    assert isinstance(keeper.error, OSError) and len(drawn) == 1
    keeper.close()
    keeper.changed()
    assert not keeper.pending                                          # closed: no more drawings

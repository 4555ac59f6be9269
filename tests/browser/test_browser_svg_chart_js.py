"""The SVG chart's front end (browser/svg_chart.js), run in Node against a small fake page and widget model.

It checks what the page does: the ``svg`` trait is drawn, a click on a part of a bar or a matrix cell
(its rect or text, inside the element that carries ``data-x``) sends ``{action: "click", x, y}``, a click
elsewhere sends nothing, and a new ``svg`` redraws. The real DOM is exercised by tests/e2e/test_lab_browse.py.
Skipped where Node is not installed.
"""
from pathlib import Path

import pytest
from node_harness import run_harness

JS = Path(__file__).resolve().parents[2] / "jupyter_dl" / "browser" / "svg_chart.js"

HARNESS = r"""
import mod, { clickedPart } from %(module)s;

class El {
  constructor(tag, attrs = {}) { this.tag = tag; this.children = []; this.attrs = attrs; this.parentNode = null;
                                 this.listeners = {}; this.className = ""; this._html = ""; }
  append(...kids) { for (const k of kids) { k.parentNode = this; this.children.push(k); } }
  getAttribute(name) { return name in this.attrs ? this.attrs[name] : null; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  removeEventListener(name) { delete this.listeners[name]; }
  set innerHTML(html) { this._html = html; }
  get innerHTML() { return this._html; }
}
const doc = { createElement: (tag) => new El(tag) };
%(fake_model)s
const model = makeModel({ svg: "<svg class='jdl-plot-svg'>bars</svg>" });
const el = new El("div"); el.ownerDocument = doc;
const dispose = mod.render({ model, el });
const root = el.children[0];
const results = { className: root.className, drawn: root.innerHTML };
// What the browser builds from the SVG: <g data-x=dog><rect/></g> and a cell <g data-x=cat data-y=dog><text/></g>.
const bar = new El("g", { "data-x": "dog" }); const rect = new El("rect"); bar.append(rect); root.append(bar);
const cell = new El("g", { "data-x": "cat", "data-y": "dog" }); const text = new El("text"); cell.append(text);
root.append(cell);
const axis = new El("text"); root.append(axis);
root.listeners.click({ target: rect });
root.listeners.click({ target: text });
root.listeners.click({ target: axis });
results.sent = model.sent;
model.set("svg", "<svg class='jdl-plot-svg'>matrix</svg>");
results.redrawn = root.innerHTML;
results.part = clickedPart(rect, root) === bar;
dispose();
model.set("svg", "<svg>after</svg>");
results.afterDispose = root.innerHTML;
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_harness(tmp_path_factory, HARNESS, JS, "the SVG chart's front end")


def test_the_svg_is_drawn_and_redrawn(results):
    assert results["className"] == "jdl-plot" and results["drawn"] == "<svg class='jdl-plot-svg'>bars</svg>"
    assert results["redrawn"] == "<svg class='jdl-plot-svg'>matrix</svg>"
    assert results["afterDispose"] == results["redrawn"]            # no redraws once the view is gone


def test_a_click_on_a_bar_or_cell_sends_its_classes_and_elsewhere_nothing(results):
    assert results["sent"] == [{"action": "click", "x": "dog", "y": None},
                               {"action": "click", "x": "cat", "y": "dog"}]
    assert results["part"] is True

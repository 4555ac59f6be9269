"""The thumbnail grid's front end (browser/grid.js), run in Node against a small fake page and widget model.

It checks what the page does with clicks: a box ticks one item into ``selected`` (Shift+click: the
range from the last box), a thumbnail click asks the kernel for the large view, Ctrl+click selects,
a likely mislabelled cell's button asks the kernel to give it the suggested label,
and a selection change from the kernel re-marks the cells without redrawing the images.
The real DOM is exercised by tests/e2e/test_lab_browse.py. Skipped where Node is not installed.
"""
from pathlib import Path

import pytest
from node_harness import run_harness

JS = Path(__file__).resolve().parents[2] / "jupyter_dl" / "browser" / "grid.js"

HARNESS = r"""
import mod, { keyRange, withKeys } from %(module)s;

class ClassList {
  constructor(el) { this.el = el; }
  get set() { return new Set(this.el.className.split(" ").filter(Boolean)); }
  contains(c) { return this.set.has(c); }
  toggle(c, on) { const s = this.set; if (on) s.add(c); else s.delete(c); this.el.className = [...s].join(" "); }
}
class El {
  constructor(tag, doc) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {};
                          this.listeners = {}; this.textContent = ""; this.checked = false; this.ownerDocument = doc;
                          this.style = { props: {}, setProperty: (k, v) => { this.style.props[k] = v; } }; }
  get classList() { return new ClassList(this); }
  append(...kids) { this.children.push(...kids); }
  replaceChildren(...kids) { this.children = kids; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  all() { return this.children.flatMap((k) => [k, ...(k.all ? k.all() : [])]); }
  querySelectorAll(sel) { const c = sel.slice(1); return this.all().filter((k) => k.classList.contains(c)); }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}
const doc = { createElement: (tag) => new El(tag, doc) };
%(fake_model)s
const cells = [10, 11, 12, 13, 14].map((k) => ({ key: k, src: "data:image/jpeg;base64,AAAA", title: "/d/" + k + ".png",
                                                lines: ["cat", k + ".png"], kind: k === 12 ? "wrong" : "",
                                                ...(k === 13 ? { action: "\u2192 dog", action_title: "relabel to dog" } : {}) }));
const model = makeModel({ cells, selected: [], opened: -1, thumb_size: 96, empty_text: "none here" });
const el = new El("div", doc);
const dispose = mod.render({ model, el });
const grid = el.children[0];
const figures = () => grid.querySelectorAll(".jdl-cell");
const box = (i) => figures()[i].querySelector(".jdl-select");
const img = (i) => figures()[i].querySelector(".jdl-thumb");
const click = (target, event = {}) => target.listeners.click({ shiftKey: false, ctrlKey: false, metaKey: false, ...event });
const results = {};
results.drawn = { n: figures().length, size: grid.style.props["--jdl-thumb"], keys: figures().map((f) => f.dataset.key),
                  wrong: figures()[2].className, caption: figures()[0].querySelector(".jdl-cell-label").textContent,
                  src: img(0).src };
box(1).checked = true; click(box(1));
results.one = [...model.get("selected")];
box(3).checked = true; click(box(3), { shiftKey: true });
results.range = [...model.get("selected")];
box(2).checked = false; click(box(2));
results.untick = [...model.get("selected")];
click(img(4));
results.sent = model.sent;
click(img(0), { ctrlKey: true });
results.ctrl = { selected: [...model.get("selected")], sent: model.sent.length };
const image = img(0);
model.set("selected", [14]);
model.set("opened", 14);
results.restyle = { sameImage: img(0) === image, selected: figures().map((f) => f.classList.contains("jdl-cell-selected")),
                    boxes: figures().map((f) => f.querySelector(".jdl-select").checked),
                    opened: figures()[4].classList.contains("jdl-cell-open"), saves: model.saves };
const accept = figures()[3].querySelector(".jdl-cell-accept");
results.accept = { text: accept.textContent, title: accept.title, others: figures().filter((f) => f.querySelector(".jdl-cell-accept")).length };
click(accept);
results.accept.sent = model.sent[model.sent.length - 1];
results.accept.disabled = accept.disabled === true;
model.set("cells", []);
results.empty = grid.children.map((c) => c.textContent);
dispose();
results.helpers = { range: keyRange(cells, 13, 11), missing: keyRange(cells, 99, 11), add: withKeys([1, 2], [2, 3], true),
                    remove: withKeys([1, 2, 3], [2], false) };
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_harness(tmp_path_factory, HARNESS, JS, "the grid's front end")


def test_a_page_of_cells_is_drawn(results):
    drawn = results["drawn"]
    assert drawn["n"] == 5 and drawn["keys"] == ["10", "11", "12", "13", "14"] and drawn["size"] == "96px"
    assert "jdl-cell-wrong" in drawn["wrong"] and drawn["caption"] == "cat"
    assert drawn["src"].startswith("data:image/jpeg;base64,")


def test_boxes_select_and_shift_click_selects_a_range(results):
    assert results["one"] == [11]
    assert results["range"] == [11, 12, 13]
    assert results["untick"] == [11, 13]


def test_a_thumbnail_click_asks_for_the_large_view_and_ctrl_click_selects(results):
    assert results["sent"][0] == {"action": "open", "key": 14}
    assert results["ctrl"] == {"selected": [11, 13, 10], "sent": 1}


def test_a_suggestion_button_asks_the_kernel_to_accept_it_once(results):
    accept = results["accept"]
    assert accept["text"] == "\u2192 dog" and accept["title"] == "relabel to dog" and accept["others"] == 1
    assert accept["sent"] == {"action": "accept", "key": 13} and accept["disabled"]


def test_a_selection_from_the_kernel_re_marks_cells_without_redrawing(results):
    restyle = results["restyle"]
    assert restyle["sameImage"] and restyle["opened"]
    assert restyle["selected"] == restyle["boxes"] == [False, False, False, False, True]
    assert results["empty"] == ["none here"]


def test_helpers(results):
    assert results["helpers"] == {"range": [11, 12, 13], "missing": [11], "add": [1, 2, 3], "remove": [1, 3]}

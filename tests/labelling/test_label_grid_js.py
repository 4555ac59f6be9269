"""The labelling grid's front end (labelling/label_grid.js), run in Node against a fake page and widget model.

It checks the keyboard: digits label the cursor's image at once (before the kernel answers) and move
on to the next open image, arrows move, `a` / `x` / `u` / Enter send their action, modified keys and
keys the grid does not use are left to the page, handled keys never reach the notebook's shortcuts
(propagation stopped, Lumino's suppress attribute, classic Notebook's keyboard manager switched off
while focused). The real DOM is exercised by tests/e2e. Skipped where Node is not installed.
"""
from pathlib import Path

import pytest
from node_harness import run_harness

JS = Path(__file__).resolve().parents[2] / "jupyter_dl" / "labelling" / "label_grid.js"

HARNESS = r"""
import mod, { keyAction, moveIndex, nextOpen } from %(module)s;

class El {
  constructor(tag, doc) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {};
                          this.attrs = {}; this.listeners = {}; this.textContent = ""; this.ownerDocument = doc;
                          this.offsetTop = 0;
                          this.style = { props: {}, setProperty: (k, v) => { this.style.props[k] = v; } }; }
  setAttribute(k, v) { this.attrs[k] = v; }
  append(...kids) { this.children.push(...kids); }
  replaceChildren(...kids) { this.children = kids; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  focus() { this.ownerDocument.activeElement = this; (this.listeners.focus || (() => {}))(); }
  all() { return this.children.flatMap((k) => [k, ...(k.all ? k.all() : [])]); }
  has(c) { return this.className.split(" ").includes(c); }
  querySelectorAll(sel) {
    const c = sel.slice(1);
    return this.all().filter((k) => (k.has ? k.has(c) || k.tag === sel : false));
  }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}
const doc = { createElement: (tag) => new El(tag, doc), activeElement: null };
const km = { on: true, disable() { this.on = false; }, enable() { this.on = true; } };
globalThis.Jupyter = { keyboard_manager: km };
%(fake_model)s
const keys = [1, 2, 3, 4, 5, 6];
const images = keys.map((k) => ({ key: k, src: "data:image/jpeg;base64,AAAA", title: k + ".png" }));
const cells = keys.map((k) => ({ key: k, lines: ["cat?", "90%%"], kind: "suggested", open: true, label: null }));
const model = makeModel({ images, cells, key_map: [["1", "cat"], ["2", "dog"]], cursor: 1, thumb_size: 64,
                          autofocus: true });
const el = new El("div", doc);
mod.render({ model, el });
const root = el.children[0];
const figures = () => root.querySelectorAll(".jdl-cell");
figures().forEach((f, i) => { f.offsetTop = i < 3 ? 0 : 100; });  // two rows of three
const figure = (key) => figures().find((f) => f.dataset.key === String(key));
const caption = (key) => figure(key).querySelector(".jdl-cell-label").textContent;
let stopped = 0, prevented = 0;
const press = (key, extra = {}) => root.listeners.keydown({
  key, ctrlKey: false, metaKey: false, altKey: false, ...extra,
  stopPropagation() { stopped += 1; }, preventDefault() { prevented += 1; } });
const results = {};
results.setup = { suppress: root.attrs["data-lm-suppress-shortcuts"], tabIndex: root.tabIndex,
                  focused: doc.activeElement === root, managerOff: !km.on, hints: root.children[0].textContent };
press("2");
results.typed = { sent: model.sent.at(-1), caption: caption(1), cursor: model.get("cursor"), stopped, prevented };
press("ArrowDown");
results.down = model.get("cursor");
press("ArrowLeft");
results.left = model.get("cursor");
press("x");
results.skip = model.sent.at(-1);
press("a"); press("u"); press("Enter");
results.actions = model.sent.slice(-3);
const before = model.sent.length; const stoppedBefore = stopped;
press("1", { ctrlKey: true }); press("q"); press("9");
results.ignored = { sent: model.sent.length - before, stopped: stopped - stoppedBefore };
const confirmed = { lines: ["dog \u2713"], kind: "labelled", open: false, label: "dog" };
model.set("cells", cells.map((c) => (c.key === 1 ? { ...c, ...confirmed } : c)));
results.confirmed = caption(1);
root.listeners.blur();
results.managerBack = km.on;
results.helpers = { move: [moveIndex("ArrowRight", 5, 6, 3), moveIndex("ArrowUp", 1, 6, 3), moveIndex("Tab", 0, 6, 3)],
                    next: nextOpen(cells, 6, (k) => k !== 1), action: keyAction({ key: "5" }, [["1", "cat"]]),
                    digits: keyAction({ key: "0" }, [["0", "0"], ["1", "1"]]) };
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_harness(tmp_path_factory, HARNESS, JS, "the labelling grid's front end")


def test_the_grid_takes_the_focus_and_keeps_the_keys_from_the_notebook(results):
    setup = results["setup"]
    assert setup["suppress"] == "true" and setup["tabIndex"] == 0 and setup["focused"] and setup["managerOff"]
    assert setup["hints"].startswith("1 cat \u00b7 2 dog \u00b7 a accept page")
    assert results["managerBack"] is True


def test_a_digit_labels_the_cursor_at_once_and_moves_on(results):
    typed = results["typed"]
    assert typed["sent"] == {"action": "label", "key": 1, "label": "dog"}
    assert typed["caption"] == "dog \u2713" and typed["cursor"] == 2
    assert typed["stopped"] == 1 and typed["prevented"] == 1
    assert results["confirmed"] == "dog \u2713"


def test_arrows_move_by_cell_and_by_row(results):
    assert results["down"] == 5 and results["left"] == 4


def test_action_keys_send_their_action(results):
    assert results["skip"] == {"action": "skip", "key": 4, "label": ""}
    assert results["actions"] == [{"action": "accept"}, {"action": "undo"}, {"action": "next"}]


def test_modified_and_unused_keys_are_left_alone(results):
    # Ctrl+1 and "q" pass through; "9" with two classes is swallowed (a typo must not reach the notebook).
    assert results["ignored"] == {"sent": 0, "stopped": 1}


def test_helpers(results):
    assert results["helpers"] == {"move": [5, 1, -1], "next": 2, "action": {"action": "none"},
                                  "digits": {"action": "label", "label": "0"}}

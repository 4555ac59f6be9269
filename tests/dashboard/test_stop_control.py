"""The Stop control's front end (stop_control.js), run in Node against a fake page and widget model.

It checks what the browser does on a click: in the background a message to the kernel; in the
foreground also POST api/kernels/<id>/interrupt with the page's token and _xsrf cookie, and the
fallback text where there is no Jupyter server page. Skipped where Node is not installed.
"""
from pathlib import Path

import pytest
from node_harness import run_harness

JS = Path(__file__).resolve().parents[2] / "jupyter_dl" / "dashboard" / "stop_control.js"

HARNESS = r"""
import mod, { pageConfig, interruptKernel, requestStop } from %(module)s;

class El {
  constructor(tag) { this.tag = tag; this.children = []; this.classList = new Set(); this.dataset = {};
                     this.attrs = {}; this.listeners = {}; this.textContent = ""; this.disabled = false;
                     this.checked = false; this.ownerDocument = null; }
  set className(v) { this.classList = new Set(v.split(" ")); }
  get className() { return [...this.classList].join(" "); }
  append(...kids) { this.children.push(...kids); }
  setAttribute(k, v) { this.attrs[k] = v; }
  addEventListener(name, fn) { this.listeners[name] = fn; }
  find(cls) { if (this.classList.has(cls)) return this;
              for (const k of this.children) { const f = k.find && k.find(cls); if (f) return f; } return null; }
}
function makeDoc(config, cookie) {
  return {
    cookie,
    getElementById: (id) => (id === "jupyter-config-data" && config ? { textContent: JSON.stringify(config) } : null),
    createElement: (tag) => new El(tag),
    createTextNode: (t) => ({ text: t }),
  };
}
function makeModel(traits) {
  const handlers = {}; const sent = []; let saves = 0;
  return {
    sent, get saves() { return saves; },
    get: (k) => traits[k],
    set: (k, v) => { const old = traits[k]; traits[k] = v; if (old !== v) (handlers["change:" + k] || []).forEach((f) => f()); },
    on: (name, fn) => { (handlers[name] = handlers[name] || []).push(fn); },
    off: (name, fn) => { handlers[name] = (handlers[name] || []).filter((f) => f !== fn); },
    send: (msg) => sent.push(msg),
    save_changes: () => { saves += 1; },
  };
}
const results = {};
const calls = [];
const okFetch = async (url, opts) => { calls.push({ url, opts }); return { ok: true, status: 204 }; };
const config = { baseUrl: "/lab-base/", token: "secret" };

// Background: a message to the kernel, no interrupt.
globalThis.document = makeDoc(config, "_xsrf=2|abc; other=1");
globalThis.fetch = okFetch;
let model = makeModel({ mode: "background", running: true, kernel_id: "k1", run_id: "bg", epoch: 1,
                        stop_after_epoch: false, message: "" });
await requestStop(model, "button");
results.background = { sent: model.sent, fetches: calls.length, message: model.get("message") };

// Foreground: the interrupt, authenticated; a second click does nothing more.
model = makeModel({ mode: "foreground", running: true, kernel_id: "k-2", run_id: "fg", epoch: 1,
                    stop_after_epoch: false, message: "" });
await requestStop(model, "button");
await requestStop(model, "button");
results.foreground = { sent: model.sent, calls: calls.slice(), message: model.get("message") };

// No Jupyter server page (VS Code, Colab): the fallback text, and the button works again.
calls.length = 0;
globalThis.document = makeDoc(null, "");
model = makeModel({ mode: "foreground", running: true, kernel_id: "k3", run_id: "nopage", epoch: 1,
                    stop_after_epoch: false, message: "" });
const ok = await requestStop(model, "button");
results.nopage = { ok, calls: calls.length, message: model.get("message"), sent: model.sent.length };

// A server that refuses (e.g. unknown kernel): the fallback text too.
globalThis.document = makeDoc(config, "");
globalThis.fetch = async () => ({ ok: false, status: 404 });
model = makeModel({ mode: "foreground", running: true, kernel_id: "gone", run_id: "404", epoch: 1,
                    stop_after_epoch: false, message: "" });
results.refused = { ok: await requestStop(model, "button"), message: model.get("message") };

// Stop after this epoch (foreground): the interrupt when the next epoch starts, not at the first one.
globalThis.fetch = okFetch;
calls.length = 0;
model = makeModel({ mode: "foreground", running: true, kernel_id: "k4", run_id: "epoch", epoch: 0,
                    stop_after_epoch: true, message: "" });
const cleanup = mod.initialize({ model });
model.set("epoch", 1);
const afterFirst = calls.length;
model.set("epoch", 2);
await new Promise((r) => setTimeout(r, 0));
results.epoch = { afterFirst, calls: calls.length, sent: model.sent };
cleanup();

// The rendered view: button and box with their classes; a click stops; the box saves its trait.
calls.length = 0;
globalThis.document = makeDoc(config, "");
model = makeModel({ mode: "foreground", running: true, kernel_id: "k5", run_id: "view", epoch: 1,
                    stop_after_epoch: false, message: "" });
const el = new El("div"); el.ownerDocument = globalThis.document;
const dispose = mod.render({ model, el });
const button = el.find("jdl-stop"), box = el.find("jdl-stop-after-epoch");
const before = { disabled: button.disabled, control: el.classList.has("jdl-stop-control") };
box.checked = true; box.listeners.change();
await button.listeners.click();
const afterClick = { disabled: button.disabled, calls: calls.length, saves: model.saves,
                     stopAfter: model.get("stop_after_epoch"), message: el.find("jdl-stop-message").textContent };
model.set("running", false);
results.view = { before, afterClick, disabledAtEnd: button.disabled && box.disabled };
dispose();
results.config = pageConfig(makeDoc({ baseUrl: "/" }, ""));
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_harness(tmp_path_factory, HARNESS, JS, "the Stop control's front end")


def test_background_click_is_a_message_to_the_kernel(results):
    bg = results["background"]
    assert bg["sent"] == [{"action": "stop", "why": "button", "via": "message"}]
    assert bg["fetches"] == 0 and "Stopping" in bg["message"]


def test_foreground_click_interrupts_the_kernel_through_the_server(results):
    fg = results["foreground"]
    assert len(fg["calls"]) == 1                              # clicked twice, interrupted once
    call = fg["calls"][0]
    assert call["url"] == "/lab-base/api/kernels/k-2/interrupt"
    assert call["opts"]["method"] == "POST"
    assert call["opts"]["headers"] == {"Authorization": "token secret", "X-XSRFToken": "2|abc"}
    assert fg["sent"] == [{"action": "stop", "why": "button", "via": "interrupt"}]
    assert "Stop requested" in fg["message"]


def test_without_a_jupyter_server_it_says_to_use_the_kernel_interrupt(results):
    assert results["nopage"]["ok"] is False and results["nopage"]["calls"] == 0
    assert "kernel's interrupt" in results["nopage"]["message"]
    assert results["refused"]["ok"] is False and "kernel's interrupt" in results["refused"]["message"]


def test_stop_after_this_epoch_interrupts_when_the_next_epoch_starts(results):
    assert results["epoch"]["afterFirst"] == 0
    assert results["epoch"]["calls"] == 1
    assert results["epoch"]["sent"][0]["why"] == "epoch"


def test_rendered_control(results):
    view = results["view"]
    assert view["before"] == {"disabled": False, "control": True}
    after = view["afterClick"]
    assert after["disabled"] and after["calls"] == 1 and after["stopAfter"] is True and after["saves"] == 1
    assert "Stop requested" in after["message"]
    assert view["disabledAtEnd"]
    assert results["config"] == {"baseUrl": "/"}

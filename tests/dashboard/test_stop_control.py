"""The Stop control's front end (stop_control.js), run in Node against a fake page and widget model.

It checks what the browser does on a click: in the background a message to the kernel (on every page);
in the foreground also the kernel interrupt, by the page's means: POST api/kernels/<id>/interrupt with
the page's token and _xsrf cookie (JupyterLab 4, Notebook 7), ``Jupyter.notebook.kernel.interrupt()``
(classic Notebook 6), and where no page API exists (Colab, VS Code) the exact sentence of
``stop_hints.py`` for that front end. Colab's page is recognised by the ``google.colab`` global of its
output frames (``google.colab.kernel.invokeFunction``, ``google.colab.output``: colabtools issue #6,
Colab's "advanced outputs" notebook), VS Code's webview by ``acquireVsCodeApi`` or its ``vscode-*`` body
classes; the kernel's ``frontend`` trait says the same from the other side. Skipped where Node is not
installed.
"""
import json
from pathlib import Path

import pytest
from node_harness import run_harness

from jupyter_dl.dashboard.stop_hints import STOP_HINTS

JS = Path(__file__).resolve().parents[2] / "jupyter_dl" / "dashboard" / "stop_control.js"

HARNESS = r"""
import mod, { pageConfig, pageKind, requestStop } from %(module)s;

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
function makeDoc(config, cookie, bodyClasses = []) {
  return {
    cookie, body: { classList: { contains: (c) => bodyClasses.includes(c) } },
    getElementById: (id) => (id === "jupyter-config-data" && config ? { textContent: JSON.stringify(config) } : null),
    createElement: (tag) => new El(tag),
    createTextNode: (t) => ({ text: t }),
  };
}
const HINTS = __HINTS__;
function makeModel(traits) {
  traits = { hints: HINTS, frontend: "", ...traits };
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

// A page without a Jupyter server config: classic Notebook 6, Colab, VS Code.
function fg(id, traits = {}) {
  return makeModel({ mode: "foreground", running: true, kernel_id: "k-" + id, run_id: id, epoch: 1,
                     stop_after_epoch: false, message: "", ...traits });
}
function clearPage() { delete globalThis.Jupyter; delete globalThis.google; delete globalThis.acquireVsCodeApi; }
calls.length = 0;
globalThis.fetch = okFetch;

// Classic Notebook 6: no #jupyter-config-data; the page's own kernel interrupt.
globalThis.document = makeDoc(null, "");
const classicCalls = [];
globalThis.Jupyter = { notebook: { kernel: { interrupt: (ok, fail) => { classicCalls.push("interrupt"); ok({}, "nocontent"); } } } };
model = fg("nb6");
results.classic = { kind: pageKind(model), ok: await requestStop(model, "button"), classicCalls: classicCalls.slice(),
                    fetches: calls.length, sent: model.sent, message: model.get("message") };
// ... its interrupt refused: the kernel-interrupt sentence, and the button works again.
globalThis.Jupyter = { notebook: { kernel: { interrupt: (ok, fail) => fail({ status: 500 }, "error", "Server Error") } } };
model = fg("nb6-refused");
results.classicRefused = { ok: await requestStop(model, "button"), message: model.get("message") };
// ... Colab's stand-in google.colab module on the kernel side does not hide the page's own API.
globalThis.Jupyter = { notebook: { kernel: { interrupt: (ok) => { classicCalls.push("again"); ok(); } } } };
model = fg("nb6-colab-kernel", { frontend: "colab" });
results.classicWins = { kind: pageKind(model), ok: await requestStop(model, "button") };
clearPage();

// Colab: its output frames have a google.colab global; no page API interrupts the kernel.
globalThis.google = { colab: { kernel: { invokeFunction: async () => ({}) }, output: { setIframeHeight: () => {} } } };
model = fg("colab");
results.colab = { kind: pageKind(model), ok: await requestStop(model, "button"), message: model.get("message"),
                  sent: model.sent.length, fetches: calls.length };
results.colabAgain = { ok: await requestStop(model, "button"), message: model.get("message") };  // not "requested"
clearPage();
// ... and when only the kernel knows (frontend() == "colab").
model = fg("colab-kernel", { frontend: "colab" });
results.colabKernel = { kind: pageKind(model), message: (await requestStop(model, "button"), model.get("message")) };

// VS Code: its webview has acquireVsCodeApi (and vscode-* classes on the body).
globalThis.acquireVsCodeApi = () => ({ postMessage: () => {} });
model = fg("vscode");
results.vscode = { kind: pageKind(model), ok: await requestStop(model, "button"), message: model.get("message"),
                   fetches: calls.length };
clearPage();
globalThis.document = makeDoc(null, "", ["vscode-dark"]);
results.vscodeBody = pageKind(fg("vscode-body"));
globalThis.document = makeDoc(null, "");
results.vscodeKernel = pageKind(fg("vscode-kernel", { frontend: "vscode" }));
results.unknown = { kind: pageKind(fg("unknown")) };
model = fg("unknown2");
await requestStop(model, "button");
results.unknown.message = model.get("message");

// A JupyterLab page wins over what the kernel says (e.g. a Colab stand-in module in CI).
globalThis.document = makeDoc(config, "");
model = fg("lab-colab-kernel", { frontend: "colab" });
results.serverWins = { kind: pageKind(model), ok: await requestStop(model, "button"), fetches: calls.length };

// The rendered control on Colab: foreground button says how to stop there, the box is off;
// in the background the button is an ordinary message and works.
globalThis.document = makeDoc(null, "");
globalThis.google = { colab: { output: {} } };
function renderIn(traits) {
  const m = makeModel({ running: true, kernel_id: "k", epoch: 1, stop_after_epoch: false, message: "", ...traits });
  const e = new El("div"); e.ownerDocument = globalThis.document;
  mod.render({ model: m, el: e });
  return { m, e, button: e.find("jdl-stop"), box: e.find("jdl-stop-after-epoch"), label: e.find("jdl-stop-after") };
}
let r = renderIn({ mode: "foreground", run_id: "colab-view" });
await r.button.listeners.click();
results.colabView = { page: r.e.dataset.page, title: r.button.title, boxDisabled: r.box.disabled,
                      buttonDisabled: r.button.disabled, message: r.e.find("jdl-stop-message").textContent,
                      sent: r.m.sent.length };
r = renderIn({ mode: "background", run_id: "colab-bg" });
await r.button.listeners.click();
results.colabBackground = { boxDisabled: r.box.disabled, sent: r.m.sent, buttonDisabled: r.button.disabled };
clearPage();
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    harness = HARNESS.replace("__HINTS__", json.dumps(STOP_HINTS))
    return run_harness(tmp_path_factory, harness, JS, "the Stop control's front end")


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


def test_without_a_page_api_it_says_how_to_interrupt(results):
    assert results["nopage"]["ok"] is False and results["nopage"]["calls"] == 0
    assert results["nopage"]["message"] == STOP_HINTS["jupyter"]
    assert results["nopage"]["sent"] == 0                     # nothing was stopped: the kernel hears nothing
    assert results["refused"]["ok"] is False and results["refused"]["message"] == STOP_HINTS["jupyter"]


def test_classic_notebook_6_interrupts_through_its_page(results):
    nb6 = results["classic"]
    assert nb6["kind"] == "classic" and nb6["ok"] is True
    assert nb6["classicCalls"] == ["interrupt"] and nb6["fetches"] == 0
    assert nb6["sent"] == [{"action": "stop", "why": "button", "via": "interrupt"}]
    assert "Stop requested" in nb6["message"]
    assert results["classicRefused"] == {"ok": False, "message": STOP_HINTS["jupyter"]}
    assert results["classicWins"] == {"kind": "classic", "ok": True}    # the page's API beats the kernel's word


def test_colab_says_which_menu_item_and_keys_interrupt(results):
    colab = results["colab"]
    assert colab["kind"] == "colab" and colab["ok"] is False
    assert colab["message"] == STOP_HINTS["colab"]
    assert "Runtime > Interrupt execution" in colab["message"] and "Ctrl+M I" in colab["message"]
    assert "\u2318+M I" in colab["message"]
    assert colab["sent"] == 0 and colab["fetches"] == 0
    assert results["colabAgain"] == {"ok": False, "message": STOP_HINTS["colab"]}   # clicking again says it again
    assert results["colabKernel"] == {"kind": "colab", "message": STOP_HINTS["colab"]}
    view = results["colabView"]
    assert view["page"] == "colab" and view["title"] == STOP_HINTS["colab"]
    assert view["message"] == STOP_HINTS["colab"] and view["sent"] == 0
    assert view["boxDisabled"] is True and view["buttonDisabled"] is False
    background = results["colabBackground"]                   # --background: a widget message, works in Colab
    assert background["sent"] == [{"action": "stop", "why": "button", "via": "message"}]
    assert background["boxDisabled"] is False and background["buttonDisabled"] is True


def test_vscode_says_where_its_interrupt_button_is(results):
    vscode = results["vscode"]
    assert vscode == {"kind": "vscode", "ok": False, "message": STOP_HINTS["vscode"], "fetches": 0}
    assert "Interrupt" in vscode["message"] and "top of the notebook" in vscode["message"]
    assert results["vscodeBody"] == "vscode" and results["vscodeKernel"] == "vscode"


def test_an_unknown_page_gets_the_kernel_interrupt_sentence(results):
    assert results["unknown"] == {"kind": "", "message": STOP_HINTS["jupyter"]}


def test_a_jupyter_server_page_wins_over_the_kernels_word(results):
    assert results["serverWins"] == {"kind": "server", "ok": True, "fetches": 1}


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

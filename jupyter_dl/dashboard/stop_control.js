// jupyter_dl's Stop control (an anywidget ESM module; see stop_control.py).
//
// A Stop button and a "stop after this epoch" box for a training run.
// - background runs (the kernel is idle): a click sends {action: "stop"} to the
//   kernel, which asks the Trainer to stop at the next batch boundary. This
//   works wherever the widget renders.
// - foreground runs (the cell is busy, so messages from the page reach the
//   kernel only when the cell ends): a click interrupts the kernel from the
//   page, and the Trainer turns that SIGINT into a clean stop at the next batch
//   boundary. How depends on the page (pageKind):
//     "server":  JupyterLab 4, Notebook 7: POST api/kernels/<id>/interrupt on the
//                Jupyter server named by #jupyter-config-data (token, _xsrf cookie);
//     "classic": classic Notebook 6 (nbclassic): the page's own
//                Jupyter.notebook.kernel.interrupt();
//     "colab", "vscode": no page API interrupts the kernel there; the button
//                says which menu item or key does (the `hints` trait, from
//                stop_hints.py). The page's own markers (a `google.colab`
//                global in Colab's output frames; `acquireVsCodeApi` or the
//                vscode-* body classes in VS Code's webview) and what the
//                kernel knows (the `frontend` trait) are both used.
//   "Stop after this epoch" watches the `epoch` trait (kernel -> page updates
//   do arrive while the cell is busy) and interrupts when a new epoch starts.
// The kernel gets {action: "stop"} whenever the page could interrupt it (in the
// foreground it arrives after the cell, and tells the final status that the
// Stop button ended the run).

const GENERIC_HINT = "To stop: interrupt the kernel (\u25A0 in the toolbar). Training stops at the next batch.";

/** Per-run state shared by every view of one run (a page may show a run twice). */
function runState(model) {
  const store = (globalThis.__jdlStopControl = globalThis.__jdlStopControl || new Map());
  const id = model.get("run_id") || "";
  if (!store.has(id)) store.set(id, { requested: false });
  return store.get(id);
}

/** The Jupyter server page configuration (JupyterLab, Notebook 7), or null. */
export function pageConfig(doc = globalThis.document) {
  try {
    const el = doc && doc.getElementById("jupyter-config-data");
    return el ? JSON.parse(el.textContent || "{}") : null;
  } catch (err) {
    return null;
  }
}

function cookie(name, doc = globalThis.document) {
  const all = (doc && doc.cookie) || "";
  for (const part of all.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

/** POST api/kernels/<id>/interrupt on the page's Jupyter server; throws when that is not possible. */
export async function interruptKernel(kernelId, { doc = globalThis.document, fetchFn = globalThis.fetch } = {}) {
  const config = pageConfig(doc);
  if (!config || !kernelId || typeof fetchFn !== "function") {
    throw new Error("no Jupyter server page or kernel id");
  }
  let base = config.baseUrl || "/";
  if (!base.endsWith("/")) base += "/";
  const headers = {};
  if (config.token) headers["Authorization"] = `token ${config.token}`;
  const xsrf = cookie("_xsrf", doc);
  if (xsrf) headers["X-XSRFToken"] = xsrf;
  const url = `${base}api/kernels/${encodeURIComponent(kernelId)}/interrupt`;
  const response = await fetchFn(url, { method: "POST", headers, credentials: "same-origin" });
  if (!response || !response.ok) {
    throw new Error(`interrupt request failed: ${response ? response.status : "no response"}`);
  }
  return url;
}

/** classic Notebook 6's kernel object (it has interrupt(success, error)), or null. */
export function classicKernel(win = globalThis) {
  try {
    const kernel = win.Jupyter && win.Jupyter.notebook && win.Jupyter.notebook.kernel;
    return kernel && typeof kernel.interrupt === "function" ? kernel : null;
  } catch (err) {
    return null;
  }
}

/** Interrupt through classic Notebook 6's page API; resolves when the server accepted it. */
export function interruptClassic(win = globalThis) {
  const kernel = classicKernel(win);
  if (!kernel) return Promise.reject(new Error("no classic Notebook kernel on this page"));
  return new Promise((resolve, reject) => {
    try {
      kernel.interrupt(
        () => resolve("classic"),
        (xhr, status, err) => reject(new Error(`interrupt request failed: ${status || err || "error"}`)),
      );
    } catch (err) {
      reject(err);
    }
  });
}

function isColabPage(win) {
  try {
    return !!(win.google && win.google.colab);
  } catch (err) {
    return false;
  }
}

function isVsCodePage(win, doc) {
  try {
    if (typeof win.acquireVsCodeApi === "function") return true;
    const body = doc && doc.body;
    const classes = body && body.classList;
    return !!classes && ["vscode-light", "vscode-dark", "vscode-high-contrast"].some((c) => classes.contains(c));
  } catch (err) {
    return false;
  }
}

/** Where this output is shown: "server", "classic" (both can interrupt), "colab", "vscode" or "" (unknown). */
export function pageKind(model, { doc = globalThis.document, win = globalThis } = {}) {
  if (pageConfig(doc)) return "server";
  if (classicKernel(win)) return "classic";
  if (isColabPage(win)) return "colab";
  if (isVsCodePage(win, doc)) return "vscode";
  const said = (model && model.get("frontend")) || "";
  return said === "colab" || said === "vscode" ? said : "";
}

/** The sentence that says how to interrupt where the page cannot (Colab, VS Code, elsewhere). */
export function stopHint(model, kind) {
  const hints = (model && model.get("hints")) || {};
  return hints[kind] || hints.jupyter || GENERIC_HINT;
}

function say(model, text) {
  model.set("message", text); // page-only: not saved back to the kernel
}

/** Stop the run once: a message to the kernel, and in the foreground the kernel interrupt. */
export async function requestStop(model, why = "button", env = {}) {
  const state = runState(model);
  if (state.requested || !model.get("running")) return false;
  const foreground = model.get("mode") === "foreground";
  const kind = foreground ? pageKind(model, env) : "";
  if (foreground && kind !== "server" && kind !== "classic") {
    say(model, stopHint(model, kind || "jupyter")); // nothing on this page interrupts the kernel
    return false;
  }
  state.requested = true;
  try {
    model.send({ action: "stop", why, via: foreground ? "interrupt" : "message" });
  } catch (err) {
    /* the kernel may be gone; the interrupt below still applies */
  }
  if (!foreground) {
    say(model, "Stopping at the next batch\u2026");
    return true;
  }
  say(model, "Stopping: interrupting the kernel\u2026");
  try {
    if (kind === "server") await interruptKernel(model.get("kernel_id"), env);
    else await interruptClassic(env.win || globalThis);
    say(model, "Stop requested: the run ends at the next batch.");
    return true;
  } catch (err) {
    state.requested = false;
    say(model, stopHint(model, "jupyter"));
    if (globalThis.console) console.warn("jupyter_dl: could not interrupt the kernel:", err);
    return false;
  }
}

function initialize({ model }) {
  // Once per run (not per view): "stop after this epoch" in the foreground.
  let last = model.get("epoch");
  const onEpoch = () => {
    const epoch = model.get("epoch");
    const previous = last;
    last = epoch;
    if (epoch > previous && previous >= 1 && model.get("stop_after_epoch")
        && model.get("mode") === "foreground" && model.get("running")) {
      requestStop(model, "epoch");
    }
  };
  model.on("change:epoch", onEpoch);
  return () => model.off("change:epoch", onEpoch);
}

function render({ model, el }) {
  const doc = el.ownerDocument || globalThis.document;
  el.classList.add("jdl-stop-control");

  const button = doc.createElement("button");
  button.type = "button";
  button.className = "jdl-stop jupyter-button";
  button.textContent = "\u25A0 Stop";

  const label = doc.createElement("label");
  label.className = "jdl-stop-after";
  const box = doc.createElement("input");
  box.type = "checkbox";
  box.className = "jdl-stop-after-epoch";
  label.append(box, doc.createTextNode(" stop after this epoch"));

  const message = doc.createElement("div");
  message.className = "jdl-stop-message";
  message.setAttribute("role", "status");
  message.setAttribute("aria-live", "polite");

  const row = doc.createElement("div");
  row.className = "jdl-stop-row";
  row.append(button, label);
  el.append(row, message);

  // In the foreground only a page that can interrupt the kernel can stop the run from here.
  const env = { doc, win: doc.defaultView || globalThis };
  const sync = () => {
    const running = !!model.get("running");
    const requested = runState(model).requested;
    const kind = pageKind(model, env);
    const page = { kind, ok: model.get("mode") !== "foreground" || kind === "server" || kind === "classic" };
    button.disabled = !running || requested;
    button.title = page.ok ? "Stop training at the next batch (the best weights are kept)"
      : stopHint(model, page.kind || "jupyter");
    box.disabled = !running || !page.ok;
    label.title = page.ok ? "Let the current epoch finish, then stop"
      : "Not available here while the cell runs: train with --background to use it";
    box.checked = !!model.get("stop_after_epoch");
    message.textContent = model.get("message") || "";
    el.dataset.running = running ? "true" : "false";
    el.dataset.mode = model.get("mode") || "";
    el.dataset.page = page.kind;
  };
  button.addEventListener("click", () => requestStop(model, "button", env));
  box.addEventListener("change", () => {
    model.set("stop_after_epoch", box.checked);
    model.save_changes();
  });
  const events = ["change:running", "change:message", "change:stop_after_epoch", "change:mode", "change:frontend"];
  for (const name of events) model.on(name, sync);
  sync();
  return () => {
    for (const name of events) model.off(name, sync);
  };
}

export default { initialize, render };

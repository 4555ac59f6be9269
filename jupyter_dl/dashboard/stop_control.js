// jupyter_dl's Stop control (an anywidget ESM module; see stop_control.py).
//
// A Stop button and a "stop after this epoch" box for a training run.
// - background runs (the kernel is idle): a click sends {action: "stop"} to the
//   kernel, which asks the Trainer to stop at the next batch boundary.
// - foreground runs (the cell is busy, so messages from the page reach the
//   kernel only when the cell ends): a click interrupts the kernel through the
//   Jupyter server's REST API (POST api/kernels/<id>/interrupt). The Trainer
//   turns that SIGINT into a clean stop at the next batch boundary. Without a
//   Jupyter server page (VS Code, Colab, ...) it says to use the kernel's
//   interrupt. "Stop after this epoch" watches the `epoch` trait (kernel ->
//   page updates do arrive while the cell is busy) and interrupts when a new
//   epoch starts.
// The kernel gets {action: "stop"} in every mode (in the foreground it arrives
// after the cell, and tells the final status that the Stop button ended the run).

const FALLBACK = "Use the kernel's interrupt (\u25A0 in the toolbar) to stop.";

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

function say(model, text) {
  model.set("message", text); // page-only: not saved back to the kernel
}

/** Stop the run once: message to the kernel, and in the foreground the kernel interrupt. */
export async function requestStop(model, why = "button", env = {}) {
  const state = runState(model);
  if (state.requested || !model.get("running")) return false;
  state.requested = true;
  const foreground = model.get("mode") === "foreground";
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
    await interruptKernel(model.get("kernel_id"), env);
    say(model, "Stop requested: the run ends at the next batch.");
    return true;
  } catch (err) {
    state.requested = false;
    say(model, FALLBACK);
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
  button.title = "Stop training at the next batch (the best weights are kept)";

  const label = doc.createElement("label");
  label.className = "jdl-stop-after";
  label.title = "Let the current epoch finish, then stop";
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

  const sync = () => {
    const running = !!model.get("running");
    const requested = runState(model).requested;
    button.disabled = !running || requested;
    box.disabled = !running;
    box.checked = !!model.get("stop_after_epoch");
    message.textContent = model.get("message") || "";
    el.dataset.running = running ? "true" : "false";
    el.dataset.mode = model.get("mode") || "";
  };
  button.addEventListener("click", () => requestStop(model, "button"));
  box.addEventListener("change", () => {
    model.set("stop_after_epoch", box.checked);
    model.save_changes();
  });
  const events = ["change:running", "change:message", "change:stop_after_epoch", "change:mode"];
  for (const name of events) model.on(name, sync);
  sync();
  return () => {
    for (const name of events) model.off(name, sync);
  };
}

export default { initialize, render };

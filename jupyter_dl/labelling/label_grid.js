// jupyter_dl's labelling grid (an anywidget ESM module; see label_grid.py).
//
// Draws one page of thumbnails (the `images` trait) with captions and looks from the `cells` trait,
// and a cursor (the `cursor` trait, an item key). Keyboard first, while the grid has the focus:
// arrows move the cursor, a digit gives the cursor's image its class (the `key_map` trait: "1" the
// first class ... "9", or each class's own digit where the classes are the digits 0-9) and moves
// on, `a` accepts every suggestion left on the page, `x` skips the image, `u` undoes, Enter shows
// the next page. Each key becomes one message to the kernel ({action, key, label}); the label
// shows at once, before the kernel answers, so typing is never held up by the round trip.
//
// The keys must not reach the notebook's own shortcuts (JupyterLab 4.1+ binds digits, `a`, `x`...):
// the grid carries `data-lm-suppress-shortcuts` (Lumino skips shortcuts for events from inside it),
// handled keys stop propagating, and classic Notebook 6's keyboard manager is switched off while the
// grid has the focus.

const ACTION_KEYS = { a: "accept", x: "skip", u: "undo", Enter: "next" };

/** The index the cursor moves to for `key` in a grid of `n` cells, `columns` wide (-1: not a move). */
export function moveIndex(key, index, n, columns) {
  if (n === 0) return -1;
  const step = {
    ArrowLeft: -1,
    ArrowRight: 1,
    ArrowUp: -columns,
    ArrowDown: columns,
  }[key];
  if (step === undefined) return -1;
  const next = index + step;
  if (next < 0 || next >= n) return index;
  return next;
}

/** The first key after `from` (in page order, wrapping) whose cell is still open, else `from`. */
export function nextOpen(cells, from, isOpen) {
  const keys = cells.map((c) => c.key);
  const start = keys.indexOf(from);
  for (let i = 1; i <= keys.length; i++) {
    const key = keys[(start + i) % keys.length];
    if (isOpen(key)) return key;
  }
  return from;
}

/** What a keydown means: {action, label?} or null for a key the grid leaves alone. `keys`: [key, class] pairs. */
export function keyAction(event, keys) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (/^[0-9]$/.test(event.key)) {
    const found = keys.find(([key]) => key === event.key);
    return found ? { action: "label", label: found[1] } : { action: "none" };
  }
  const action = ACTION_KEYS[event.key];
  if (action) return { action };
  if (event.key.startsWith("Arrow")) return { action: "move" };
  return null;
}

function keyboardManager() {
  // Classic Notebook 6 (and Colab's classic-like page) handle shortcuts in this manager.
  const jupyter = globalThis.Jupyter;
  return jupyter && jupyter.keyboard_manager ? jupyter.keyboard_manager : null;
}

function render({ model, el }) {
  const doc = el.ownerDocument || globalThis.document;
  const root = doc.createElement("div");
  root.className = "jdl-label-grid";
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const hints = doc.createElement("div");
  hints.className = "jdl-label-keys";
  const grid = doc.createElement("div");
  grid.className = "jdl-grid";
  root.append(hints, grid);
  el.append(root);
  const pending = new Map(); // key -> class name typed, until the kernel's cells say so

  function cells() {
    return model.get("cells") || [];
  }
  function cellOf(key) {
    return cells().find((c) => c.key === key);
  }
  function isOpen(key) {
    const cell = cellOf(key);
    return !!cell && cell.open && !pending.has(key);
  }

  function drawHints() {
    const keys = model.get("key_map") || [];
    const named = keys.map(([key, name]) =>
      key === name ? name : `${key} ${name}`,
    );
    hints.textContent = [
      ...named,
      "a accept page",
      "x skip",
      "u undo",
      "Enter next page",
      "arrows move",
    ].join(" \u00b7 ");
  }

  function drawImages() {
    grid.replaceChildren();
    pending.clear();
    const images = model.get("images") || [];
    if (!images.length) {
      const empty = doc.createElement("div");
      empty.className = "jdl-grid-empty";
      empty.textContent = model.get("empty_text") || "Nothing left to label.";
      grid.append(empty);
      return;
    }
    grid.style.setProperty(
      "--jdl-thumb",
      (model.get("thumb_size") || 128) + "px",
    );
    for (const image of images) {
      const figure = doc.createElement("figure");
      figure.className = "jdl-cell";
      figure.dataset.key = String(image.key);
      const img = doc.createElement("img");
      img.className = "jdl-thumb";
      img.src = image.src;
      img.alt = image.title || "";
      img.draggable = false;
      figure.title = image.title || "";
      figure.append(img, doc.createElement("figcaption"));
      figure.addEventListener("click", () => {
        setCursor(image.key);
        root.focus({ preventScroll: true });
      });
      grid.append(figure);
    }
    drawCells();
  }

  function drawCells() {
    const cursor = model.get("cursor");
    for (const figure of grid.querySelectorAll(".jdl-cell")) {
      const key = Number(figure.dataset.key);
      const cell = cellOf(key) || { lines: [], kind: "" };
      const typed = pending.get(key);
      const lines =
        typed !== undefined ? [typed + " \u2713"] : cell.lines || [];
      const kind = typed !== undefined ? "labelled" : cell.kind;
      figure.className =
        "jdl-cell" +
        (kind ? " jdl-cell-" + kind : "") +
        (key === cursor ? " jdl-cell-cursor" : "");
      const caption = figure.querySelector("figcaption");
      caption.replaceChildren();
      for (const [i, line] of lines.entries()) {
        const div = doc.createElement("div");
        div.className = i === 0 ? "jdl-cell-label" : "jdl-cell-note";
        div.textContent = line;
        caption.append(div);
      }
    }
  }

  function setCursor(key) {
    model.set("cursor", key);
    model.save_changes();
    drawCells();
  }

  function columns() {
    const figures = [...grid.querySelectorAll(".jdl-cell")];
    if (!figures.length) return 1;
    const top = figures[0].offsetTop;
    const n = figures.filter((f) => f.offsetTop === top).length;
    return Math.max(1, n);
  }

  root.addEventListener("keydown", (event) => {
    const what = keyAction(event, model.get("key_map") || []);
    if (!what) return;
    event.preventDefault();
    event.stopPropagation();
    const list = cells();
    const cursor = model.get("cursor");
    if (what.action === "move") {
      const keys = list.map((c) => c.key);
      const index = moveIndex(
        event.key,
        keys.indexOf(cursor),
        keys.length,
        columns(),
      );
      if (index >= 0) setCursor(keys[index]);
      return;
    }
    if (what.action === "none") return;
    if (what.action === "label" || what.action === "skip") {
      if (!cellOf(cursor)) return;
      if (what.action === "label") pending.set(cursor, what.label);
      model.send({ action: what.action, key: cursor, label: what.label || "" });
      const next = nextOpen(
        list,
        cursor,
        (key) => isOpen(key) && key !== cursor,
      );
      setCursor(next);
      return;
    }
    model.send({ action: what.action });
  });

  const manager = keyboardManager;
  root.addEventListener("focus", () => {
    const km = manager();
    if (km) km.disable();
  });
  root.addEventListener("blur", () => {
    const km = manager();
    if (km) km.enable();
  });

  model.on("change:images", drawImages);
  model.on("change:cells", () => {
    // The kernel's answer: its captions replace what was typed ahead, once they say the same.
    for (const [key, label] of [...pending]) {
      const cell = cellOf(key);
      if (!cell || !cell.open || cell.label === label) pending.delete(key);
    }
    drawCells();
  });
  model.on("change:cursor", drawCells);
  model.on("change:key_map", drawHints);
  drawHints();
  drawImages();
  if (model.get("autofocus")) root.focus({ preventScroll: true });
  return () => {
    const km = manager();
    if (km && doc.activeElement === root) km.enable();
  };
}

export default { render };

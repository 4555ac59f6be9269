// jupyter_dl's thumbnail grid (an anywidget ESM module; see browser_grid.py).
//
// Draws one page of cells from the `cells` trait: a thumbnail (a data: URI), a
// selection box and a few caption lines. The selection is the `selected` trait
// (item keys, for every page): ticking a box changes it, and the kernel sees the
// change. A click on a thumbnail sends {action: "open", key} so the kernel shows
// the large view; Shift+click on a box selects the whole range from the last box.

function cellElement(doc, cell, isSelected, opened) {
  const figure = doc.createElement("figure");
  figure.className = "jdl-cell" + (cell.kind ? " jdl-cell-" + cell.kind : "") +
    (isSelected ? " jdl-cell-selected" : "") + (cell.key === opened ? " jdl-cell-open" : "");
  figure.dataset.key = String(cell.key);
  figure.title = cell.title || "";

  const img = doc.createElement("img");
  img.className = "jdl-thumb";
  img.src = cell.src;
  img.alt = cell.title || "";
  img.draggable = false;
  figure.append(img);

  const box = doc.createElement("input");
  box.type = "checkbox";
  box.className = "jdl-select";
  box.checked = isSelected;
  box.title = "select";
  figure.append(box);

  const caption = doc.createElement("figcaption");
  for (const [i, line] of (cell.lines || []).entries()) {
    const div = doc.createElement("div");
    div.className = i === 0 ? "jdl-cell-label" : "jdl-cell-note";
    div.textContent = line;
    caption.append(div);
  }
  figure.append(caption);

  // A likely mislabelled item: one click gives it the suggested label (the kernel relabels; Undo as usual).
  let accept = null;
  if (cell.action) {
    accept = doc.createElement("button");
    accept.className = "jdl-cell-accept";
    accept.textContent = cell.action;
    accept.title = cell.action_title || cell.action;
    caption.append(accept);
  }
  return { figure, img, box, accept };
}

/** The keys from `fromKey` to `toKey` (inclusive) in the order of `cells`. */
export function keyRange(cells, fromKey, toKey) {
  const keys = cells.map((c) => c.key);
  const a = keys.indexOf(fromKey);
  const b = keys.indexOf(toKey);
  if (a < 0 || b < 0) return [toKey];
  return keys.slice(Math.min(a, b), Math.max(a, b) + 1);
}

/** `selected` with `keys` added (on) or removed (off), order kept, no repeats. */
export function withKeys(selected, keys, on) {
  const set = new Set(selected);
  for (const k of keys) {
    if (on) set.add(k);
    else set.delete(k);
  }
  return [...set];
}

function render({ model, el }) {
  const doc = el.ownerDocument || globalThis.document;
  const root = doc.createElement("div");
  root.className = "jdl-grid";
  el.append(root);
  let lastClicked = null;

  function setSelected(keys, on) {
    model.set("selected", withKeys(model.get("selected") || [], keys, on));
    model.save_changes();
  }

  function draw() {
    const cells = model.get("cells") || [];
    const selected = new Set(model.get("selected") || []);
    const opened = model.get("opened");
    root.style.setProperty("--jdl-thumb", (model.get("thumb_size") || 128) + "px");
    root.replaceChildren();
    if (!cells.length) {
      const empty = doc.createElement("div");
      empty.className = "jdl-grid-empty";
      empty.textContent = model.get("empty_text") || "No images match these filters.";
      root.append(empty);
      return;
    }
    for (const cell of cells) {
      const { figure, img, box, accept } = cellElement(doc, cell, selected.has(cell.key), opened);
      img.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey) {
          setSelected([cell.key], !new Set(model.get("selected") || []).has(cell.key));
          lastClicked = cell.key;
          return;
        }
        model.send({ action: "open", key: cell.key });
      });
      box.addEventListener("click", (event) => {
        const keys = event.shiftKey && lastClicked !== null ? keyRange(cells, lastClicked, cell.key) : [cell.key];
        setSelected(keys, box.checked);
        lastClicked = cell.key;
      });
      if (accept) {
        accept.addEventListener("click", () => {
          accept.disabled = true; // one change per click, even if the page is slow to redraw
          model.send({ action: "accept", key: cell.key });
        });
      }
      root.append(figure);
    }
  }

  function restyle() {
    // Only the selection or the opened cell changed: update classes and boxes, keep the images.
    const selected = new Set(model.get("selected") || []);
    const opened = model.get("opened");
    for (const figure of root.querySelectorAll(".jdl-cell")) {
      const key = Number(figure.dataset.key);
      figure.classList.toggle("jdl-cell-selected", selected.has(key));
      figure.classList.toggle("jdl-cell-open", key === opened);
      const box = figure.querySelector(".jdl-select");
      if (box) box.checked = selected.has(key);
    }
  }

  model.on("change:cells", draw);
  model.on("change:thumb_size", draw);
  model.on("change:empty_text", draw);
  model.on("change:selected", restyle);
  model.on("change:opened", restyle);
  draw();
  return () => {
    model.off("change:cells", draw);
    model.off("change:thumb_size", draw);
    model.off("change:empty_text", draw);
    model.off("change:selected", restyle);
    model.off("change:opened", restyle);
  };
}

export default { render };

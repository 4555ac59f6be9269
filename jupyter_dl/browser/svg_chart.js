// jupyter_dl's SVG chart (an anywidget ESM module; see svg_chart.py).
//
// Shows the `svg` trait (the class bars or the confusion matrix, drawn in the kernel) and
// sends {action: "click", x, y} when a part of it with a data-x attribute is clicked: a bar
// (x: its class) or a matrix cell (x: predicted, y: actual). Works where plotly's own widget
// does not render (plotly 5, e.g. Colab's pinned stack).

/** The clickable part of the chart that `target` is in, or null. */
export function clickedPart(target, root) {
  let node = target;
  while (node && node !== root) {
    if (node.getAttribute && node.getAttribute("data-x") !== null) return node;
    node = node.parentNode;
  }
  return null;
}

function render({ model, el }) {
  const doc = el.ownerDocument || globalThis.document;
  const root = doc.createElement("div");
  root.className = "jdl-plot";
  el.append(root);

  function draw() {
    root.innerHTML = model.get("svg") || "";
  }

  function onClick(event) {
    const part = clickedPart(event.target, root);
    if (!part) return;
    model.send({ action: "click", x: part.getAttribute("data-x"), y: part.getAttribute("data-y") });
  }

  root.addEventListener("click", onClick);
  model.on("change:svg", draw);
  draw();
  return () => {
    model.off("change:svg", draw);
    root.removeEventListener("click", onClick);
  };
}

export default { render };

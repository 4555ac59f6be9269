// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) subclasses at import.
if (typeof window !== 'undefined' && typeof window.DragEvent === 'undefined') {
  window.DragEvent = class DragEvent extends window.MouseEvent {};
}

"""``%label``: label a pool of images fast with a model in the loop, and find labels that are wrong.

See docs/label.md. One module per job:

- :mod:`.api`: :func:`label`, what ``%label`` calls;
- :mod:`.session`: :class:`LabelSession`, a labelling session without any widget (pages, suggestions,
  labels written safely, undo); :mod:`.widget`: :class:`Labeller`, its live view, with the keyboard
  grid :mod:`.label_grid` (+ ``label_grid.js``), the words in :mod:`.views` and the chart :mod:`.chart`;
- :mod:`.retrain`: the background fine-tune every N labels whose predictions take over (:class:`Retrainer`);
- :mod:`.embeddings`: every image embedded once with a pretrained body, cached by file fingerprint
  (:func:`embed`, :func:`embed_files`, :class:`Embeddings`);
- :mod:`.suggestions`: a suggested class and confidence for every unlabelled image from the labels so far,
  and the order to show them in (:func:`suggest`, :class:`Suggestions`; a spread of the data before
  any label);
- :mod:`.linear`: the small linear head (softmax regression) both use (:func:`fit_linear_head`);
- :mod:`.issues`: :func:`find_label_issues`, the labels most likely wrong (out-of-fold predictions);
- :mod:`.oof_finetune`: those predictions from one fine-tune per fold (``method="finetune"``).

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "label": "api", "LabelSession": "session", "Labeller": "widget", "Retrainer": "retrain",
    "Embeddings": "embeddings", "embed": "embeddings", "embed_files": "embeddings",
    "Suggestions": "suggestions", "suggest": "suggestions", "spread_order": "suggestions",
    "LinearHead": "linear", "fit_linear_head": "linear",
    "LabelIssue": "issues", "find_label_issues": "issues",
})

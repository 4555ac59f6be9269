"""``%label``: label a pool of images fast with a model in the loop, and find labels that are wrong.

This first slice is the engine, with no widget yet (docs/label.md):

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
    "Embeddings": "embeddings", "embed": "embeddings", "embed_files": "embeddings",
    "Suggestions": "suggestions", "suggest": "suggestions", "spread_order": "suggestions",
    "LinearHead": "linear", "fit_linear_head": "linear",
    "LabelIssue": "issues", "find_label_issues": "issues",
})

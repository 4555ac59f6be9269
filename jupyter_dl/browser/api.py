"""The Python API behind ``%browse``: :func:`browse`.

``%browse data/pets --class cat --page-size 24`` is exactly
``browse("data/pets", label="cat", page_size=24, namespace=<the notebook's variables>)``.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

from ..errors import UserInputError
from .interpretation import is_learner


def _learner_in(target: Any, namespace: dict | None) -> Any | None:
    """The learner ``target`` is or names ("learn", "runs.best"), else None (then it is data)."""
    if is_learner(target):
        return target
    if not isinstance(target, str) or namespace is None or os.path.exists(os.path.expanduser(target)):
        return None
    from ..data.sources import lookup_name

    found, value = lookup_name(target, namespace)
    return value if found and is_learner(value) else None


def browse(target: Any, *, namespace: dict | None = None, size: int = 128, page_size: int = 48,
           label: str | None = None, split: str = "all", label_col: str = "label", path_col: str = "path",
           label_re: str | None = None, valid_pct: float = 0.2, seed: int = 42, data: Any = None,
           show: bool = True):
    """Look at a data set (or a learner's mistakes), find what is broken or mislabelled, and fix it.

    ``target``: anything ``%finetune`` accepts as DATA (a folder, a CSV file, ``"sample"``, a
    DataFrame, a torch Dataset, fastai DataLoaders, or a variable's name with ``namespace``), or
    a learner (the one ``%finetune`` leaves, or a fastai ``Learner``): then the model's mistakes
    on the validation images, worst first, with the confusion matrix; with ``data`` (anything
    ``%finetune`` accepts), its mistakes on that test set instead (see
    :func:`~jupyter_dl.browser.evaluation.evaluate`: ``label_col``, ``path_col`` and ``label_re`` then
    describe ``data``).
    ``size``: thumbnail side in pixels (32..512); ``page_size``: thumbnails per page (1..500);
    ``label`` / ``split``: start filtered to one class / "train" or "valid".
    ``label_col``, ``path_col``, ``label_re``, ``valid_pct``, ``seed``: as for ``%finetune`` (same
    split). Returns the live :class:`~jupyter_dl.browser.widget.Browser` (``.selected``, ``.catalog``,
    ``.editor``, ``.interpretation``, ``.health``, ``.filter(...)``, ``.relabel(...)``,
    ``.remove(...)``, ``.undo()``, ``.close()``). Where widgets cannot show (terminal,
    nbconvert, ``JUPYTER_DL_WIDGETS=0``) it shows a static summary (with the health check
    run first) and returns a :class:`~jupyter_dl.browser.session.BrowseSession`, which has
    the same Python surface. Bad input raises :class:`~jupyter_dl.errors.UserInputError`.
    """
    from .session import BrowseSession, check_size
    from .state import SPLITS, check_page_size

    check_size(size)
    check_page_size(page_size)
    if split not in SPLITS:
        raise UserInputError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}.")
    learner = _learner_in(target, namespace)
    interpretation: Any = None
    if data is not None and learner is None:
        raise UserInputError("--data gives a test set to score a learner on: browse a learner with it "
                             "(e.g. %browse learn --data data/test), or browse the data itself (%browse data/test).")
    if learner is not None and data is not None:
        from .evaluation import evaluate

        interpretation = evaluate(learner, data, namespace=namespace, label_col=label_col, path_col=path_col,
                                  label_re=label_re)
        catalog = interpretation.catalog
    elif learner is not None:
        from .interpretation import interpret

        interpretation = interpret(learner, namespace=namespace)
        catalog = interpretation.catalog
    else:
        from ..data.catalog import build_catalog

        catalog = build_catalog(target, namespace=namespace, label_col=label_col, path_col=path_col,
                                label_re=label_re, valid_pct=valid_pct, seed=seed)
    options: dict[str, Any] = dict(interpretation=interpretation, size=size, page_size=page_size, label=label,
                                   split=split)
    from ..ui import frontend

    if frontend.widgets_available():
        try:
            from .widget import Browser

            return Browser(catalog, show=show, **options)
        except UserInputError:
            raise
        except Exception as exc:  # never fail for lack of widgets: the static summary says the same
            warnings.warn(f"jupyter_dl: the live browser is not available ({exc!r}); showing a static summary.",
                          stacklevel=2)
    session = BrowseSession(catalog, **options)
    session.check_health()
    if show:
        session.show()
    return session

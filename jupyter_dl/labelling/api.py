"""The Python API behind ``%label``: :func:`label`.

``%label data/pets --classes cat,dog --pool ~/new --retrain-every 100`` is exactly
``label("data/pets", classes="cat,dog", pool="~/new", retrain_every=100, namespace=<the notebook's variables>)``.
"""
from __future__ import annotations

import warnings
from typing import Any

from ..checks import check_count
from ..errors import UserInputError


def label(data: Any, *, classes: Any = None, pool: Any = None, namespace: dict | None = None, arch: Any = None,
          size: int | None = None, thumb_size: int = 128, page_size: int = 24, retrain_every: int = 50,
          epochs: int = 1, freeze_epochs: int = 1, train_size: int | None = None, strategy: str = "mixed",
          label_col: str = "label", path_col: str = "path", device: str = "auto", seed: int = 0,
          quiet: bool = False, show: bool = True):
    """Label a pool of images fast, with suggestions from a model that learns as you go.

    ``data``: a folder of class sub-folders (it may have none yet) whose unlabelled images are in
    ``DATA/unlabelled/`` (or ``pool``, any folder); or a CSV file or DataFrame of paths whose label
    column is empty for the images to label. ``classes``: names (a list or "a,b,c"); the class folders
    and labels already there count too, and more can be added from the widget.
    ``arch`` / ``size``: the pretrained body that embeds every image once (cached by file) for the
    suggestions (default: the offline EfficientNet-Lite0; size from the images); ``page_size``: images
    per page; ``thumb_size``: thumbnail side in pixels.
    ``retrain_every``: a background fine-tune every that many new labels (0: only with the "Fine-tune
    now" button), ``epochs`` / ``freeze_epochs`` / ``train_size`` its settings (``train_size``: its
    input size, default the embedding size); its predictions then replace the embedding suggestions.
    Returns the live :class:`~jupyter_dl.labelling.widget.Labeller` (``.label(key, cls)``,
    ``.accept()``, ``.skip(key)``, ``.undo()``, ``.add_class(name)``, ``.turn_page()``, ``.page``,
    ``.retrainer``, ``.close()``); where widgets cannot show, a
    :class:`~jupyter_dl.labelling.session.LabelSession` with the same methods and a printed summary.
    Bad input raises :class:`~jupyter_dl.errors.UserInputError` (one sentence).
    """
    from ..data.label_pool import open_pool
    from ..ui import frontend
    from .suggestions import STRATEGIES

    check_count("--page-size", page_size)
    check_count("--epochs", epochs)
    if retrain_every:
        check_count("--retrain-every", retrain_every)
    if strategy not in STRATEGIES:
        raise UserInputError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    labels = open_pool(data, classes=classes, pool=pool, namespace=namespace, label_col=label_col,
                       path_col=path_col)
    arch, embed_arch = _resolve_arch(arch, namespace)
    options: dict[str, Any] = dict(arch=embed_arch, size=size, page_size=page_size, strategy=strategy, seed=seed,
                                   device=device, namespace=namespace, quiet=quiet)
    retrain_options = dict(arch=arch, epochs=epochs, freeze_epochs=freeze_epochs, size=train_size, device=device,
                           seed=seed)
    if frontend.widgets_available():
        try:
            from .widget import Labeller

            return Labeller(labels, thumb_size=thumb_size, retrain_every=retrain_every,
                            retrain_options=retrain_options, show=show, **options)
        except UserInputError:
            raise
        except Exception as exc:  # never fail for lack of widgets: the session works the same from Python
            warnings.warn(f"jupyter_dl: the live labeller is not available ({exc!r}); use the returned "
                          "session's methods.", stacklevel=2)
    from .retrain import Retrainer
    from .session import LabelSession
    from .views import summary_text

    session = LabelSession(labels, **options)
    session.retrainer = Retrainer(session, every=retrain_every, **retrain_options)
    if show:
        print(summary_text(session))
    return session


def _resolve_arch(arch: Any, namespace: dict | None) -> tuple[Any, Any]:
    """``--arch`` as ``(for the background fine-tunes, for the embeddings)``.

    A notebook variable's name is resolved here, as ``%finetune ARCH`` resolves it, because the fine-tunes
    get no namespace: they get the nn.Module (or model name) it holds. The embeddings take the head off
    the model they are given, in place, so they get a copy of a user's nn.Module: the module keeps its
    head, and the fine-tunes train it (in place, as ``%finetune`` does).
    """
    import copy

    import torch.nn as nn

    if isinstance(arch, str) and namespace and isinstance(namespace.get(arch.strip()), (str, nn.Module)):
        arch = namespace[arch.strip()]
    if isinstance(arch, nn.Module):
        return arch, copy.deepcopy(arch)
    return arch, arch

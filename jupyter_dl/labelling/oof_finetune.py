"""Out-of-fold class probabilities from k fine-tunes: every image is predicted by a model that never trained on it.

``find_label_issues(..., method="finetune")`` uses this instead of linear heads on the embeddings. For each
of the k stratified folds a fresh model (the pretrained weights of a model name, or a copy of the user's
untrained nn.Module) is fine-tuned with ``%finetune``'s recipe on the other folds, then predicts the
held-out fold once.

- The folds are built with :func:`~jupyter_dl.finetuning.build.assemble_learner` and trained by the training
  core's recipe (:func:`jupyter_dl.train.recipe.fine_tune`), not by ``finetune()``: that one keeps a run
  folder (log, best model) for every run, and these k models are scaffolding, never kept or listed in
  ``%runs``; nor is any stored in a notebook variable. No live view either: one line per fold says where
  it is.
- No validation pass during training, and no "best epoch" restored: picking the epoch that scores best on
  the held-out labels would let the very labels under test steer the model that judges them.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn as nn

from ..errors import UserInputError


def fold_probabilities(items: Sequence[Any], labels: np.ndarray, classes: list[str], fold_of: np.ndarray, *,
                       arch: Any, size: int, epochs: int, freeze_epochs: int, lr: float | None = None, bs: int = 64,
                       device: str = "auto", seed: int = 0, weights: Any = None, namespace: dict | None = None,
                       description: str = "the data", quiet: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities, scored)``: N x C float32 class probabilities for ``items`` (CatalogItems with files;
    ``labels`` their class indices, ``fold_of`` their fold), each from the model of its fold, and which rows
    were predicted (an unreadable file is not)."""
    from ..data.source_types import ImageItems
    from ..finetuning.build import assemble_learner
    from ..train.recipe import DEFAULT_LR, fine_tune
    from ..ui.output import show_summary_text

    folds = int(fold_of.max()) + 1
    paths = [Path(item.path) for item in items]
    probabilities = np.zeros((len(items), len(classes)), dtype=np.float32)
    scored = np.zeros(len(items), dtype=bool)
    for fold in range(folds):
        held, rest = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        if not quiet:
            show_summary_text(f"fold {fold + 1}/{folds}: fine-tuning on {len(rest):,} images, "
                              f"then predicting the {len(held):,} it did not see")
        source = ImageItems(train=[(paths[i], int(labels[i])) for i in rest],
                            valid=[(paths[i], int(labels[i])) for i in held], classes=list(classes),
                            description=f"fold {fold + 1}/{folds} of {description}")
        learner = assemble_learner(source, model_for_fold(arch, namespace), size=size, bs=bs, device=device,
                                   seed=seed + fold, weights=weights, namespace=namespace, quiet=True)
        loaders = learner.loaders
        assert loaders is not None  # assemble_learner always builds them
        status = fine_tune(learner.trainer, loaders.train, None, learner.layer_groups(), epochs=epochs,
                           freeze_epochs=freeze_epochs, lr=lr if lr is not None else DEFAULT_LR, restore_best=False)
        if status != "finished":
            raise UserInputError(f"The fine-tune of fold {fold + 1}/{folds} was {status}: every fold is needed to "
                                 "score every image, so run find_label_issues again.")
        skipped = {str(path) for path, _ in loaders.skipped}
        predicted = [i for i in held if str(paths[i]) not in skipped]  # the valid loader's order
        if predicted:
            # The loader's classes are ``classes``, in that order: ImageItems was given them.
            probabilities[predicted] = learner.trainer.evaluate(loaders.valid)["preds"].numpy()
            scored[predicted] = True
    return probabilities, scored


def model_for_fold(arch: Any, namespace: dict | None) -> Any:
    """What one fold's build gets: a model name as it is (each build loads the pretrained weights afresh);
    an nn.Module, or a notebook variable holding one, as a deep copy, so that no fold starts from weights
    another fold trained (and the user's module is left untouched)."""
    if isinstance(arch, str) and isinstance((namespace or {}).get(arch.strip()), nn.Module):
        arch = (namespace or {})[arch.strip()]
    return copy.deepcopy(arch) if isinstance(arch, nn.Module) else arch

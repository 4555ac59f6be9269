"""``%finetune`` and ``%lr_find``: one line from a folder of images to a trained learner.

- :mod:`.api`: :func:`finetune`, :func:`lr_find` and :func:`build_learner`, the functions the magics call;
  :mod:`.build`: data and model -> a learner ready to train (nothing stored);
- :mod:`.learner`: the :class:`Learner` a run leaves (predict, fit, fine_tune, lr_find, stop, wait);
  :mod:`.session`: what watches one run and what its end leaves;
- :mod:`.export`: the file ``learn.export()`` writes and :func:`load_learner` reads;
- :mod:`.run_files`: the best model and the state to resume from, kept in each run folder as it goes;
  :mod:`.resume`: ``finetune(..., resume=RUN)``; :mod:`.replay`: a resumed run's past epochs in its view;
- :mod:`.target`: the notebook variable a run fills, and its previous value when no epoch finished;
- :mod:`.summary`: the paragraph a run ends with; :mod:`.lr_find_view`: the LR finder's plot.

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "finetune": "api", "lr_find": "api", "build_learner": "api",
    "Learner": "learner", "load_learner": "learner",
})

"""What %lr_find shows: the sweep's figure with every suggestion marked and labelled where it is."""
import math

import numpy as np
import pytest

from jupyter_dl.finetuning.lr_find_view import lr_find_figure
from jupyter_dl.train.lr_finder import LRFinderResult

SUGGESTIONS = {"valley": 2.75e-4, "minimum": 8.3e-3, "steep": 2.3e-2, "slide": 3.6e-3}


def test_each_suggestion_is_a_line_with_its_label_at_the_line():
    result = LRFinderResult(lrs=list(np.logspace(-7, 1, 50)), losses=[1.0] * 50,
                            suggestions={**SUGGESTIONS, "none": None}, suggested=SUGGESTIONS["valley"])
    fig = lr_find_figure(result)
    assert fig.layout.xaxis.type == "log"
    assert sorted(shape.x0 for shape in fig.layout.shapes) == sorted(SUGGESTIONS.values())
    labels = {note.text: note for note in fig.layout.annotations}
    assert set(labels) == {f"{name} {value:.1e}" for name, value in SUGGESTIONS.items()}
    for name, value in SUGGESTIONS.items():
        # plotly places annotations on a log axis in log10 units: the label sits on its line
        assert labels[f"{name} {value:.1e}"].x == pytest.approx(math.log10(value))
    assert len({note.y for note in labels.values()}) == len(SUGGESTIONS)   # close suggestions do not overlap
    assert "suggested 2.8e-04 (valley)" in fig.layout.title.text

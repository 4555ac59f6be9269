"""Which chart path this environment's plotly gives the views, for tests written against one of them.

With plotly >= 6 the browser and ``%gpu`` draw live plotly ``FigureWidget``s; with plotly 5 (Google
Colab's pinned stack, where ``.ci/colab-test`` runs the suite) they draw SVG charts instead, whose
tests force that path on any plotly (``tests/browser/test_browser_plotly5_and_snapshot.py``,
``tests/gpu/test_gpu_monitor.py``). Tests that read a FigureWidget's traces carry this mark.
"""
import pytest

from jupyter_dl.ui.frontend import plotly_figure_widgets

needs_figure_widgets = pytest.mark.skipif(
    not plotly_figure_widgets(),
    reason="reads plotly FigureWidget traces, which need plotly >= 6; with plotly 5 the views draw SVG charts, "
           "tested on every plotly by the plotly-5 tests")

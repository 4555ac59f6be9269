"""The example notebooks run top to bottom in a real kernel (nbclient)."""
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

pytestmark = pytest.mark.slow


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    from run_notebook import execute

    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "runs"))
    executed = execute(EXAMPLES / "quickstart.ipynb", tmp_path)
    html = executed.with_suffix(".html").read_text()
    assert "Finished 4 epochs" in html          # the summary of %finetune sample --epochs 3
    assert "jupyter-dl-progress" in html        # the in-place progress display stayed in the output
    assert (tmp_path / "digits.jdl").is_file()  # export ran in the notebook's folder

"""jupyter_dl in classic Notebook 6.5 as on Colab (stand-in google.colab): load, %gpu, a whole %finetune."""
from __future__ import annotations

import re


def test_the_kernel_looks_like_colab_to_jupyter_dl(classic_notebook):
    nb = classic_notebook("colab_stand_in.ipynb", ["from jupyter_dl.ui import frontend\nfrontend.frontend()"])
    nb.run_cell(0)
    assert nb.result_text(0) == "'colab'", nb.output_text(0)


def test_load_ext_gpu_and_finetune_run_in_classic_notebook(classic_notebook):
    nb = classic_notebook("smoke.ipynb", [
        "%load_ext jupyter_dl",
        "%gpu --once",
        "%finetune sample --size 32 --epochs 1 --freeze-epochs 0",
    ])
    nb.run_cell(0)
    assert not nb.failure_text(0)

    nb.run_cell(1)
    table = nb.output_text(1)
    assert not nb.failure_text(1), nb.failure_text(1)
    assert "GPU monitor" in table, table
    assert re.search(r"^CPU\b", table, re.M) and re.search(r"^RAM\b", table, re.M), table   # the table's rows

    nb.run_cell(2, timeout=600)
    result = nb.output_text(2)
    assert not nb.failure_text(2), nb.failure_text(2)
    assert re.search(r"Finished 1 epoch\b", result), result
    assert "accuracy" in result, result
    nb.screenshot("classic-finetune", nb.cell(2))

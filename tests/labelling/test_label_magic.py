"""%label through a real IPython shell: the labeller it leaves, its options, and bad input as one sentence."""
from __future__ import annotations

import pytest
import torch
from IPython.core.error import UsageError
from label_pools import make_pool_folder, truth

from jupyter_dl.labelling.session import LabelSession


def test_label_embeds_the_pool_and_leaves_a_labeller(shell, tmp_path, counted, capsys):
    data = make_pool_folder(tmp_path, per_class=5)
    shell.run_line_magic("label", f"{data} --classes red,green,blue --page-size 6 --retrain-every 0")
    labeller = shell.user_ns["labeller"]
    assert isinstance(labeller, LabelSession) and len(labeller.page) == 6
    assert counted["builds"] == 1 and len(labeller.keys) == 15      # every image embedded once
    assert "15 to go" in capsys.readouterr().out
    key = labeller.page[0]
    labeller.label(key, truth(labeller.pool.item(key).path))
    assert (data / truth(labeller.pool.item(key).path)).is_dir()
    shell.run_line_magic("label", f"{data} --as again --retrain-every 0")
    assert shell.user_ns["again"].n_labelled == 1 and counted["builds"] == 1   # from the embedding cache


@pytest.mark.parametrize(("line", "message"), [
    ("{data} --page-size 0", "--page-size"),
    ("{data} --strategy random", "--strategy must be one of mixed, uncertain, confident"),
    ("{data} --retrain-every -1", "--retrain-every"),
    ("{empty}", "Nothing to label"),
    ("{data} --classes unlabelled", "unlabelled"),
    ("{data} {data}", "%label takes one DATA"),
])
def test_bad_input_is_one_usage_error(shell, tmp_path, line, message):
    data = make_pool_folder(tmp_path, per_class=2)
    empty = tmp_path / "empty"
    (empty / "unlabelled").mkdir(parents=True)
    with pytest.raises(UsageError, match=message):
        shell.run_line_magic("label", line.format(data=data, empty=empty))


def test_arch_names_a_variable_holding_an_nn_module_for_the_embeddings_and_the_fine_tunes(shell, tmp_path):
    from tinynet import TinyNet

    data = make_pool_folder(tmp_path, per_class=4)
    tiny = shell.user_ns["tiny"] = TinyNet(3)
    try:
        shell.run_line_magic("label", f"{data} --classes red,green,blue --page-size 6 --retrain-every 0 "
                                      "--arch tiny --as tiny_labeller")
        labeller = shell.user_ns.pop("tiny_labeller")
        assert isinstance(tiny.fc, torch.nn.Linear)            # embedding took the head off a copy, not off tiny
        for key in list(labeller.page):
            labeller.label(key, truth(labeller.pool.item(key).path))
        assert labeller.retrainer.options["arch"] is tiny       # the fine-tune trains the variable's module
        labeller.retrainer.options.update(workers=0, bs=4, freeze_epochs=0)
        labeller.retrainer.start()
        labeller.retrainer.wait(120)
        assert labeller.retrainer.points and labeller.retrainer.points[-1].run.startswith("fine-tuned:")
    finally:
        shell.user_ns.pop("tiny", None)

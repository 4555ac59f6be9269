"""%finetune end to end on tiny data: every data source, the learner left behind, export/load, stop."""
import json
import os
import signal

import pandas as pd
import pytest
import torch
from imagegen import make_image_folder
from tinynet import TinyNet

import jupyter_dl
from jupyter_dl.train import events as ev

FAST = "--size 16 --bs 4 --epochs 1 --freeze-epochs 1 --quiet"


def test_folder_per_class_leaves_a_learner(shell, folder, tiny):
    shell.run_line_magic("finetune", f"{tiny} {folder} {FAST}")
    learn = shell.user_ns["learn"]
    assert learn.classes == ["cat", "dog"]
    assert [row["phase"] for row in learn.history] == ["frozen", "unfrozen"]
    for row in learn.history:
        assert {"epoch", "phase", "train_loss", "valid_loss", "accuracy", "seconds"} <= set(row)
    assert learn.status == "finished"
    label, prob, probs = learn.predict(next((folder / "dog").iterdir()))
    assert label in learn.classes and 0 <= prob <= 1 and probs.shape == (2,)
    assert abs(float(probs.sum()) - 1) < 1e-4
    batch = learn.predict_batch(sorted((folder / "cat").iterdir())[:3])
    assert len(batch) == 3 and all(lbl in learn.classes for lbl, _ in batch)


def test_as_names_the_variable_and_runs_are_logged(shell, folder, tiny):
    shell.run_line_magic("finetune", f"{tiny} {folder} {FAST} --as pets_learn --metrics accuracy,error_rate,f1")
    learn = shell.user_ns["pets_learn"]
    assert {"accuracy", "error_rate", "f1"} <= set(learn.history[-1])
    lines = [json.loads(line) for line in (learn.run_dir / "log.jsonl").read_text().splitlines()]
    assert lines[0]["event"] == "config"
    assert sum(1 for line in lines if line["event"] == "epoch_end") == 2


def test_train_valid_folders_are_used_as_the_split(shell, tmp_path, tiny):
    make_image_folder(tmp_path / "d" / "train", classes={"a": 6, "b": 6}, size=16)
    make_image_folder(tmp_path / "d" / "valid", classes={"a": 2, "b": 3}, size=16)
    shell.run_line_magic("finetune", f"{tiny} {tmp_path / 'd'} {FAST}")
    learn = shell.user_ns["learn"]
    assert (learn.loaders.n_train, learn.loaders.n_valid) == (12, 5)


def test_csv_with_named_columns(shell, folder, tiny, tmp_path):
    rows = [(str(p.relative_to(folder)), p.parent.name) for p in sorted(folder.glob("*/*"))]
    pd.DataFrame(rows, columns=["file", "kind"]).to_csv(folder / "labels.csv", index=False)
    shell.run_line_magic("finetune", f"{tiny} {folder / 'labels.csv'} --path-col file --label-col kind {FAST}")
    assert shell.user_ns["learn"].classes == ["cat", "dog"]


def test_dataframe_variable(shell, folder, tiny):
    shell.user_ns["df"] = pd.DataFrame(
        {"path": [str(p) for p in sorted(folder.glob("*/*"))],
         "label": [p.parent.name for p in sorted(folder.glob("*/*"))]})
    shell.run_line_magic("finetune", f"{tiny} df {FAST}")
    assert shell.user_ns["learn"].loaders.n_train + shell.user_ns["learn"].loaders.n_valid == 16


def test_label_regex_on_file_names(shell, tmp_path, tiny):
    flat = tmp_path / "flat"
    flat.mkdir()
    src = make_image_folder(tmp_path / "src", classes={"Abyssinian": 6, "beagle": 6}, size=16)
    for i, p in enumerate(sorted(src.glob("*/*"))):
        p.rename(flat / f"{p.parent.name}_{i}{p.suffix}")
    shell.run_line_magic("finetune", f"{tiny} {flat} --label-re '^(.*)_\\d+\\.\\w+$' {FAST}")
    assert shell.user_ns["learn"].classes == ["Abyssinian", "beagle"]


def test_torch_dataset_variable(shell, tiny):
    class Blobs(torch.utils.data.Dataset):
        classes = ["dark", "light"]

        def __len__(self):
            return 20

        def __getitem__(self, i):
            return torch.full((3, 16, 16), 0.1 if i % 2 else 0.9), i % 2

    shell.user_ns["blobs"] = Blobs()
    shell.run_line_magic("finetune", f"{tiny} blobs {FAST}")
    assert shell.user_ns["learn"].classes == ["dark", "light"]


def test_python_api_matches_the_magic(folder):
    learn = jupyter_dl.finetune(folder, arch=TinyNet(), size=16, bs=4, epochs=2, freeze_epochs=0, quiet=True)
    assert len(learn.history) == 2 and learn.history[-1]["phase"] == "unfrozen"


def test_export_and_load_give_identical_predictions(folder, tmp_path):
    learn = jupyter_dl.finetune(folder, arch="efficientnet_lite0", size=32, bs=8, epochs=1,
                                freeze_epochs=0, quiet=True)
    path = learn.export(tmp_path / "out" / "pets.jdl")
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    images = sorted(folder.glob("*/*"))[:5]
    loaded = jupyter_dl.load_learner(path)
    assert loaded.classes == learn.classes and loaded.size == 32
    assert loaded.history == learn.history
    expected = learn.probabilities(images, bs=8)
    assert torch.allclose(loaded.probabilities(images, bs=8), expected, atol=1e-5)
    payload = torch.load(path, weights_only=True)          # nothing but tensors and JSON
    assert str(folder) not in payload["meta"]               # no paths of this machine


def test_more_training_with_fit(folder):
    learn = jupyter_dl.finetune(folder, arch=TinyNet(), size=16, bs=4, epochs=1, freeze_epochs=1, quiet=True)
    learn.fit(1, lr=1e-3, quiet=True)
    assert len(learn.history) == 3 and learn.history[-1]["epoch"] == 3


def test_interrupt_mid_epoch_keeps_best_weights_and_a_usable_learner(folder):
    learn = jupyter_dl.finetuning.build_learner(folder, TinyNet(), size=16, bs=2, seed=0)
    snapshots = {}

    def interrupt_in_second_epoch(event):
        if event.kind == ev.CHECKPOINT:
            snapshots["best"] = {k: v.clone() for k, v in learn.model.state_dict().items()}
        if event.kind == ev.BATCH_END and event["epoch"] == 2 and event["batch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's interrupt button sends

    learn.trainer.bus.subscribe(interrupt_in_second_epoch)
    status = learn.fine_tune(epochs=3, freeze_epochs=0, quiet=True)
    assert status == "interrupted" and learn.status == "interrupted"
    assert len(learn.history) == 1
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, snapshots["best"][key]), key
    assert all(p.requires_grad for p in learn.model.parameters())
    assert learn.predict(next((folder / "cat").iterdir()))[0] in learn.classes
    learn.trainer.bus.unsubscribe(interrupt_in_second_epoch)
    assert learn.fit(1, quiet=True) == "finished"


def test_lr_find_magic_suggests_and_leaves_weights_untouched(shell, folder, tiny):
    before = {k: v.clone() for k, v in shell.user_ns["tiny"].state_dict().items()}
    shell.run_line_magic("lr_find", f"{tiny} {folder} --size 16 --bs 4 --num-it 12 --quiet")
    learn = shell.user_ns["learn"]
    assert 1e-7 <= learn.suggested_lr <= 10
    assert set(learn.lr_find_result.suggestions) == {"valley", "minimum", "steep", "slide"}
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert learn.history == []


def test_finetune_with_lr_find_trains_with_the_suggestion(shell, folder, tiny, capsys):
    shell.run_line_magic("finetune", f"{tiny} {folder} {FAST} --lr find")
    learn = shell.user_ns["learn"]
    assert learn.suggested_lr is not None and len(learn.history) == 2
    assert learn.config["lr"] == learn.suggested_lr
    assert "LR finder suggests" in capsys.readouterr().out


def test_fastai_dataloaders_variable(shell, folder, tiny):
    vision = pytest.importorskip("fastai.vision.all")
    shell.user_ns["dls"] = vision.ImageDataLoaders.from_folder(
        folder, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16), bs=4, num_workers=0)
    shell.run_line_magic("finetune", f"{tiny} dls {FAST}")
    learn = shell.user_ns["learn"]
    assert learn.classes == ["cat", "dog"] and len(learn.history) == 2


@pytest.mark.parametrize("train_bn", [True, False])
def test_train_bn_decides_whether_batchnorm_learns_while_frozen(folder, train_bn):
    learn = jupyter_dl.finetuning.build_learner(folder, TinyNet(), size=16, bs=4)
    bn = learn.model.features[1]
    gamma, conv = bn.weight.detach().clone(), learn.model.features[0].weight.detach().clone()
    learn.fine_tune(epochs=0, freeze_epochs=1, quiet=True, train_bn=train_bn)
    assert torch.equal(learn.model.features[0].weight, conv)           # the body stayed frozen
    assert torch.equal(bn.weight.detach(), gamma) is (not train_bn)


def test_an_interrupt_after_the_last_epoch_neither_raises_nor_stops_the_next_run(folder):
    learn = jupyter_dl.finetuning.build_learner(folder, TinyNet(), size=16, bs=4)

    def interrupt_at_the_end(event):
        if event.kind == ev.FIT_END:
            os.kill(os.getpid(), signal.SIGINT)  # a Stop click that lands just after training ended

    learn.trainer.bus.subscribe(interrupt_at_the_end)
    assert learn.fit(1, quiet=True) == "finished"
    learn.trainer.bus.unsubscribe(interrupt_at_the_end)
    assert learn.fit(1, quiet=True) == "finished" and len(learn.history) == 2

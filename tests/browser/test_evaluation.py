"""Scoring a learner on a test set: every kind of DATA, numbers checked against a hand count, the mistakes view.

The model answers each flat-colour image with probabilities fixed by its red value (as in
test_interpretation.py), so accuracy, loss, the confusion matrix and per-class scores are known exactly.
"""
from __future__ import annotations

import math
import shutil

import pytest
import torch
from imagegen import make_constant_image, make_corrupt_file
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from torch import nn

import jupyter_dl
from jupyter_dl.browser.evaluation import Evaluation, evaluate
from jupyter_dl.browser.session import BrowseSession
from jupyter_dl.browser.widget import Browser
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning.api import build_learner
from jupyter_dl.finetuning.learner import load_learner

MEAN_R, STD_R = 0.485, 0.229
CLASSES = ["cat", "dog", "fox", "owl"]
# Test images: red value -> (folder/file, what the model answers for cat, dog, fox, owl). No owl in the test set.
TEST = {
    40: ("cat/t1.png", (0.80, 0.10, 0.10, 0.0)),    # right
    41: ("cat/t2.png", (0.20, 0.70, 0.10, 0.0)),    # dog
    42: ("dog/t3.png", (0.10, 0.60, 0.30, 0.0)),    # right
    43: ("dog/t4.png", (0.10, 0.50, 0.40, 0.0)),    # right
    44: ("fox/t5.png", (0.50, 0.10, 0.40, 0.0)),    # cat
}
HAND = {"accuracy": 3 / 5, "loss": -sum(math.log(p[CLASSES.index(f.split("/")[0])]) for f, p in TEST.values()) / 5}


class LookupNet(nn.Module):
    """Answers each image with the probabilities stored for its red value."""

    def __init__(self, forced: dict[int, tuple[float, ...]], n_classes: int) -> None:
        super().__init__()
        table = torch.full((256, n_classes), 0.0)
        for code, probs in forced.items():
            table[code] = torch.log(torch.tensor(probs))
        self.register_buffer("table", table)

    def forward(self, x):
        red = x[:, 0].mean(dim=(1, 2)) * STD_R + MEAN_R
        return self.table[(red * 255).round().long().clamp(0, 255)]


def write_test_images(root, codes=TEST):
    for code, (rel, _) in codes.items():
        make_constant_image(root / rel, (code, 0, 0), size=8)
    return root


@pytest.fixture
def learn(tmp_path):
    """A learner of cat/dog/fox/owl trained (in name) on flat colours; its answers on TEST are fixed."""
    root = tmp_path / "zoo"
    for i, name in enumerate(CLASSES):
        for split in ("train", "valid"):
            make_constant_image(root / split / name / f"{name}.png", (200 + i, 0, 0), size=8)
    model = LookupNet({code: probs for code, (_, probs) in TEST.items()}, len(CLASSES))
    return build_learner(root, model, size=8, bs=2, workers=0, device="cpu", metrics=("accuracy", "f1"))


def check_hand_count(result: Evaluation, root=None) -> None:
    assert isinstance(result, Evaluation) and len(result) == 5 and result.classes == CLASSES
    assert result.metrics["accuracy"] == pytest.approx(HAND["accuracy"])
    assert result.metrics["loss"] == pytest.approx(HAND["loss"], rel=1e-5)
    assert result.accuracy == pytest.approx(HAND["accuracy"])
    assert result.confusion_matrix() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    rows = {r["class"]: r for r in result.per_class()}
    assert rows["cat"]["precision"] == pytest.approx(0.5) and rows["cat"]["recall"] == pytest.approx(0.5)
    assert rows["dog"]["precision"] == pytest.approx(2 / 3) and rows["dog"]["f1"] == pytest.approx(0.8)
    assert rows["owl"]["support"] == 0 and rows["owl"]["recall"] == 0.0
    assert result.missing_classes == ["owl"] and "no test images of owl" in result.summary()


# ----------------------------------------------------------------------------- every kind of DATA
def test_a_folder_of_class_folders_is_scored_whole_with_the_learners_metrics(learn, tmp_path):
    root = write_test_images(tmp_path / "test")
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    learn.model.train()
    result = evaluate(learn, root)
    check_hand_count(result)
    assert set(result.metrics) == {"loss", "accuracy", "f1"}
    assert learn.model.training and all(torch.equal(v, learn.model.state_dict()[k]) for k, v in weights.items())
    worst = result.top_losses(1)[0]
    assert worst.path.name == "t2.png" and worst.predicted == "dog" and worst.actual == "cat"
    assert result.catalog.item(worst.key).path == worst.path
    text = repr(result)
    assert "5 test images" in text and "accuracy 0.6000" in text and "loss" in text
    html = result._repr_html_()
    assert "jdl-confusion" in html and "jdl-per-class" in html and "0.500" in html


def test_split_folders_score_their_valid_part_or_their_test_folder(learn, tmp_path):
    split = tmp_path / "split"
    make_constant_image(split / "train" / "cat" / "x.png", (250, 0, 0), size=8)   # never scored
    make_constant_image(split / "train" / "dog" / "y.png", (251, 0, 0), size=8)
    make_constant_image(split / "train" / "fox" / "z.png", (252, 0, 0), size=8)
    write_test_images(split / "valid")
    check_hand_count(evaluate(learn, split))
    three = tmp_path / "three"
    shutil.copytree(split, three)
    shutil.move(str(three / "valid"), str(three / "test"))
    write_test_images(three / "valid", {40: ("cat/v.png", (1, 0, 0, 0))})            # not the test set
    result = evaluate(learn, three)
    check_hand_count(result)
    assert {p.path.parent.parent.name for p in result.predictions} == {"test"}


def test_csv_dataframe_and_label_re(learn, tmp_path):
    import pandas as pd

    root = write_test_images(tmp_path / "test")
    files = sorted(root.glob("*/*.png"))
    rows = pd.DataFrame({"file": [str(f.relative_to(tmp_path)) for f in files],
                         "kind": [f.parent.name for f in files]})
    rows.to_csv(tmp_path / "test.csv", index=False)
    check_hand_count(evaluate(learn, tmp_path / "test.csv", path_col="file", label_col="kind"))
    absolute = rows.assign(file=[str(f) for f in files])
    check_hand_count(evaluate(learn, "table", namespace={"table": absolute}, path_col="file", label_col="kind"))
    # An is_valid column: only the valid rows are the test set (the others: one per class, as %finetune wants).
    extra = [make_constant_image(tmp_path / f"extra{i}.png", (250 + i, 0, 0), size=8) for i in range(3)]
    flagged = pd.concat([absolute.assign(is_valid=True),
                         pd.DataFrame({"file": [str(f) for f in extra], "kind": ["cat", "dog", "fox"],
                                       "is_valid": [False] * 3})])
    check_hand_count(evaluate(learn, flagged, path_col="file", label_col="kind"))
    # A flat folder labelled by the file names.
    flat = tmp_path / "flat"
    for code, (rel, _) in TEST.items():
        label, name = rel.split("/")
        make_constant_image(flat / f"{label}_{name}", (code, 0, 0), size=8)
    check_hand_count(evaluate(learn, flat, label_re=r"^([a-z]+)_"))


class Codes(torch.utils.data.Dataset):
    """The TEST images in memory: (uint8 image, class name)."""

    def __init__(self, codes=TEST):
        self.items = [(code, rel.split("/")[0]) for code, (rel, _) in codes.items()]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        code, label = self.items[i]
        image = torch.zeros(3, 8, 8, dtype=torch.uint8)
        image[0] = code
        return image, label


def test_a_torch_dataset_whole_or_the_valid_one_of_a_pair(learn):
    check_hand_count(evaluate(learn, Codes()))
    result = evaluate(learn, (Codes({250: ("cat/x", None), 251: ("dog/y", None)}), Codes()))
    check_hand_count(result)
    assert all(result.catalog.item(p.key).split == "valid" for p in result.predictions)


def test_a_learner_loaded_from_its_file_scores_the_same(learn, tmp_path):
    root = write_test_images(tmp_path / "test")
    path = learn.export(tmp_path / "model.jdl")
    loaded = load_learner(path, model=LookupNet({}, len(CLASSES)))
    check_hand_count(evaluate(loaded, root))


def test_an_unreadable_test_file_is_left_out_and_said(learn, tmp_path):
    root = write_test_images(tmp_path / "test")
    make_corrupt_file(root / "dog" / "broken.png")
    result = evaluate(learn, root)
    check_hand_count(result)
    assert [path.name for path, _ in result.skipped] == ["broken.png"]
    assert "1 unreadable file left out" in result.summary()


# ----------------------------------------------------------------------------- bad input
def test_classes_the_learner_does_not_know_are_one_sentence(learn, tmp_path):
    root = write_test_images(tmp_path / "test")
    make_constant_image(root / "emu" / "e.png", (44, 0, 0), size=8)
    make_constant_image(root / "emu" / "f.png", (45, 0, 0), size=8)
    with pytest.raises(UserInputError) as info:
        evaluate(learn, root)
    message = str(info.value)
    assert message.startswith("The test data has images of classes `learn` was not trained on ('emu' (2)); "
                              "it knows 'cat', 'dog', 'fox', 'owl'") and message.count(".") == 1
    with pytest.raises(UserInputError, match="not a learner"):
        evaluate(torch.zeros(1), root)
    with pytest.raises(UserInputError, match="does not exist"):
        evaluate(learn, tmp_path / "nowhere")
    with pytest.raises(UserInputError, match="bs must be"):
        evaluate(learn, root, bs=0)


# ----------------------------------------------------------------------------- browse(learn, data=...)
def test_browse_with_data_explores_the_test_mistakes(learn, tmp_path, shell, monkeypatch):
    root = write_test_images(tmp_path / "test")
    with capture_output() as shown:                        # no widgets here: the static summary
        session = jupyter_dl.browse(learn, data=root, page_size=3)
    assert isinstance(session, BrowseSession) and session.interpretation.subset == "test"
    html = shown.outputs[0].data["text/html"]
    assert "Test accuracy 0.6000 on 5 images" in html and "Top losses: 3 of 5" in html

    from jupyter_dl.ui import frontend

    monkeypatch.setattr(frontend, "widgets_available", lambda: True)
    b = jupyter_dl.browse(learn, data=str(root), page_size=3, show=False)
    assert isinstance(b, Browser) and "mistakes on the test images" in b.header.value
    assert "accuracy 0.6000</b> on 5 test images" in b.mistakes.accuracy.value
    assert [p.description for p in b.mistakes.pairs.children] == ["cat \u2192 dog (1)", "fox \u2192 cat (1)"]
    b.show_cell("fox", "cat")
    assert [b.state.item(k).path.name for k in b.grid.shown_keys()] == ["t5.png"]
    b.close()
    with pytest.raises(UserInputError, match="--data gives a test set to score a learner on"):
        jupyter_dl.browse(root, data=root)


def test_browse_magic_with_data_scores_the_learner_on_the_test_set(learn, tmp_path, shell):
    root = write_test_images(tmp_path / "test")
    shell.user_ns["learn"] = learn
    with capture_output() as shown:
        shell.run_line_magic("browse", f"learn --data '{root}'")
    html = shown.outputs[0].data["text/html"]
    assert "Test accuracy 0.6000 on 5 images" in html
    with pytest.raises(UsageError, match="--data gives a test set to score a learner on"):
        shell.run_line_magic("browse", f"'{root}' --data '{root}'")


def test_evaluate_is_a_public_name_and_a_learner_method(learn, tmp_path):
    import jupyter_dl.browser as browser

    assert browser.evaluate is evaluate and browser.Evaluation is Evaluation and jupyter_dl.evaluate is evaluate
    root = write_test_images(tmp_path / "test")
    result = learn.evaluate(root, bs=2)
    assert isinstance(result, Evaluation) and result.metrics["accuracy"] == pytest.approx(HAND["accuracy"])


def test_test_labels_are_matched_to_the_learners_classes_by_name(learn, tmp_path):
    # Only dog and fox: the test data's own class indices (dog 0, fox 1) are not the learner's (dog 1, fox 2).
    root = write_test_images(tmp_path / "test", {code: TEST[code] for code in (42, 43, 44)})
    result = evaluate(learn, root)
    assert result.confusion_matrix() == [[0, 0, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert result.metrics["accuracy"] == pytest.approx(2 / 3) and result.missing_classes == ["cat", "owl"]


def test_a_fastai_learner_is_scored_on_files_and_on_its_own_test_loader(tmp_path):
    vision = pytest.importorskip("fastai.vision.all")
    from imagegen import make_image_folder
    from tinynet import TinyNet

    root = make_image_folder(tmp_path / "pets", classes={"cat": 8, "dog": 8, "fox": 8}, size=20)
    test = make_image_folder(tmp_path / "test", classes={"cat": 3, "dog": 3, "fox": 3}, size=20, seed=5)
    dls = vision.ImageDataLoaders.from_folder(root, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16), bs=4,
                                              num_workers=0, device="cpu")
    torch.manual_seed(0)
    learner = vision.Learner(dls, TinyNet(3), loss_func=vision.CrossEntropyLossFlat(), metrics=vision.accuracy)
    with learner.no_bar(), learner.no_logging():
        learner.fit_one_cycle(1, 1e-2)
    files = vision.get_image_files(test)
    test_dl = dls.test_dl(files, with_labels=True)
    with learner.no_bar():
        loss, accuracy = learner.validate(dl=test_dl)
    for data in (test, test_dl):
        result = evaluate(learner, data)
        assert len(result) == 9 and result.classes == ["cat", "dog", "fox"]
        assert result.metrics["accuracy"] == pytest.approx(accuracy, abs=1e-6)
        assert result.metrics["loss"] == pytest.approx(loss, rel=1e-4)
    assert sorted(p.path for p in result.predictions) == sorted(files)

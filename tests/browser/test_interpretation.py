"""Mistakes after training: predictions forced per image, so every number is checked against a hand count."""
from __future__ import annotations

import math
import shutil

import pytest
import torch
from imagegen import make_constant_image, make_image_folder
from tinynet import TinyNet
from torch import nn

import jupyter_dl
from jupyter_dl.browser.interpretation import Interpretation, Prediction, interpret
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning.api import build_learner
from jupyter_dl.finetuning.learner import load_learner

MEAN_R, STD_R = 0.485, 0.229  # ImageNet statistics of the red channel, which a user's nn.Module is normalised with
CLASSES = ["cat", "dog", "fox", "owl"]

# Each validation image is one flat colour whose red value is its code; the model looks the code up
# and answers with exactly these probabilities (cat, dog, fox, owl). Owl has no validation items.
FORCED = {
    "cat/c1.png": (10, (0.70, 0.20, 0.10, 0.0)),   # right, loss -ln 0.7
    "cat/c2.png": (11, (0.10, 0.80, 0.10, 0.0)),   # dog,   loss -ln 0.1
    "cat/c3.png": (12, (0.30, 0.60, 0.10, 0.0)),   # dog,   loss -ln 0.3
    "dog/d1.png": (20, (0.05, 0.90, 0.05, 0.0)),   # right, loss -ln 0.9
    "dog/d2.png": (21, (0.65, 0.25, 0.10, 0.0)),   # cat,   loss -ln 0.25
    "fox/f1.png": (30, (0.15, 0.05, 0.80, 0.0)),   # right, loss -ln 0.8
    "fox/f2.png": (31, (0.02, 0.90, 0.08, 0.0)),   # dog,   loss -ln 0.08
    "fox/f3.png": (32, (0.50, 0.10, 0.40, 0.0)),   # cat,   loss -ln 0.4
}
TOP_LOSS_ORDER = ["fox/f2.png", "cat/c2.png", "dog/d2.png", "cat/c3.png", "fox/f3.png", "cat/c1.png",
                  "fox/f1.png", "dog/d1.png"]


class LookupNet(nn.Module):
    """Answers each image with the logits stored for its red value (unknown codes: all classes alike)."""

    def __init__(self, forced: dict[int, tuple[float, ...]], n_classes: int) -> None:
        super().__init__()
        table = torch.zeros(256, n_classes)
        for code, probs in forced.items():
            table[code] = torch.log(torch.tensor(probs))  # softmax(log p) == p; log 0 = -inf gives exactly 0
        self.register_buffer("table", table)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        red = x[:, 0].mean(dim=(1, 2)) * STD_R + MEAN_R
        codes = (red * 255).round().long().clamp(0, 255)
        return self.table[codes]


@pytest.fixture
def forced(tmp_path):
    """A train/ + valid/ folder of flat colours and a learner whose answers FORCED fixes."""
    root = tmp_path / "zoo"
    for i, name in enumerate(CLASSES):
        make_constant_image(root / "train" / name / f"{name}_t.png", (200 + i, 0, 0), size=8)
    for rel, (code, _) in FORCED.items():
        make_constant_image(root / "valid" / rel, (code, 0, 0), size=8)
    model = LookupNet({code: probs for code, probs in FORCED.values()}, len(CLASSES))
    learn = build_learner(root, model, size=8, bs=3, workers=0, device="cpu")
    return root, learn


def by_name(interp: Interpretation, root) -> dict[str, Prediction]:
    return {p.path.relative_to(root / "valid").as_posix(): p for p in interp.predictions}


def test_each_validation_item_gets_its_forced_prediction_and_catalog_key(forced):
    root, learn = forced
    interp = interpret(learn)
    assert interp.classes == CLASSES and len(interp) == len(FORCED)
    named = by_name(interp, root)
    assert set(named) == set(FORCED)
    for rel, (_, probs) in FORCED.items():
        p = named[rel]
        assert p.actual == rel.split("/")[0]
        assert p.predicted == CLASSES[max(range(4), key=lambda i: probs[i])]
        assert p.probabilities == pytest.approx(probs, abs=1e-6)
        assert p.confidence == pytest.approx(max(probs), abs=1e-6)
        assert p.loss == pytest.approx(-math.log(probs[CLASSES.index(p.actual)]), abs=1e-5)
        item = interp.catalog.items[p.key]  # the key finds this very file, in the valid split
        assert item.path == p.path and item.split == "valid" and item.label == p.actual
    # Predictions come in the catalog's (and the valid loader's) order.
    assert [p.key for p in interp.predictions] == [item.key for item in interp.catalog.split_items("valid")]
    assert interp.accuracy == pytest.approx(3 / 8)


def test_top_losses_and_filters_are_sorted_by_loss(forced):
    root, learn = forced
    interp = interpret(learn)
    names = {p.key: p.path.relative_to(root / "valid").as_posix() for p in interp.predictions}
    assert [names[p.key] for p in interp.top_losses()] == TOP_LOSS_ORDER
    assert [names[p.key] for p in interp.top_losses(3)] == TOP_LOSS_ORDER[:3]
    assert interp.top_losses(0) == []
    wrong = [names[p.key] for p in interp.filter(correct=False)]
    assert wrong == ["fox/f2.png", "cat/c2.png", "dog/d2.png", "cat/c3.png", "fox/f3.png"]
    assert [names[p.key] for p in interp.filter(correct=True)] == ["cat/c1.png", "fox/f1.png", "dog/d1.png"]
    assert [names[p.key] for p in interp.filter(actual="fox")] == ["fox/f2.png", "fox/f3.png", "fox/f1.png"]
    assert [names[p.key] for p in interp.filter(predicted="cat", correct=False)] == ["dog/d2.png", "fox/f3.png"]
    assert interp.filter(actual="owl") == [] and interp.filter(predicted="owl") == []


def test_confusion_matrix_cells_and_most_confused_pairs(forced):
    root, learn = forced
    interp = interpret(learn)
    #                                  predicted: cat dog fox owl
    assert interp.confusion_matrix() == [[1, 2, 0, 0],   # actual cat
                                         [1, 1, 0, 0],   # actual dog
                                         [1, 1, 1, 0],   # actual fox
                                         [0, 0, 0, 0]]   # actual owl
    key = {rel: p.key for rel, p in by_name(interp, root).items()}
    # A cell lists exactly its items, highest loss first.
    assert interp.items_in_cell("cat", "dog") == [key["cat/c2.png"], key["cat/c3.png"]]
    assert interp.items_in_cell("fox", "cat") == [key["fox/f3.png"]]
    assert interp.items_in_cell("dog", "dog") == [key["dog/d1.png"]]
    assert interp.items_in_cell("owl", "cat") == [] and interp.items_in_cell("cat", "fox") == []
    for a, actual in enumerate(CLASSES):  # every cell's list has the cell's count
        for b, predicted in enumerate(CLASSES):
            assert len(interp.items_in_cell(actual, predicted)) == interp.confusion_matrix()[a][b]
    # Off-diagonal only, most frequent first, equal counts in class order.
    assert interp.most_confused() == [("cat", "dog", 2), ("dog", "cat", 1), ("fox", "cat", 1), ("fox", "dog", 1)]
    assert interp.most_confused(min_count=2) == [("cat", "dog", 2)]
    assert interp.most_confused(min_count=3) == []


def test_per_class_precision_recall_f1(forced):
    _, learn = forced
    rows = {row["class"]: row for row in interpret(learn).per_class()}
    assert list(rows) == CLASSES
    expected = {  # class: (precision, recall, f1, support), counted from the matrix above
        "cat": (1 / 3, 1 / 3, 1 / 3, 3),
        "dog": (1 / 4, 1 / 2, 1 / 3, 2),
        "fox": (1.0, 1 / 3, 1 / 2, 3),
        "owl": (0.0, 0.0, 0.0, 0),      # never predicted, no items: 0/0 is reported as 0.0
    }
    for name, (precision, recall, f1, support) in expected.items():
        row = rows[name]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((precision, recall, f1))
        assert row["support"] == support


def test_interpret_leaves_weights_and_train_eval_modes_as_they_were(forced):
    _, learn = forced
    model = learn.model
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = model.calls
    interpret(learn)
    assert model.training
    assert model.calls - calls == 3  # 8 validation items in batches of 3, one pass
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.eval()
    interpret(learn)
    assert not model.training


def test_a_file_moved_since_training_is_left_out_and_the_rest_still_line_up(forced):
    root, learn = forced
    moved = root / "valid" / "dog" / "c2.png"
    shutil.move(root / "valid" / "cat" / "c2.png", moved)  # relabelled (by hand) after training
    interp = interpret(learn)
    assert interp.left_out == [root / "valid" / "cat" / "c2.png"]
    assert len(interp) == 7 and "cat/c2.png" not in by_name(interp, root)
    for p in interp.predictions:
        assert interp.catalog.items[p.key].path == p.path


def test_unknown_class_names_and_bad_counts_are_one_sentence_errors(forced):
    _, learn = forced
    interp = interpret(learn)
    with pytest.raises(UserInputError, match=r"actual='cow' is not one of this learner's classes: use one of"):
        interp.filter(actual="cow")
    with pytest.raises(UserInputError, match="predicted='Cat'"):
        interp.items_in_cell("cat", "Cat")
    with pytest.raises(UserInputError, match="n must be a whole number"):
        interp.top_losses(-1)


def test_a_learner_without_data_or_still_training_is_refused(forced, tmp_path):
    _, learn = forced
    learn.status = "running"  # what a background run looks like from outside
    with pytest.raises(UserInputError, match=r"`learn` is training in the background: call learn.wait\(\)"):
        interpret(learn)
    learn.status = "ready"
    tiny = build_learner(forced[0], TinyNet(4), size=8, bs=4, workers=0, device="cpu")
    loaded = load_learner(tiny.export(tmp_path / "tiny.jdl"), model=TinyNet(4))
    with pytest.raises(UserInputError, match="has no data to look for mistakes in .it was loaded from a file."):
        interpret(loaded)
    with pytest.raises(UserInputError, match="A str is not a learner"):
        interpret("learn")


def test_a_dataframe_learner_maps_predictions_to_table_rows(tmp_path):
    import pandas as pd

    root = make_image_folder(tmp_path / "pets", classes={"cat": 5, "dog": 5}, size=8)
    files = sorted(root.glob("*/*.png"))
    table = pd.DataFrame({"file": [str(f) for f in files], "kind": [f.parent.name for f in files]},
                         index=[f"r{i}" for i in range(len(files))])
    learn = build_learner("table", TinyNet(), size=8, bs=4, workers=0, device="cpu", path_col="file",
                          label_col="kind", namespace={"table": table})
    interp = interpret(learn)  # the learner kept the DataFrame itself: no namespace needed now
    assert interp.catalog.kind == "dataframe" and interp.catalog.table is table
    assert len(interp) == learn.loaders.n_valid == 2
    for p in interp.predictions:
        item = interp.catalog.items[p.key]
        assert item.split == "valid" and table.loc[item.row, "file"] == str(p.path)
        assert table.loc[item.row, "kind"] == p.actual


def test_a_torch_dataset_learner_matches_items_by_position(tmp_path):
    class Codes(torch.utils.data.Dataset):
        """Flat images whose red value is 40 + index; even items are 'a', odd 'b'."""
        classes = ["a", "b"]

        def __len__(self):
            return 10

        def __getitem__(self, i):
            image = torch.zeros(3, 8, 8, dtype=torch.uint8)
            image[0] = 40 + i
            return image, i % 2

    # Code 40 + i is answered "a" with probability 0.9 for every item: the b items are the mistakes.
    model = LookupNet({40 + i: (0.9, 0.1) for i in range(10)}, 2)
    learn = build_learner(Codes(), model, size=8, bs=4, workers=0, device="cpu")
    interp = interpret(learn)
    valid = interp.catalog.split_items("valid")
    assert [p.key for p in interp.predictions] == [item.key for item in valid] and len(valid) == 2
    for p in interp.predictions:
        item = interp.catalog.items[p.key]
        code = int(interp.catalog.dataset_image(item)[0, 0, 0])
        assert p.actual == item.label == "ab"[(code - 40) % 2]
        assert p.predicted == "a" and p.probabilities == pytest.approx([0.9, 0.1], abs=1e-6)


def test_after_a_real_fine_tune_the_accuracy_is_the_learners_validation_accuracy(tmp_path):
    root = make_image_folder(tmp_path / "pets", classes={"cat": 10, "dog": 10, "fox": 10}, size=16)
    torch.manual_seed(0)
    learn = jupyter_dl.finetune(root, arch=TinyNet(3), size=16, bs=4, epochs=2, freeze_epochs=1, quiet=True)
    interp = interpret(learn)
    # fine_tune ends on the best epoch's weights, so that epoch's accuracy is the model's now.
    best = next(row for row in learn.history if row["epoch"] == learn.trainer.best.epoch)
    assert interp.accuracy == pytest.approx(best["accuracy"], abs=1e-6)
    assert sum(map(sum, interp.confusion_matrix())) == learn.loaders.n_valid == len(interp) == 6
    assert sum(p.loss for p in interp.predictions) / len(interp) == pytest.approx(best["valid_loss"], rel=1e-4)
    for p in interp.predictions:
        assert p.predicted == learn.predict(p.path)[0]  # the same answer as predict() on the file


def test_a_fastai_learner_agrees_with_fastais_own_interpretation(tmp_path):
    vision = pytest.importorskip("fastai.vision.all")
    root = make_image_folder(tmp_path / "pets", classes={"cat": 8, "dog": 8, "fox": 8}, size=20)
    dls = vision.ImageDataLoaders.from_folder(root, valid_pct=0.25, seed=0, item_tfms=vision.Resize(16), bs=4,
                                              num_workers=0, device="cpu")
    torch.manual_seed(0)
    learn = vision.Learner(dls, TinyNet(3), loss_func=vision.CrossEntropyLossFlat(), metrics=vision.accuracy)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 1e-2)
    learn.model.train()  # interpret must put this back after its validation pass

    interp = interpret(learn)
    assert learn.model.training
    assert interp.classes == ["cat", "dog", "fox"] and interp.catalog.kind == "fastai"
    assert [p.path for p in interp.predictions] == list(dls.valid_ds.items)  # fastai's validation order
    for p in interp.predictions:
        item = interp.catalog.items[p.key]
        assert item.split == "valid" and item.path == p.path and item.label == p.actual == p.path.parent.name

    valid_loss, accuracy = learn.validate()
    assert interp.accuracy == pytest.approx(accuracy, abs=1e-6)
    assert sum(p.loss for p in interp.predictions) / len(interp) == pytest.approx(valid_loss, rel=1e-4)
    theirs = vision.ClassificationInterpretation.from_learner(learn)
    assert interp.confusion_matrix() == theirs.confusion_matrix().tolist()
    losses, indices = theirs.top_losses(len(interp))
    ours = interp.top_losses()
    assert [p.loss for p in ours] == pytest.approx(losses.tolist(), abs=1e-5)
    assert {p.path for p in ours[:3]} == {interp.predictions[int(i)].path for i in indices[:3]}

    # The learner %finetune leaves when its DATA is these fastai DataLoaders: items matched by position.
    mine = interpret(build_learner(dls, TinyNet(3), size=16, workers=0, device="cpu"))
    assert [p.path for p in mine.predictions] == list(dls.valid_ds.items)
    assert [p.actual for p in mine.predictions] == [p.actual for p in interp.predictions]

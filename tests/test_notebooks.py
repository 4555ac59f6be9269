"""The example notebooks run top to bottom in a real kernel (nbclient)."""
import base64
import re
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
    # ... with the loss plot, kept as an SVG image (no widgets under nbclient): the train-loss curve over every
    # step of the 4 epochs, the valid loss and accuracy per epoch. (nbconvert rewrites the HTML: attributes
    # sorted, in double quotes.)
    image = re.search(r"<img [^>]*class=.jdl-svg-image.[^>]*>", html)
    assert image, "no loss plot (img.jdl-svg-image) in out/quickstart.html"
    svg = base64.b64decode(re.search(r"src=.data:image/svg\+xml;base64,([^'\"]+)", image[0])[1]).decode()
    assert svg.startswith("<svg class='jdl-svg-chart'") and "data-epochs='4'" in svg
    assert int(re.search(r"data-steps='(\d+)'", svg)[1]) > 40
    curve = re.search(r"class='jdl-svg-train' data-points='(\d+)' d='([^']*)'", svg)
    assert int(curve[1]) > 40 and len(re.findall(r"[ML]", curve[2])) == int(curve[1])
    assert "class='jdl-svg-valid'" in svg and "data-name='accuracy'" in svg
    assert (tmp_path / "digits.jdl").is_file()  # export ran in the notebook's folder


def _text_outputs(notebook) -> str:
    """All text the executed notebook's cells left: streams, plain-text and HTML results."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(parts)


def test_own_loop_notebook_executes(tmp_path, monkeypatch):
    from run_notebook import execute

    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "runs"))
    text = _text_outputs(execute(EXAMPLES / "own_loop.ipynb", tmp_path))
    assert "finished" in text                   # print(run.status)
    assert "valid_loss" in text and "accuracy" in text  # pd.DataFrame(run.history)


def test_fastai_notebook_executes(tmp_path, monkeypatch):
    from run_notebook import execute

    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "runs"))
    text = _text_outputs(execute(EXAMPLES / "fastai.ipynb", tmp_path))
    assert "finished" in text                   # print(dashboard.status)
    assert re.search(r"\bfrozen\b", text) and "unfrozen" in text  # both phases of fine_tune in the history


def test_clean_and_retrain_notebook_executes(tmp_path, monkeypatch):
    from run_notebook import execute

    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "runs"))
    text = _text_outputs(execute(EXAMPLES / "clean_and_retrain.ipynb", tmp_path))
    assert "Health: 1 unreadable \u00b7 2 exact duplicates" in text     # the planted problems were found
    assert "Moved 2 images to the trash folder" in text
    assert "class='jdl-confusion'" in text and "Validation accuracy" in text   # %browse learn, static
    assert "Relabelled 3 images as '7'" in text
    assert len(list((tmp_path / "runs").glob("*/log.jsonl"))) == 2          # trained, cleaned, trained again
    root = tmp_path / "digits_small"
    assert sorted(p.name for p in (root / "valid" / "7").glob("seven_*")) == ["seven_0.png", "seven_1.png",
                                                                             "seven_2.png"]
    trashed = sorted(p.name for p in (root / ".jupyter_dl_trash").rglob("*.png"))
    assert len(trashed) == 2 and "broken.png" in trashed                    # moved aside, never deleted


def test_label_notebook_executes(tmp_path, monkeypatch):
    from run_notebook import execute

    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "runs"))
    text = _text_outputs(execute(EXAMPLES / "label.ipynb", tmp_path))
    assert "600 images to label" in text
    assert "100 labelled;" in text                                        # 10 per class typed
    presses = re.search(r"(\d+) images in (\d+) key presses", text)
    assert presses and int(presses[2]) < 0.5 * int(presses[1])            # accepting pages beats typing each
    assert "Counter({" in text and "'accepted'" in text and "'typed'" in text
    assert re.search(r"(suggestions now from the model|the model) fine-tuned on 220 labels", text)
    assert "RunPoint(labels=220, accuracy=" in text                       # the background run ended and was scored
    right = re.search(r"suggestions from \S+: (\d+)% right on the 380 images left", text)
    assert right and int(right[1]) >= 70                                  # whichever model suggests is the better one
    slip = re.search(r"likely mislabelled; the slip is number (\d+)", text)
    assert slip and int(slip[1]) <= 10                                    # the planted wrong label is near the top
    assert "unlabelled - " in text                                         # undo put the slip back into the pool
    assert len(list((tmp_path / "runs").glob("*/log.jsonl"))) == 1

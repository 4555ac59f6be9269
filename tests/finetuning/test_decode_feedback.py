"""What a user sees around decoding: the progress line of a first decode, the decoder's warnings
collected into the run summary (never printed), and predict on a file it cannot read."""
import os
import traceback
from pathlib import Path

import PIL.Image
import pytest
import torch
from dashboard_fakes import Clock
from imagegen import make_image
from tinynet import TinyNet

from jupyter_dl.data.images import UnreadableImageError
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning.api import build_learner
from jupyter_dl.finetuning.summary import summary_text
from jupyter_dl.ui import decode_progress
from jupyter_dl.ui.decode_progress import DecodeProgress


class Page:
    """Stands in for IPython's display: each output's bundles, in order, updated through the handles."""

    def __init__(self, monkeypatch):
        self.outputs: list[list[dict]] = []  # per display: every bundle it showed
        self.ids: list[object] = []
        monkeypatch.setattr("IPython.display.display", self.display)
        monkeypatch.setattr("jupyter_dl.ui.frontend.in_kernel", lambda: True)

    def display(self, bundle, raw, display_id=None, metadata=None):
        self.outputs.append([bundle])
        self.ids.append(display_id)
        shown = self.outputs[-1]

        class Handle:
            def update(self, new, raw, **kw):
                shown.append(new)
        return Handle()

    def texts(self, index=0) -> list[str]:
        return [bundle["text/plain"] for bundle in self.outputs[index]]


# ----------------------------------------------------------------------------- the progress line
def test_the_line_appears_after_half_a_second_updates_four_times_a_second_and_ends_with_one_line(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    progress = DecodeProgress(clock=clock)
    progress(0, 720)                          # decoding starts
    clock.now += 0.3
    progress(20, 720)                         # under SHOW_AFTER: nothing yet
    assert page.outputs == []
    clock.now += 0.3
    progress(48, 720)                         # 0.6 s: shown
    clock.now += 0.1
    progress(56, 720)                         # 0.1 s later: throttled
    clock.now += 0.2
    progress(72, 720)                         # 0.3 s after the last drawing: updated
    clock.now += 15.2
    progress(720, 720)                        # the end is always drawn
    progress.finish()
    assert len(page.outputs) == 1 and page.ids == [True]
    assert page.texts() == [
        "Decoding 48/720 images \u00b7 80 img/s \u00b7 about 8 s left",
        "Decoding 72/720 images \u00b7 80 img/s \u00b7 about 8 s left",
        "Decoding 720/720 images \u00b7 45 img/s \u00b7 about 0 s left",
        "Decoded 720 images in 16 s (cached for next time).",
    ]
    assert "jupyter_dl" in page.outputs[0][-1]["text/html"]


def test_images_reused_from_the_cache_are_not_counted_and_long_waits_read_in_minutes(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    with DecodeProgress(clock=clock) as progress:
        progress(400, 1000)                   # 400 rows came from earlier entries
        clock.now += 1.0
        progress(401, 1000)
    assert page.texts()[0] == "Decoding 1/600 images \u00b7 1 img/s \u00b7 about 9 min 59 s left"
    assert page.texts()[-1] == "Decoded 1 images in 1 s (cached for next time)."


def test_an_interrupted_decode_says_where_it_stopped(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    with pytest.raises(KeyboardInterrupt), DecodeProgress(clock=clock) as progress:
        progress(0, 10)
        clock.now += 1.0
        progress(3, 10)
        raise KeyboardInterrupt
    assert page.texts()[-1] == "Decoding stopped at 3/10 images."


def test_quick_decodes_quiet_runs_and_cached_runs_show_nothing(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    with DecodeProgress(clock=clock) as progress:   # over in 0.2 s
        progress(0, 5)
        clock.now += 0.2
        progress(5, 5)
    with DecodeProgress(clock=clock, quiet=True) as progress:
        progress(0, 5)
        clock.now += 5
        progress(5, 5)
    with DecodeProgress(clock=clock):               # everything cached: the hook is never called
        clock.now += 5
    assert page.outputs == []


def test_outside_a_kernel_only_the_final_line_is_printed(monkeypatch, capsys):
    monkeypatch.setattr("jupyter_dl.ui.frontend.in_kernel", lambda: False)
    clock = Clock()
    with DecodeProgress(clock=clock) as progress:     # 3 s: not worth a line
        for done in range(0, 101, 10):
            clock.now += 0.3
            progress(done, 100)
    assert capsys.readouterr().out == ""
    with DecodeProgress(clock=clock) as progress:
        for done in range(0, 101, 10):
            clock.now += 0.6
            progress(done, 100)
    assert capsys.readouterr().out == "Decoded 100 images in 6 s (cached for next time).\n"


def test_build_learner_shows_the_count_of_a_first_decode_and_nothing_once_cached(monkeypatch, folder):
    monkeypatch.setattr(decode_progress, "SHOW_AFTER", 0.0)
    monkeypatch.setattr(decode_progress, "EVERY", 0.0)
    page = Page(monkeypatch)
    build_learner(folder, TinyNet(), size=16, bs=4, workers=2)
    assert len(page.outputs) == 1 and page.ids == [True]
    texts = page.texts()
    assert texts[0] == "Decoding 0/16 images\u2026"
    assert any(text.startswith("Decoding 9/16 images \u00b7 ") for text in texts)   # one count over both splits
    assert texts[-1].startswith("Decoded 16 images in ") and texts[-1].endswith("(cached for next time).")
    build_learner(folder, TinyNet(), size=16, bs=4, workers=2)                    # from the cache
    build_learner(folder, TinyNet(), size=24, bs=4, quiet=True)                   # decoded again, quietly
    assert len(page.outputs) == 1


# ----------------------------------------------------------------------------- decoder warnings
@pytest.mark.parametrize("workers", [0, 3])
def test_decoder_warnings_are_collected_into_the_config_and_summary_not_printed(monkeypatch, folder, capfd,
                                                                                 workers):
    # PIL's own DecompressionBombWarning, for every image over MAX_IMAGE_PIXELS (16 x 16 = 256 > 200).
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 200)
    learn = build_learner(folder, TinyNet(), size=16, bs=4, workers=workers)
    out, err = capfd.readouterr()
    assert "Warning" not in err and "Warning" not in out
    assert learn.config["decode_warnings"] == 16
    text = summary_text(learn)
    assert "16 images gave decoder warnings: " in text
    assert "_0.png (DecompressionBombWarning: Image size (256 pixels) exceeds limit of 200 pixels" in text
    assert "and 13 more." in text
    again = build_learner(folder, TinyNet(), size=16, bs=4, workers=workers)   # cached: still reported
    assert again.config["decode_warnings"] == 16


def test_a_clean_data_set_has_no_decoder_warnings(folder):
    learn = build_learner(folder, TinyNet(), size=16, bs=4)
    assert learn.config["decode_warnings"] == 0
    assert "decoder warning" not in summary_text(learn)


# ----------------------------------------------------------------------------- predict on a bad file
@pytest.fixture
def learn(folder):
    return build_learner(folder, TinyNet(), size=16, bs=4)


def raised(call) -> UnreadableImageError:
    with pytest.raises(UserInputError) as info:
        call()
    error = info.value
    assert isinstance(error, UnreadableImageError)
    # Below the user's call, only the line that raised: no decoder frames, no "During handling ..." chain.
    ours = [frame for frame in traceback.extract_tb(error.__traceback__) if "tests" not in Path(frame.filename).parts]
    assert [frame.name for frame in ours] == ["checked"]
    assert error.__suppress_context__ and error.__cause__ is None
    return error


def test_predict_on_a_missing_file_says_so_and_where_it_looked(learn):
    error = raised(lambda: learn.predict("cats/tabby.jpg"))
    assert str(error) == ("cats/tabby.jpg does not exist: pass the path of an image file (check the spelling "
                          f"and the current directory, {os.getcwd()}).")


def test_predict_batch_names_the_file_it_cannot_read(learn, folder, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    good = sorted(folder.rglob("*.png"))[:2]
    error = raised(lambda: learn.predict_batch([*good, notes]))
    assert str(error) == (f"{notes} is not an image PIL can read (not a recognised image format): pass a JPEG, "
                          "PNG, BMP, GIF, WebP or TIFF file that opens in an image viewer.")
    assert str(raised(lambda: learn.predict(folder))).startswith(f"{folder} is a folder: pass the path of one image")
    assert str(raised(lambda: learn.predict(tmp_path / "gone.png"))) == (
        f"{tmp_path / 'gone.png'} does not exist: pass the path of an image file (check the spelling).")
    assert str(raised(lambda: learn.predict(torch.zeros(2, 3, 4, 5)))) == (
        "Cannot predict on the array of shape (2, 3, 4, 5): expected CHW, HWC or HW.")


def test_predict_on_a_damaged_file(learn, tmp_path):
    path = make_image(tmp_path / "cut.png", size=32)
    path.write_bytes(path.read_bytes()[:60])
    assert "is not an image PIL can read (" in str(raised(lambda: learn.predict(path)))
    assert learn.predict(make_image(tmp_path / "fine.png", size=20))[0] in learn.classes


def test_the_line_can_count_other_work_than_decoding(monkeypatch):
    page, clock = Page(monkeypatch), Clock()
    progress = DecodeProgress(clock=clock, verb="Embedding", past="Embedded")
    progress(0, 10)
    clock.now += 1.0
    progress(4, 10)
    assert page.texts()[-1].startswith("Embedding 4/10 images \u00b7 4 img/s")
    assert progress.final_text(ok=False) == "Embedding stopped at 4/10 images."
    progress(10, 10)
    progress.finish()
    assert page.texts()[-1].startswith("Embedded 10 images in")

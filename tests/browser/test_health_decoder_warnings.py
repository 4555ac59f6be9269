"""%browse's health report mentions the images the decoder warned about (the warnings are never printed)."""
import PIL.Image
from imagegen import make_image, make_image_folder

from jupyter_dl.browser.state import decode_warnings_line
from jupyter_dl.browser.static import health_line
from jupyter_dl.data.catalog import build_catalog
from jupyter_dl.data.health import check_health


def test_the_health_line_counts_them_and_the_tooltip_says_which(tmp_path, monkeypatch, capfd):
    root = make_image_folder(tmp_path / "d", classes={"a": 3, "b": 3}, size=12)
    make_image(root / "b" / "huge.png", size=20)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 300)
    catalog = build_catalog(root)
    report = check_health(catalog)
    assert "1 image gave a decoder warning" in health_line(report, report.filters())
    assert decode_warnings_line(report, catalog).startswith(
        "1 image gave a decoder warning: huge.png (DecompressionBombWarning: Image size (400 pixels)")
    assert "Warning" not in capfd.readouterr().err

"""The SVG curves of the view without widgets: what they draw, that they stay small, and valid SVG."""
import math
import re
import xml.etree.ElementTree as ET

from jupyter_dl.dashboard.svg_chart import SvgChart, sparkline, svg_image

SVG = "{http://www.w3.org/2000/svg}"


def points(d: str) -> int:
    """Points in a path: one M or L command each."""
    return len(re.findall(r"[ML]", d))


def elements(svg: str, cls: str) -> list:
    root = ET.fromstring(svg)                      # well-formed XML: every front end can parse it
    return [el for el in root.iter() if cls in (el.get("class") or "").split()]


def train(chart: SvgChart, epochs: int = 2, steps: int = 50, metrics: bool = True) -> None:
    x = 0
    for epoch in range(1, epochs + 1):
        xs = list(range(x + 1, x + steps + 1))
        x += steps
        losses = [2.0 / (1 + 0.05 * s) for s in xs]
        chart.add_losses(xs, losses, losses, epoch)
        chart.add_lrs(xs, [1e-3 * s / x for s in xs])
        record = {"epoch": epoch, "phase": "unfrozen", "train_loss": 0.6, "valid_loss": 0.5 / epoch, "seconds": 2.0}
        if metrics:
            record["accuracy"] = 0.7 + 0.1 * epoch
        chart.add_epoch(x, record)


def test_draws_train_valid_metric_and_lr_curves():
    chart = SvgChart()
    train(chart)
    chart.add_phase_mark(50.5, "unfrozen")
    svg = chart.svg("learn")
    root = ET.fromstring(svg)
    assert root.get("class") == "jdl-svg-chart" and root.get("data-steps") == "100" and root.get("data-epochs") == "2"
    (curve,) = elements(svg, "jdl-svg-train")
    assert curve.get("data-points") == "100" and points(curve.get("d")) == 100
    (valid,) = elements(svg, "jdl-svg-valid")
    assert points(valid.get("d")) == 2 and len(elements(svg, "jdl-svg-valid-point")) == 2
    (metric,) = elements(svg, "jdl-svg-metric")
    assert metric.get("data-name") == "accuracy" and points(metric.get("d")) == 2
    assert points(elements(svg, "jdl-svg-lr")[0].get("d")) == 100
    assert len(elements(svg, "jdl-svg-phase")) == 1
    texts = " ".join(el.text or "" for el in root.iter(f"{SVG}text"))
    assert "train loss (smoothed)" in texts and "valid loss" in texts and "accuracy" in texts and "unfrozen" in texts
    assert "learn" in root.find(f"{SVG}title").text


def test_the_loss_goes_down_the_page_as_it_falls():
    chart = SvgChart()
    train(chart, epochs=1)
    d = elements(chart.svg(), "jdl-svg-train")[0].get("d")
    ys = [float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", d)]
    assert ys[0] < ys[-1]                                 # SVG y grows downwards: a falling loss goes down


def test_stays_small_on_a_long_run():
    chart = SvgChart(max_points=300)
    train(chart, epochs=40, steps=500)                    # 20,000 steps
    svg = chart.svg()
    (curve,) = elements(svg, "jdl-svg-train")
    assert int(curve.get("data-points")) <= 301 and ET.fromstring(svg).get("data-steps") == "20000"
    assert len(svg) < 40_000


def test_gaps_at_nan_and_no_nan_in_the_svg():
    chart = SvgChart()
    chart.add_losses([1, 2, 3, 4, 5], [1.0] * 5, [1.0, 0.9, math.nan, 0.8, 0.7], 1)
    chart.add_epoch(5, {"epoch": 1, "valid_loss": math.inf, "accuracy": math.nan})
    svg = chart.svg()
    d = elements(svg, "jdl-svg-train")[0].get("d")
    assert d.count("M") == 2 and points(d) == 4
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert not elements(svg, "jdl-svg-valid")            # no finite valid loss yet


def test_names_are_escaped():
    chart = SvgChart()
    train(chart, epochs=1, metrics=False)
    chart.add_epoch(60, {"epoch": 2, "valid_loss": 0.4, "<b>f1'": 0.5})
    svg = chart.svg("run <1>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert elements(svg, "jdl-svg-metric")[0].get("data-name") == "<b>f1'"


def test_nothing_to_draw_before_the_first_point():
    assert SvgChart().svg() == "" and SvgChart().text() == ""


def test_text_fallback_is_a_sparkline_and_the_last_epoch():
    chart = SvgChart()
    train(chart)
    text = chart.text()
    assert text.startswith("train loss \u2588") and "(100 steps)" in text
    assert "epoch 2: valid loss 0.2500, accuracy 0.9000" in text
    assert sparkline([3, 2, 1]) == "\u2588\u2585\u2581" and len(sparkline(list(range(100)))) == 24


def test_the_final_image_holds_the_same_drawing():
    import base64

    chart = SvgChart()
    train(chart)
    svg = chart.svg("learn", color="#6e7781")
    img = svg_image(svg, alt="train loss <falls>")
    root = ET.fromstring(img)
    assert root.tag == "img" and root.get("class") == "jdl-svg-image"
    assert (root.get("data-steps"), root.get("data-epochs"), root.get("data-points")) == ("100", "2", "100")
    assert root.get("alt") == "train loss <falls>" and "<falls>" not in img
    source = root.get("src")
    assert source.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(source.split(",", 1)[1]).decode() == svg
    assert "color:#6e7781" in svg and svg_image("") == ""

"""%gpu headless: made-up samples (two GPUs, no GPU, torch memory) and the recorded fake NVML,
assertions on widget state, the static table, the magic, and when updates (and the sampler thread) stop.

No wall clock: samples carry made-up times; the few tests that run the real sampler thread wait
for a condition with a generous deadline, never for a duration.
"""
import subprocess
import sys
import threading

import pytest
from IPython.core.error import UsageError

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from chart_paths import needs_figure_widgets

from jupyter_dl.gpu import cards as gpu_cards  # noqa: E402
from jupyter_dl.gpu import widget as view  # noqa: E402
from jupyter_dl.gpu.widget import GpuMonitor  # noqa: E402
from jupyter_dl.monitor import DeviceMemory, GpuReading, Probe, Reading, Sampler  # noqa: E402
from jupyter_dl.ui import frontend  # noqa: E402
from jupyter_dl.ui.formatting import format_bytes, format_used_total  # noqa: E402
from jupyter_dl.ui.output import WIDGET_MIME  # noqa: E402

GB = 1024 ** 3
MB = 1024 ** 2
NO_GPU = "no NVIDIA GPU: NVML says Driver Not Loaded"
H100 = "NVIDIA H100 80GB HBM3"


def two_gpus(t=1000.0, util=87.0, used=int(11.2 * GB), **kw):
    gpus = [GpuReading(0, H100, util, used, 16 * GB, temperature_c=54.0, power_w=312.5, power_limit_w=700.0,
                      process_memory=11 * GB),
            GpuReading(1, H100, 3.0, int(0.5 * GB), 16 * GB, temperature_c=31.0, power_w=71.0, power_limit_w=700.0)]
    return Reading(time=t, cpu_percent=12.0, ram_used=int(3.1 * GB), ram_total=24 * GB, process_rss=350 * MB,
                  gpus=gpus, **kw)


def no_gpu(t=1000.0, cpu=25.0, **kw):
    return Reading(time=t, cpu_percent=cpu, ram_used=6 * GB, ram_total=24 * GB, process_rss=200 * MB, gpus=[],
                  gpu_error=NO_GPU, **kw)


class FakeProbe:
    """Stands in for the NVML/psutil probe: made-up samples, one second apart in made-up time."""

    def __init__(self, make=two_gpus):
        self.make = make
        self.count = 0

    def sample(self):
        self.count += 1
        return self.make(t=1000.0 + self.count)


@pytest.fixture
def sampler():
    sampler = Sampler(probe_factory=FakeProbe)
    yield sampler
    for subscription in list(sampler._subscriptions):  # a failed test must not leave a thread behind
        subscription.close()


@pytest.fixture(autouse=True)
def _no_monitor_left_running():
    yield
    view.stop_active("test ended")


@pytest.fixture
def shown(monkeypatch):
    """Record what is displayed; display handles record their updates in ``.updates``."""
    bundles = []

    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, bundle, raw=False, **kw):
            self.updates.append(bundle)

    def fake_display(*objs, raw=False, display_id=None, **kw):
        handle = Handle()
        for obj in objs:
            bundles.append((obj, handle))
        return handle if display_id else None

    monkeypatch.setattr("IPython.display.display", fake_display)
    return bundles


def feed(monitor, samples):
    for sample in samples:
        monitor._on_sample(sample)
    assert monitor.failures == 0, monitor.last_error


def wait_for(predicate, what, timeout=20.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        done.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ------------------------------------------------------------------------------------ cards
def test_gpu_cards_show_name_util_memory_temperature_power(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [two_gpus()])
    assert list(monitor.cards) == ["gpu0", "gpu1", "cpu", "ram"]
    card = monitor.cards["gpu0"].value
    for text in (H100, "GPU 0", "87%", "11.2/16.0 GB", "54 \u00b0C", "312/700 W", "this kernel 11.0 GB"):
        assert text in card
    assert "width:70.0%" in card                                   # the memory bar: 11.2 of 16 GB
    assert "0.5/16.0 GB" in monitor.cards["gpu1"].value and "this kernel" not in monitor.cards["gpu1"].value
    assert "12%" in monitor.cards["cpu"].value
    assert "3.1/24.0 GB" in monitor.cards["ram"].value and "this kernel 350 MB" in monitor.cards["ram"].value
    assert monitor.error.value == ""
    assert "live" in monitor.header.value


def test_cards_follow_the_samples_and_a_full_gpu_turns_red(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [two_gpus(t=1000.0), two_gpus(t=1001.0, util=12.0, used=int(15.5 * GB))])
    card = monitor.cards["gpu0"].value
    assert "12%" in card and "15.5/16.0 GB" in card and "87%" not in card
    assert "#d32f2f" in card                                        # 97 % used: red bar


def test_unknown_numbers_show_a_dash_not_a_crash(sampler):
    bare = Reading(time=1.0, cpu_percent=1.0, ram_used=GB, ram_total=2 * GB, process_rss=MB,
                  gpus=[GpuReading(0, "Tesla T4", None, 0, 0)])
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [bare])
    card = monitor.cards["gpu0"].value
    assert "Tesla T4" in card and "\u2013" in card and "W" not in card and "\u00b0C" not in card


@needs_figure_widgets
def test_without_a_gpu_the_reason_and_cpu_ram_cards(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [no_gpu(t=1000.0 + i) for i in range(3)])
    assert list(monitor.cards) == ["cpu", "ram"]
    assert "No NVIDIA GPU: NVML says Driver Not Loaded" in monitor.error.value
    assert "25%" in monitor.cards["cpu"].value and "6.0/24.0 GB" in monitor.cards["ram"].value
    names = [trace.name for trace in monitor.figure.data]
    assert names == ["CPU", "RAM"] and all(trace.visible is not False and trace.visible != "legendonly"
                                           for trace in monitor.figure.data)
    assert list(monitor.figure.data[0].y) == [25.0, 25.0, 25.0] and list(monitor.figure.data[1].y) == [25.0] * 3


@pytest.mark.parametrize("memory, title, texts", [
    (DeviceMemory("cuda", 10 * GB, 11 * GB, int(10.5 * GB)), "PyTorch \u00b7 CUDA",
     ("10.0 GB", "reserved 11.0 GB", "peak 10.5 GB")),
    (DeviceMemory("mps", int(1.5 * GB), 3 * GB, None), "PyTorch \u00b7 Apple MPS", ("1.5 GB", "driver 3.0 GB")),
])
def test_torch_memory_card_where_torch_uses_a_device(sampler, memory, title, texts):
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [no_gpu(device_memory=memory)])
    assert list(monitor.cards) == ["torch", "cpu", "ram"]
    card = monitor.cards["torch"].value
    assert title in card and all(text in card for text in texts)


def test_the_recorded_nvml_reading_through_the_real_probe():
    from fake_nvml import FakeNvml

    sampler = Sampler(probe_factory=lambda: Probe(nvml=FakeNvml()))
    sampler.sample_now()
    monitor = GpuMonitor(sampler=sampler, show=False, history_seconds=60)
    card = monitor.cards["gpu0"].value
    assert H100 in card and "2%" in card and "1.5/79.6 GB" in card and "79/700 W" in card  # 79.1 W
    assert "this kernel 1.5 GB" in card                             # the recorded process is this one
    busy = monitor.cards["gpu1"].value
    assert "100%" in busy and "37.5/79.6 GB" in busy and monitor.error.value == ""


# ------------------------------------------------------------------------------------ chart
@needs_figure_widgets
def test_time_series_grows_with_samples_and_stays_bounded(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False, history_seconds=60, max_points=40)
    lengths = []
    for i in range(200):
        feed(monitor, [two_gpus(t=1000.0 + i, util=float(i % 100))])
        lengths.append(len(monitor.figure.data[0].x))
    assert lengths[:3] == [1, 2, 3]                                   # grows as samples come
    assert max(lengths) <= 40 and len(monitor.samples) == 61         # 60 s kept, 40 points drawn at most
    names = [trace.name for trace in monitor.figure.data]
    assert names == ["GPU 0 util", "GPU 0 memory", "GPU 1 util", "GPU 1 memory", "CPU", "RAM"]
    util, memory = monitor.figure.data[0], monitor.figure.data[1]
    assert util.y[-1] == 99.0 and round(float(memory.y[-1])) == 70   # the newest point is always drawn
    assert all(len(trace.x) == len(util.x) for trace in monitor.figure.data)
    assert monitor.figure.data[4].visible == "legendonly"             # CPU/RAM one click away with GPUs
    assert util.x[-1] == 0 and util.x[0] >= -60                        # seconds before the newest reading
    assert tuple(monitor.figure.layout.xaxis.range) == (-60, 0)       # a fixed window: fills from the right


def test_chart_redraws_at_most_every_half_second_of_samples(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False, interval=0.1)
    feed(monitor, [two_gpus(t=1000.0 + i / 10) for i in range(20)])
    assert len(monitor.samples) == 20 and "87%" in monitor.cards["gpu0"].value
    assert 3 <= monitor.draws <= 5                                    # 2 s of samples, every 0.5 s


def test_a_faster_sampler_is_followed_at_the_monitors_own_interval(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False, interval=2.0)
    feed(monitor, [two_gpus(t=1000.0 + i) for i in range(10)])       # another listener made it 1 s
    assert [s.time for s in monitor.samples] == [1000.0, 1002.0, 1004.0, 1006.0, 1008.0]


@needs_figure_widgets
def test_the_chart_starts_with_the_samplers_history(sampler):
    for _ in range(5):
        sampler.sample_now()
    monitor = GpuMonitor(sampler=sampler, show=False)
    assert len(monitor.figure.data[0].x) == 5 and "87%" in monitor.cards["gpu0"].value


# ------------------------------------------------------------------------------------ stopping
def test_clearing_the_output_stops_updates_and_the_sampler_thread(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False).start()
    assert monitor.widget.get_state()["_view_count"] == 0            # asks the front end to count its views
    wait_for(lambda: monitor.samples, "the first sample from the sampler thread")
    assert sampler.running and monitor.running
    monitor.widget.set_state({"_view_count": 1})                     # the front end showed it
    assert monitor.running
    monitor.widget.set_state({"_view_count": 0})                     # ... and the output was cleared
    assert monitor.stopped and not sampler.running
    assert "cleared" in monitor.stop_reason and "stopped" in monitor.header.value
    before = monitor.cards["gpu0"].value
    monitor._on_sample(two_gpus(t=5000.0, util=1.0))                  # a late sample changes nothing
    assert monitor.cards["gpu0"].value == before


def test_a_front_end_that_does_not_count_views_keeps_it_running(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False).start()
    monitor.widget.set_state({"_view_count": 0})                     # 0 from the start: no view was removed
    assert monitor.running and sampler.running
    monitor.stop()
    assert not sampler.running


def test_closing_the_widget_stops_updates_and_the_sampler_thread(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False).start()
    assert sampler.running
    monitor.widget.close()
    assert monitor.stopped and not sampler.running and "closed" in monitor.stop_reason


def test_stop_leaves_the_last_reading_as_a_static_table(sampler, shown):
    sampler.sample_now()
    monitor = GpuMonitor(sampler=sampler).start()
    bundle, handle = shown[0]
    assert bundle[WIDGET_MIME]["model_id"] == monitor.widget.model_id
    assert "11.2/16.0 GB" in bundle["text/plain"]                     # viewers without widgets: the first reading
    monitor.stop_button.click()
    assert monitor.stopped and not sampler.running
    static = handle.updates[-1]
    assert WIDGET_MIME not in static and "jdl-gpu-table" in static["text/html"]
    assert "stopped" in static["text/plain"] and "87%" in static["text/plain"]


def test_a_snapshot_of_the_first_reading_follows_the_widget_until_it_stops(sampler, shown):
    """What a notebook reopened without its kernel shows (hidden by CSS while the widget renders: tests/e2e)."""
    import re

    sampler.sample_now()
    monitor = GpuMonitor(sampler=sampler).start()
    (widget_bundle, _), (snapshot, handle) = shown
    assert WIDGET_MIME in widget_bundle and WIDGET_MIME not in snapshot
    token = re.search(r"jdl-snapshot jdl-snap-([0-9a-f]+)", snapshot["text/html"]).group(1)
    assert "jdl-gpu-table" in snapshot["text/html"] and "run the cell again" in snapshot["text/html"]
    assert "11.2/16.0 GB" in snapshot["text/plain"]
    assert "jdl-live" in monitor.widget._dom_classes
    assert f".jdl-snap-{token}{{display:none !important}}" in monitor.widget.children[0].value
    monitor.stop("stopped")                           # the widget's output becomes the table: no snapshot needed
    assert handle.updates == [{"text/plain": ""}]

    later = GpuMonitor(sampler=Sampler(probe_factory=FakeProbe), show=True)   # no reading yet: filled in later
    _, handle = shown[-1]
    assert "jdl-gpu-table" not in shown[-1][0]["text/html"] and handle.updates == []
    feed(later, [two_gpus(t=1000.0), two_gpus(t=1001.0, util=5.0)])
    assert len(handle.updates) == 1 and "87%" in handle.updates[0]["text/plain"]   # the first reading, once
    later.close()


def test_a_new_monitor_takes_over_from_the_previous_one(sampler, shown):
    first = GpuMonitor(sampler=sampler).start()
    second = GpuMonitor(sampler=sampler).start()
    assert first.stopped and "newer" in first.stop_reason and second.running
    assert sampler.running and len(sampler._subscriptions) == 1
    assert view.active_monitor() is second
    assert view.stop_active() is True and not sampler.running
    assert view.stop_active() is False


# ------------------------------------------------------------------------------------ static table
def test_static_table_html_and_text_carry_the_numbers():
    sample = two_gpus(device_memory=DeviceMemory("cuda", 10 * GB, 11 * GB, int(10.5 * GB)))
    bundle = gpu_cards.static_bundle(sample)
    page, text = bundle["text/html"], bundle["text/plain"]
    for out in (page, text):
        for number in (H100, "GPU 1", "87%", "11.2/16.0 GB (70%)", "54 \u00b0C", "312/700 W", "11.0 GB",
                       "12%", "3.1/24.0 GB", "350 MB", "PyTorch \u00b7 CUDA", "peak 10.5 GB"):
            assert number in out, (number, out[:400])
    assert "<table class='jdl-gpu-table'" in page
    header = text.splitlines()[1].split()
    assert header[:2] == ["device", "load"] and "temperature" in header


def test_static_table_without_a_gpu_says_why_and_drops_empty_columns():
    bundle = gpu_cards.static_bundle(no_gpu())
    assert "No NVIDIA GPU: NVML says Driver Not Loaded" in bundle["text/html"]
    lines = bundle["text/plain"].splitlines()
    assert lines[1] == "No NVIDIA GPU: NVML says Driver Not Loaded"
    assert "temperature" not in lines[2] and "power" not in lines[2]
    assert any(line.startswith("CPU") and "25%" in line for line in lines)
    assert any(line.startswith("RAM") and "6.0/24.0 GB" in line and "200 MB" in line for line in lines)


def test_units_are_binary_gigabytes_labelled_gb():
    assert format_used_total(16 * GB, 16 * GB) == "16.0/16.0 GB"
    assert format_used_total(12026757120, 85520809984) == "11.2/79.6 GB"   # what nvidia-smi's MiB say
    assert format_bytes(350 * MB) == "350 MB" and format_bytes(int(1.25 * GB)) == "1.2 GB"
    assert format_bytes(None) == "\u2013"


# ------------------------------------------------------------------------------------ magic and API
@pytest.fixture
def fake_sampler(monkeypatch):
    """The magic and API use this sampler instead of the process's real one."""
    sampler = Sampler(probe_factory=FakeProbe)
    monkeypatch.setattr("jupyter_dl.monitor.sampler.get_sampler", lambda: sampler)
    yield sampler
    for subscription in list(sampler._subscriptions):
        subscription.close()


def test_magic_once_prints_the_table_in_a_terminal(shell, fake_sampler, capsys):
    shell.run_line_magic("gpu", "--once")
    out = capsys.readouterr().out
    assert "GPU 0 \u00b7 NVIDIA H100 80GB HBM3" in out and "11.2/16.0 GB" in out and "RAM" in out
    assert not fake_sampler.running                                  # one reading, no thread


def test_magic_once_in_a_kernel_displays_html_and_text(shell, fake_sampler, shown, monkeypatch):
    monkeypatch.setattr(frontend, "kernel_shell", lambda: shell)
    shell.run_line_magic("gpu", "--once")
    (bundle, _), = shown
    assert "jdl-gpu-table" in bundle["text/html"] and "87%" in bundle["text/html"]
    assert "11.2/16.0 GB" in bundle["text/plain"]


def test_magic_without_widgets_falls_back_to_the_table(shell, fake_sampler, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_WIDGETS", "0")
    shell.run_line_magic("gpu", "")
    out = capsys.readouterr().out
    assert "live updates need a Jupyter widget front end" in out and "87%" in out
    assert not fake_sampler.running and view.active_monitor() is None


def test_magic_shows_the_live_widget_and_stop_ends_it(shell, fake_sampler, shown, monkeypatch, capsys):
    monkeypatch.setattr(frontend, "widgets_available", lambda: True)
    shell.run_line_magic("gpu", "--interval 0.5 --history 120")
    monitor = view.active_monitor()
    assert monitor is not None and monitor.interval == 0.5 and monitor.history_seconds == 120
    assert shown[0][0][WIDGET_MIME]["model_id"] == monitor.widget.model_id
    assert fake_sampler.running and fake_sampler.interval == 0.5
    wait_for(lambda: len(monitor.samples) >= 2, "samples from the sampler thread")
    assert "87%" in monitor.cards["gpu0"].value
    shell.run_line_magic("gpu", "--stop")
    assert monitor.stopped and not fake_sampler.running
    shell.run_line_magic("gpu", "--stop")
    assert "No live GPU monitor" in capsys.readouterr().out


@pytest.mark.parametrize("line, words", [
    ("--interval 0", "--interval must be at least 0.1 seconds"),
    ("--interval -1", "--interval must be at least 0.1 seconds"),
    ("--interval fast", "--interval takes a number of seconds"),
    ("--history 5000", "--history must be at least 10 and at most 600 seconds"),
    ("--interval nan", "--interval must be at least 0.1 seconds"),
])
def test_bad_input_is_one_usage_error_sentence(shell, fake_sampler, line, words):
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("gpu", line)
    assert type(err.value) is UsageError
    message = str(err.value)
    assert message.startswith(words) and message.endswith(".") and ". " not in message.replace("e.g. ", "")
    assert not fake_sampler.running


def test_python_api_is_exported_lazily_and_matches_the_magic(fake_sampler, capsys):
    import jupyter_dl
    from jupyter_dl.errors import UserInputError

    assert jupyter_dl.gpu_monitor(once=True) is None
    assert "11.2/16.0 GB" in capsys.readouterr().out
    with pytest.raises(UserInputError):
        jupyter_dl.gpu_monitor(interval=0)
    assert jupyter_dl.stop_gpu_monitor() is False


def test_gpu_magic_does_not_import_torch():
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'jupyter_dl')\n"
        "ip.run_line_magic('gpu', '--once')\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "CPU" in out.stdout and out.stdout.strip().splitlines()[-1] == "False"


@needs_figure_widgets
def test_a_pause_in_sampling_breaks_the_lines_instead_of_joining_them(sampler):
    monitor = GpuMonitor(sampler=sampler, show=False)
    feed(monitor, [two_gpus(t=1000.0 + i) for i in range(3)] + [two_gpus(t=1100.0 + i) for i in range(3)])
    x, columns = monitor.series()
    assert x == [-102.0, -101.0, -100.0, -51.0, -2.0, -1.0, 0.0]
    assert columns[0][3] is None and None not in columns[0][:3] + columns[0][4:]
    assert len(monitor.figure.data[0].x) == 7


# ------------------------------------------------------------------------------------ a closed tab
class Activity:
    """Stands in for the kernel's cell tracker, on a clock the test moves."""

    def __init__(self):
        self.now = 0.0
        self.busy = False
        self.last_cell_end = 0.0

    def clock(self):
        return self.now


def ping(monitor):
    """A view of the widget says it is shown (the message the page sends every few seconds)."""
    monitor.presence._handle_msg({"content": {"data": {"method": "custom", "content": {"shown": True}}},
                                  "buffers": []})


def test_no_word_from_any_page_pauses_sampling_and_a_page_resumes_it(sampler):
    activity = Activity()
    monitor = GpuMonitor(sampler=sampler, show=False, lease_seconds=15, activity=activity).start()
    ping(monitor)
    activity.now = 14.0
    monitor._on_sample(two_gpus(t=1000.0))
    assert monitor.running and len(monitor.samples) >= 1
    activity.now = 16.0                                              # the tab was closed 16 s ago
    monitor._on_sample(two_gpus(t=1001.0, util=5.0))
    assert monitor.paused and not monitor.running and not sampler.running
    assert "paused" in monitor.header.value and ">5%<" not in monitor.cards["gpu0"].value
    ping(monitor)                                                    # the notebook is open again
    assert not monitor.paused and monitor.running and sampler.running
    assert "live" in monitor.header.value
    monitor.stop()
    assert not sampler.running


def test_a_busy_kernel_is_never_judged_and_the_lease_restarts_when_the_cell_ends(sampler):
    activity = Activity()
    monitor = GpuMonitor(sampler=sampler, show=False, lease_seconds=15, activity=activity).start()
    ping(monitor)
    activity.busy, activity.now = True, 600.0                        # a long training cell: pings wait
    monitor._on_sample(two_gpus(t=1000.0))
    assert monitor.running
    activity.busy, activity.last_cell_end, activity.now = False, 600.0, 610.0
    monitor._on_sample(two_gpus(t=1001.0))
    assert monitor.running                                           # queued pings get time to arrive
    activity.now = 616.0
    monitor._on_sample(two_gpus(t=1002.0))
    assert monitor.paused and not sampler.running


def test_a_front_end_that_never_pings_is_never_paused(sampler):
    activity = Activity()
    monitor = GpuMonitor(sampler=sampler, show=False, lease_seconds=15, activity=activity).start()
    activity.now = 1000.0
    monitor._on_sample(two_gpus(t=1000.0))
    assert monitor.running and not monitor.paused


def test_the_page_presence_widget_pings_from_every_view():
    from jupyter_dl.gpu.presence import PagePresence

    esm = PagePresence._esm
    assert "setInterval" in esm and "clearInterval" in esm and "shown: true" in esm
    assert PagePresence().layout.display == "none"


def test_kernel_activity_follows_the_shells_cells(shell):
    from jupyter_dl.gpu.presence import KernelActivity

    activity = KernelActivity(clock=lambda: 42.0)
    activity.watch(shell)
    activity.watch(shell)                                            # once per shell
    shell.run_cell("1 + 1")
    assert activity.busy is False and activity.last_cell_end == 42.0
    shell.events.unregister("pre_run_cell", activity._started)
    shell.events.unregister("post_run_cell", activity._ended)


# ------------------------------------------------------------------------------------ plotly 5: SVG chart
def svg_lines(monitor) -> dict[str, list[list[str]]]:
    """Line name -> its drawn stretches (each a list of "x y" points) in the SVG chart."""
    import re

    lines = {}
    for name, d in re.findall(r"<path class='jdl-gpu-line' data-name='([^']*)' d='([^']*)'", monitor.figure.value):
        lines[name] = [part.split(" L") for part in d.lstrip("M").split(" M")] if d else []
    return lines


def test_with_plotly_5_the_chart_is_svg_and_grows_with_samples(sampler, monkeypatch):
    from jupyter_dl.gpu.chart import SvgUsageChart

    monkeypatch.setattr(frontend, "plotly_figure_widgets", lambda: False)
    monitor = GpuMonitor(sampler=sampler, show=False, history_seconds=60, max_points=40)
    assert isinstance(monitor.chart, SvgUsageChart) and "jdl-gpu-plot" in monitor.figure._dom_classes
    lengths = []
    for i in range(80):
        feed(monitor, [two_gpus(t=1000.0 + i, util=float(i % 100))])
        lengths.append(len(svg_lines(monitor)["GPU 0 util"][0]))
    assert lengths[:3] == [1, 2, 3] and max(lengths) <= 40               # grows, and stays bounded
    # With GPUs: their util and memory lines; CPU and RAM only where there is no GPU (no legend to click).
    assert list(svg_lines(monitor)) == ["GPU 0 util", "GPU 0 memory", "GPU 1 util", "GPU 1 memory"]
    assert "-60 s" in monitor.figure.value and "100%" in monitor.figure.value
    newest = svg_lines(monitor)["GPU 0 util"][0][-1].split()
    assert float(newest[0]) == pytest.approx(900 - 12)                  # the newest reading at the right edge

    alone = GpuMonitor(sampler=sampler, show=False, history_seconds=60)
    feed(alone, [no_gpu(t=2000.0 + i) for i in range(3)] + [no_gpu(t=2030.0 + i) for i in range(3)])
    lines = svg_lines(alone)
    assert list(lines) == ["CPU", "RAM"] and len(lines["CPU"]) == 2       # a pause in sampling: two stretches


def test_with_plotly_5_a_live_monitor_needs_no_plotly_at_all():
    code = (
        "import sys\n"
        "from jupyter_dl.ui import frontend\n"
        "frontend.widgets_available = lambda: True\n"
        "frontend.plotly_figure_widgets = lambda: False\n"
        "import jupyter_dl\n"
        "monitor = jupyter_dl.gpu_monitor(interval=0.5)\n"
        "print(type(monitor.chart).__name__, 'plotly' in sys.modules)\n"
        "monitor.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "SvgUsageChart False", out.stdout + out.stderr

#!/usr/bin/env bash
# Every check that needs a CUDA GPU, in one short run on a lent GPU machine (the `device` tool):
# real NVML through the sampler, torch's allocator numbers, bf16/fp16 fine-tuning, `%gpu --once`,
# the sampler's cost, out-of-memory handling and --auto-bs. Results go to $OUT (default out/gpu).
#
# The machine's image has torch, timm, psutil, nvidia-ml-py and pytest but not IPython,
# ipywidgets, plotly, anywidget or the offline weights: carry them as wheels in .whl/
# (pip download --no-deps --python-version 3.12 ... -d .whl, see the device tool's README).
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" JUPYTER_DL_CACHE=/tmp/jdl-cache JUPYTER_DL_RUNS=/tmp/jdl-runs
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
python3 -c "import torch, timm, pynvml, psutil; print('torch', torch.__version__, 'timm', timm.__version__, 'psutil', psutil.__version__)"
python3 benchmarks/record_nvml.py > "$OUT/nvml_record.json" && echo "recorded NVML -> $OUT/nvml_record.json"
timeout 240 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/monitor/test_monitor.py tests/train/test_data_wait.py 2>&1 | tee "$OUT/pytest.log"
timeout 40 python3 benchmarks/bench_monitor.py --seconds 15 --samples 300 --torch-cuda 2>&1 | tee "$OUT/bench_monitor.txt"
timeout 150 python3 benchmarks/gpu_oom_check.py 2>&1 | tee "$OUT/oom.txt"

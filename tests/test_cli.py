"""The command line: ``python -m jupyter_dl finetune`` / ``jupyter-dl finetune``, alone and under torchrun."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_dl

TINY = ["test_efficientnet", "sample", "--no-pretrained", "--size", "32", "--freeze-epochs", "0", "--epochs", "1"]


def cli(*words: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_dl", *words], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_folder_of(output: str) -> Path:
    lines = [line for line in output.splitlines() if line.startswith("Run folder: ")]
    assert len(lines) == 1, output
    return Path(lines[0].removeprefix("Run folder: "))


@pytest.mark.slow
def test_a_run_from_the_command_line_leaves_a_folder_a_notebook_loads():
    done = cli("finetune", *TINY, "--quiet")
    assert done.returncode == 0, done.stderr
    folder = run_folder_of(done.stdout)
    learn = jupyter_dl.load_learner(folder)
    assert len(learn.classes) == 10 and len(learn.history) == 1


@pytest.mark.parametrize("words, says", [
    (["finetune", "sample", "--epoch", "3"], "jupyter-dl finetune has no option --epoch: did you mean --epochs? "
                                            "(jupyter-dl finetune --help lists every option)."),
    (["finetune", "sample", "--devices", "cpu:0"], "jupyter-dl finetune: --devices cpu:0 asks for no process at all"),
    (["finetune", "sample", "--background"], "jupyter-dl finetune: The command line trains in the foreground"),
    (["train", "sample"], "jupyter-dl: no command 'train'; the command is finetune."),
])
def test_bad_input_exits_2_with_one_sentence(words, says):
    done = cli(*words, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith(says), done.stderr
    assert "Traceback" not in done.stderr


def test_the_help_lists_the_options_and_how_to_use_torchrun():
    done = cli("finetune", "--help", timeout=120)
    assert done.returncode == 0
    assert "torchrun --nnodes 2" in done.stdout and "--devices N" in done.stdout and "--epochs EPOCHS" in done.stdout


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "jupyter-dl"
    assert script.exists(), "reinstall the package (pip install -e .): pyproject.toml declares jupyter-dl"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: jupyter-dl finetune")


@pytest.mark.slow
def test_torchrun_with_two_nodes_trains_one_run_that_load_learner_reads(tmp_path):
    """Two "nodes" of one process each on this machine, c10d rendezvous, gloo: as on two machines."""
    port = free_port()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-conf", "join_timeout=120",
                "-m", "jupyter_dl", "finetune", *TINY, "--bs", "16", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nodes = [subprocess.Popen(torchrun, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    folders = [line for out, _err in outputs for line in out.splitlines() if line.startswith("Run folder: ")]
    assert len(folders) == 1  # rank 0 keeps the run; the other node reports nothing of its own
    folder = Path(folders[0].removeprefix("Run folder: "))
    learn = jupyter_dl.load_learner(folder)
    assert len(learn.history) == 1 and learn.history[0]["accuracy"] > 0.2
    config = json.loads((folder / "log.jsonl").read_text().splitlines()[0])
    assert config["devices"] == "2 processes (cpu)"


def test_a_node_that_finds_no_job_says_so_in_one_sentence():
    port = free_port()  # nobody listens there
    done = cli("finetune", *TINY, env={"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                           "MASTER_PORT": str(port), "JUPYTER_DL_DIST_TIMEOUT": "3"}, timeout=120)
    assert done.returncode == 2
    assert (f"jupyter-dl finetune: Process 1 of 2 found no job at 127.0.0.1:{port} within 3 s: start the first node "
            "(rank 0) there") in done.stderr

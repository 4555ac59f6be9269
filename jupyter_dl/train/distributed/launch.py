"""Starting the worker processes of one job from a kernel, watching them, and ending them all.

Workers are started with **spawn** (never fork) by torch.distributed.elastic's ``start_processes``,
the process layer under torchrun's agent, so a kernel that has already used CUDA can launch (a
forked child of a CUDA process cannot use CUDA). We do not run torchrun's agent itself inside the
kernel: in the main thread it turns a kernel interrupt into SIGTERM for every worker, which would
end the run without its clean stop. Instead the kernel hosts the job's TCPStore on a free port
(port 0: the OS picks one, nothing to race for), and keeps three lines to the workers: a queue for
rank 0's messages, a shared integer for a stop request (Stop button, interrupt), and the process
handles (a worker that dies ends the job: the others are terminated at once).

In the worker, :func:`guard_worker` makes an orphan impossible: a thread ends the process when the
kernel that started it is gone.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import UserInputError
from .ranks import STOP_CODES


@dataclass(frozen=True)
class Place:
    """Where one worker stands in the job (what it needs to join it)."""

    rank: int
    world: int
    local_rank: int
    store: tuple[str, int]
    parent_pid: int


# Messages a worker sends besides rank 0's events (relay.py):
FAILED = "failed"      # ("failed", rank, "TypeError: ...")
FINISHED = "finished"  # ("finished", status, weights bytes): rank 0, at the end


class WorkerGroup:
    """``count`` spawned processes running ``entrypoint(job, place, queue, stop_code)``.

    ``entrypoint``: "package.module:function" (imported in each worker, so the caller need not
    import what the workers run), or a module-level function.
    """

    def __init__(self, entrypoint: str | Callable[..., Any], job: Any, count: int, *,
                 name: str = "jupyter_dl") -> None:
        import multiprocessing

        import torch.distributed as dist
        from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std, start_processes

        context = multiprocessing.get_context("spawn")
        self.count = count
        self.queue = context.Queue()
        self.stop_code = context.RawValue("i", 0)  # read by rank 0's loop every batch: no lock needed
        self.store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
        self.log_dir = Path(tempfile.mkdtemp(prefix="jupyter_dl-workers-"))
        self.failures: list[tuple[int, str]] = []
        self._quiet_elastic()
        places = {rank: Place(rank, count, rank, ("127.0.0.1", self.store.port), os.getpid()) for rank in range(count)}
        with _handlers_kept():
            self.pcontext = start_processes(
                name=name, entrypoint=run_named,
                args={rank: (entrypoint, job, places[rank], self.queue, self.stop_code) for rank in range(count)},
                envs={rank: {"LOCAL_RANK": str(rank), "RANK": str(rank), "WORLD_SIZE": str(count),
                             "TORCHELASTIC_RUN_ID": name} for rank in range(count)},
                logs_specs=DefaultLogsSpecs(log_dir=str(self.log_dir), redirects=Std.ALL), start_method="spawn")
        self.result: Any = None

    @staticmethod
    def _quiet_elastic() -> None:
        # start_processes logs every failure with a traceback of its own: the run says it in one sentence.
        for name in ("torch.distributed.elastic", "torch.distributed.elastic.multiprocessing.api"):
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def request_stop(self, reason: str) -> None:
        """Ask every rank to stop at the next batch boundary (they agree on which one)."""
        self.stop_code.value = max(int(self.stop_code.value), STOP_CODES.get(reason, 1))

    def messages(self, timeout: float) -> Iterator[tuple]:
        """The messages that arrived, waiting up to ``timeout`` seconds for the first."""
        import queue as queue_module

        try:
            message = self.queue.get(timeout=timeout)
        except queue_module.Empty:
            return
        while True:
            if message[0] == FAILED:
                self.failures.append((int(message[1]), str(message[2])))
            yield message
            try:
                message = self.queue.get_nowait()
            except queue_module.Empty:
                return

    def poll(self) -> bool:
        """True once every worker has ended (or one failed and the rest were ended)."""
        if self.result is None:
            self.result = self.pcontext.wait(0)
        return self.result is not None

    @property
    def failed(self) -> bool:
        """Whether a worker failed (its exception, or its process died)."""
        return bool(self.failures) or (self.result is not None and self.result.is_failed())

    def failure_message(self) -> str:
        """One sentence for the failure: the failing worker's own message, else how its process ended.

        A worker that loses its peer reports a broken connection; the one that failed first says why,
        or, killed, says nothing: its exit signal is the story then.
        """
        own = [f for f in self.failures if not _peer_lost(f[1])]
        if own:
            rank, text = own[0]
            return f"Process {rank} of {self.count} failed: {text}"
        failures = sorted((self.result.failures if self.result is not None else {}).items())
        killed = [(rank, f) for rank, f in failures if f.exitcode is not None and f.exitcode < 0]
        if killed:
            rank, failure = killed[0]
            name = signal.Signals(-failure.exitcode).name
            hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
            return f"Process {rank} of {self.count} (pid {failure.pid}) was killed by {name}{hint}."
        if self.failures:
            rank, text = self.failures[0]
            return f"Process {rank} of {self.count} failed: {text}"
        if not failures:
            return f"A training process of {self.count} failed without a message (its output: {self.log_dir})."
        rank, failure = failures[0]
        said = _last_line(self.result.stderrs.get(rank, ""))
        if "bootstrapping phase" in said or "freeze_support" in said:
            said = ("a script that starts a multi-process run must do so under `if __name__ == \"__main__\":` "
                    "(each process imports the script again)")
        return (f"Process {rank} of {self.count} (pid {failure.pid}) exited with code {failure.exitcode}"
                f"{': ' + said if said else ''} (its output: {self.log_dir}).")

    def close(self) -> None:
        """End every worker still running (SIGTERM, then SIGKILL after 5 s) and drop the store."""
        with contextlib.suppress(Exception):
            self.pcontext.close(death_sig=signal.SIGTERM, timeout=5)
        with contextlib.suppress(Exception):
            self.queue.close()
            self.queue.cancel_join_thread()
        del self.store
        if not self.failed:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """The workers' process ids."""
        return list(self.pcontext.pids().values())


@contextlib.contextmanager
def _handlers_kept() -> Iterator[None]:
    """Keep this process's signal handlers: start_processes, in the main thread, replaces SIGINT's and
    SIGTERM's by ones that raise (the agent's way to end its workers), which would turn a kernel
    interrupt into an exception instead of the run's clean stop."""
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    main = threading.current_thread() is threading.main_thread()
    kept = {sig: signal.getsignal(sig) for name in names if (sig := getattr(signal, name, None))} if main else {}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _last_line(path: str) -> str:
    """The last line of a worker's output file that says something ("" when there is none)."""
    try:
        lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        if "freeze_support" in line or "bootstrapping phase" in line:
            return line
    return lines[-1] if lines else ""


def _peer_lost(text: str) -> bool:
    lowered = text.lower()
    return any(sign in lowered for sign in ("connection closed", "connection reset", "broken pipe",
                                            "peer", "timed out", "timeout", "socket"))


def run_named(entrypoint: str | Callable[..., Any], *args: Any) -> Any:
    """In a worker: import "module:function" (or take the function) and call it with ``args``."""
    if not isinstance(entrypoint, str):
        return entrypoint(*args)
    import importlib

    module, _, function = entrypoint.partition(":")
    return getattr(importlib.import_module(module), function)(*args)


def send_last(queue: Any, message: tuple) -> None:
    """In a worker: send its last message and wait until it is handed over, before the worker returns.

    Once every rank has returned, start_processes stops reading anything but the return values and
    waits for the processes to exit, while an exiting process waits for its queue to flush; a message
    larger than the pipe holds (a model's weights) would leave both waiting for ever.
    """
    queue.put(message)
    queue.close()
    queue.join_thread()


def guard_worker(parent_pid: int, interval: float = 0.5) -> None:
    """In a worker: end this process as soon as the kernel that started it is gone (no orphans)."""
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(interval)

    threading.Thread(target=watch, name="jupyter_dl-parent-watch", daemon=True).start()


def describe_exception(exc: BaseException) -> str:
    """What a worker's exception says, in one line (a UserInputError's sentence as it is)."""
    if isinstance(exc, UserInputError):
        return str(exc)
    text = str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

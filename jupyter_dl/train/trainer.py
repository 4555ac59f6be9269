"""The training loop: one-cycle fits with AdamW, mixed precision, events, best weights and clean stops.

It receives a plain ``nn.Module``, optional layer groups (lists of params) and
iterables of ``(x, y)`` batches; it knows nothing of where they came from.

Nothing in the batch loop reads a value back from the device: the smoothed loss
and the epoch's loss sum stay device tensors, and the validation outputs stay on
the device until one read at the end of the epoch. Views call
:meth:`Trainer.running_loss` (one sync) only when they are about to draw.

Each step is timed (waiting for the batch vs computing; see ``timing.py``) without a
sync either, and each fit's peak memory is recorded (``memory.py``): both go into the
epoch records and the FIT_END event, so the views and the run log show them.

A fit can start part-way (``resume``, see ``checkpoint.py``): at a later epoch of its schedule,
with the optimizer's saved state, so a run killed after an epoch goes on where it was.

With ``parallel`` set (one rank of a multi-process job, ``distributed/ranks.py``) the same loop runs its
steps in DistributedDataParallel, agrees with the other ranks on when to stop, and computes the epoch's
numbers over all ranks' items.

One idea, the loop, in one file (a little over 400 lines; the checks of a fit's arguments are in
``fit_arguments.py``) so that a fit reads top to bottom:
:meth:`Trainer.fit_one_cycle` -> ``_run_epoch`` -> ``_train_step``, as nanoGPT's ``train.py`` does.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from ..checks import check_count
from ..errors import UserInputError
from .best_weights import BestWeights, monitor_for
from .checkpoint import FitPosition, FitResume, load_optimizer_state
from .device import resolve_channels_last, resolve_device, resolve_precision
from .events import BATCH_END, CHECKPOINT, EPOCH_END, EPOCH_START, ERROR, FIT_END, FIT_START, STOP, EventBus
from .fit_arguments import batch_count, check_schedule, item_count, per_group_lrs, resume_start
from .losslog import LossLog
from .memory import larger_peak, read_peak, reset_peak
from .metrics import check_metrics, compute_metrics
from .optimizer import LayerGroupOptimizer, build_optimizer, use_fused
from .schedule import OneCycle, step_pos
from .seed import seed_everything
from .stopping import SigintRequestsStop, StopFlag
from .timing import DataTiming, describe_loader, step_timer

if TYPE_CHECKING:
    from .distributed.ranks import RankGroup

Batches = Iterable  # an iterable of (x, y) tensor pairs, iterable once per epoch, with __len__


class Trainer:
    """Fits ``model`` with one-cycle schedules and publishes what happens on ``bus``.

    ``history`` holds one record per completed epoch (``epoch`` counts across
    fits, from 1). The best epoch by the monitored value (the first metric, else
    the validation loss) is kept as a CPU copy of the weights across fits, until
    :meth:`reset_best`.
    """

    def __init__(self, model: nn.Module, *, loss_fn=None, device="cpu", precision="auto",
                 channels_last="auto", metrics=("accuracy",), grad_clip: float | None = None,
                 wd: float = 0.01, bus: EventBus | None = None, seed: int | None = None) -> None:
        if seed is not None:
            seed_everything(seed)
        self.seed = seed
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.channels_last = resolve_channels_last(channels_last, self.device)
        self.metrics = check_metrics(metrics)
        if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
            raise UserInputError(f"grad_clip must be a positive number or None, not {grad_clip!r}.")
        self.grad_clip = float(grad_clip) if grad_clip is not None else None
        if not (isinstance(wd, (int, float)) and wd >= 0):
            raise UserInputError(f"Weight decay must be a number >= 0, not {wd!r}.")
        self.wd = float(wd)
        self.bus = bus if bus is not None else EventBus()
        self.loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
        self.model = model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.history: list[dict] = []
        self.best = BestWeights(*monitor_for(self.metrics))
        self.optimizer: torch.optim.Optimizer | None = None  # only while a fit runs
        self.scaler: torch.amp.GradScaler | None = None       # only while an fp16 fit runs
        self._fit_origin: tuple[str, int, int] | None = None  # (phase, epochs, history length at epoch 0)
        self._stop = StopFlag()
        # Per-step raw and smoothed losses over all fits, written on the device without a sync.
        self.losses = LossLog(self.device)
        self._where = (0, 0)  # (epoch, batches done in it): what STOP reports
        self._timer = step_timer(self.device)
        # The largest fit peak so far ({"peak_memory", "peak_memory_kind", "memory_total"}; see memory.py).
        self.peak_memory: dict | None = None
        # One rank of a multi-process job (train/distributed/ranks.py), or None: one process.
        self.parallel: RankGroup | None = None
        self._ddp: nn.Module | None = None  # the model in DistributedDataParallel while a fit of a rank runs

    # ----------------------------------------------------------------- public API
    def fit_one_cycle(self, train: Batches, valid: Batches | None, epochs: int,
                      lrs: Sequence[float] | float, *,
                      param_groups: Sequence[Sequence[nn.Parameter]] | None = None, phase: str = "train",
                      pct_start: float = 0.25, div: float = 25.0, div_final: float = 1e5,
                      moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
                      resume: FitResume | None = None) -> str:
        """Train for ``epochs`` with one fresh AdamW and a one-cycle schedule over all the steps.

        ``param_groups``: layer groups (the last is the head) each with its own peak
        lr from ``lrs`` (one float per group, or one float for all); default one
        group of all the model's params. Only params that require grad are trained.

        Returns the status: "finished", "stopped" (``request_stop``) or
        "interrupted" (SIGINT / KeyboardInterrupt). After a stop the best weights
        seen so far are loaded back (if any epoch finished). Errors emit ERROR and
        FIT_END("failed") and are re-raised.

        ``resume``: go on with this fit after ``resume.done`` of its epochs (the schedule continues
        from there, the optimizer and scaler load their saved state); see ``checkpoint.py``.
        """
        epochs = check_count("epochs", epochs, minimum=0)
        start = resume_start(resume, phase, epochs)
        groups = [list(g) for g in param_groups] if param_groups is not None else [list(self.model.parameters())]
        if not groups:
            raise UserInputError("param_groups is empty: pass at least one list of parameters.")
        peak_lrs = per_group_lrs(lrs, len(groups))
        check_schedule(pct_start, div, div_final, moms)
        if epochs == start:
            return "finished"
        n_batches = batch_count(train)
        schedule = OneCycle(tuple(peak_lrs), float(pct_start), float(div), float(div_final),
                            cast("tuple[float, float, float]", tuple(moms)))  # _check_schedule: three of them
        total_steps = epochs * n_batches
        opt = build_optimizer(self.model, groups, self.wd, mom=moms[0], fused=use_fused(self.device))
        scaler = torch.amp.GradScaler("cuda") if self.precision.use_grad_scaler else None
        if resume is not None and resume.optimizer is not None:
            load_optimizer_state(opt.optimizer, resume.optimizer)
        if resume is not None and resume.scaler and scaler is not None:
            scaler.load_state_dict(resume.scaler)
        self.optimizer, self.scaler = opt.optimizer, scaler
        self._fit_origin = (phase, epochs, len(self.history) - start)
        # Per fit, after freezing: DDP registers exactly the parameters this phase trains.
        self._ddp = self.parallel.wrap(self.model) if self.parallel is not None else None
        self.losses.restart_smoothing()
        self.losses.reserve((epochs - start) * n_batches)
        self._timer.start_fit()
        reset_peak(self.device)
        loader_kind, loader_workers = describe_loader(train)
        self.bus.emit(FIT_START, self, phase=phase, epochs=epochs, n_batches=n_batches,
                      n_train=item_count(train), n_valid=item_count(valid) if valid is not None else 0,
                      lrs=list(peak_lrs), total_steps=total_steps, pct_start=pct_start, div=div,
                      div_final=div_final, moms=list(moms), device=str(self.device),
                      precision=self.precision.name, monitor=self.best.monitor,
                      loader=loader_kind, loader_workers=loader_workers, start_epoch=start)
        stopped = False
        try:
            with SigintRequestsStop(self._stop):
                try:
                    for index in range(start, epochs):
                        record = self._run_epoch(train, valid, opt, scaler, schedule, phase,
                                                 index, epochs, n_batches, total_steps)
                        if record is None:
                            stopped = True
                            break
                except KeyboardInterrupt:  # a second SIGINT, or one raised outside our handler
                    self._stop.request("interrupted")
                    stopped = True
            status = "finished"
            if stopped:
                status = "interrupted" if self._stop.reason == "interrupted" else "stopped"
                self.best.restore(self.model)
                epoch, batch = self._where
                self.bus.emit(STOP, self, reason=self._stop.reason, epoch=epoch, batch=batch, phase=phase)
        except Exception as exc:
            self._finish()
            self.bus.emit(ERROR, self, error=exc, message=f"{type(exc).__name__}: {exc}", phase=phase)
            self.bus.emit(FIT_END, self, phase=phase, status="failed", history=list(self.history),
                          **self._fit_numbers())
            raise
        self._finish()
        self.bus.emit(FIT_END, self, phase=phase, status=status, history=list(self.history),
                      best_epoch=self.best.epoch, best_value=self.best.value, monitor=self.best.monitor,
                      **self._fit_numbers())
        return status

    def _fit_numbers(self) -> dict:
        """The fit's data-wait totals and peak memory (FIT_END); the peak also joins ``peak_memory``."""
        numbers = self._timer.fit().record()
        try:
            peak = read_peak(self.device)
        except Exception:  # e.g. a CUDA error that ended the fit: the error is what matters
            peak = {"peak_memory": None, "peak_memory_kind": None, "memory_total": None}
        self.peak_memory = larger_peak(self.peak_memory, peak)
        return {**numbers, **peak}

    def data_timing(self) -> DataTiming:
        """Seconds the current (or last) fit's training steps waited for batches vs computed, so far.

        Plain numbers, no device read: views call it when they draw. On CUDA it lags the
        running step by a step or two (gaps are read once the GPU has passed them).
        """
        return self._timer.fit()

    def running_loss(self) -> float | None:
        """The smoothed (EMA, debiased) training loss of the current fit; None before its first batch.

        Reads one value from the device: call it when about to draw, not per batch.
        """
        return self.losses.smoothed()

    def loss_points(self, since: int = 0) -> tuple[list[int], list[float], list[float]]:
        """(steps, raw losses, smoothed losses) for steps after ``since`` (steps count over all fits).

        One read from the device: call it when about to draw, not per batch.
        """
        return self.losses.points(since)

    @property
    def fit_position(self) -> FitPosition | None:
        """Where the running fit stands (phase, epochs asked for, epochs done); None between fits."""
        if self._fit_origin is None:
            return None
        phase, epochs, before = self._fit_origin
        return FitPosition(phase, epochs, len(self.history) - before)

    @property
    def global_step(self) -> int:
        """Optimizer steps taken over all fits."""
        return self.losses.steps

    @contextmanager
    def interrupts_stop_cleanly(self) -> Iterator[None]:
        """While active (main thread only), a kernel interrupt (SIGINT) asks for a clean stop.

        For a whole run of several fits (fine_tune): an interrupt between or after the
        fits is absorbed instead of raising KeyboardInterrupt in the user's cell, and a
        request still pending at the end is dropped so it cannot stop the next run.
        """
        try:
            with SigintRequestsStop(self._stop):
                yield
        finally:
            self._stop.clear()

    def request_stop(self, reason: str = "user") -> None:
        """Ask the running fit to stop at the next batch boundary (thread-safe; first reason wins).

        A request made while no fit runs applies to the next one.
        """
        self._stop.request(reason)

    @property
    def stop_requested(self) -> bool:
        """Whether a stop request is pending (the end of a fit clears it)."""
        return self._stop.is_set()

    @property
    def stop_reason(self) -> str | None:
        """Why the pending stop was asked for ("user", "interrupted"); None when none is pending."""
        return self._stop.reason if self._stop.is_set() else None

    def evaluate(self, loader: Batches) -> dict:
        """Loss and metrics over ``loader``: {"valid_loss", <metric>..., "preds": probs (CPU), "targets" (CPU)}."""
        outputs = self._collect_outputs(loader, stoppable=False)
        if outputs is None:
            raise UserInputError("The validation data yielded no batches: give it at least one item.")
        loss, logits, targets = outputs
        values = self._read_floats({"valid_loss": loss, **compute_metrics(self.metrics, logits, targets)})
        values["preds"] = torch.softmax(logits, dim=1).cpu()
        values["targets"] = targets.cpu()
        return values

    def restore_best(self) -> bool:
        """Load the best epoch's weights back; False when no epoch has been kept yet."""
        return self.best.restore(self.model)

    def reset_best(self) -> None:
        """Forget the best epoch (e.g. before a new run on the same model)."""
        self.best.reset()

    @property
    def best_epoch(self) -> int | None:
        """The epoch whose weights are kept as the best; None before one is."""
        return self.best.epoch

    @property
    def best_value(self) -> float | None:
        """The monitored value at the best epoch; None before one is kept."""
        return self.best.value

    # ----------------------------------------------------------------- one epoch
    def _run_epoch(self, train, valid, opt: LayerGroupOptimizer, scaler, schedule: OneCycle, phase: str,
                   index: int, epochs: int, n_batches: int, total_steps: int) -> dict | None:
        """Train one epoch and validate; the epoch record, or None when a stop was requested."""
        epoch = len(self.history) + 1
        self._where = (epoch, 0)
        if self._stop_now():
            return None
        self.bus.emit(EPOCH_START, self, phase=phase, epoch=epoch, epochs=epochs, epoch_in_fit=index + 1)
        started = time.perf_counter()
        self.model.train()
        params = [p for group in opt.optimizer.param_groups for p in group["params"]]
        loss_sum = torch.zeros((), device=self.device)
        n_seen = 0
        step = index * n_batches
        lrs = schedule.lrs_at(step_pos(step, total_steps))
        timer = self._timer
        timer.start_epoch()  # before iter(): starting the loader's workers is waiting for data too
        for batch, (x, y) in enumerate(train, start=1):
            x, y = self._prepare_batch(x, y)
            timer.batch_ready()
            pos = step_pos(step, total_steps)
            lrs, mom = schedule.lrs_at(pos), schedule.mom_at(pos)
            opt.set_hypers(lrs, mom)
            loss = self._train_step(x, y, opt.optimizer, scaler, params)
            bs = y.shape[0]
            loss_sum = loss_sum + loss * bs
            n_seen += bs
            self.losses.append(loss)
            step += 1
            self._where = (epoch, batch)
            self.bus.emit(BATCH_END, self, phase=phase, epoch=epoch, batch=batch, n_batches=n_batches,
                          step=step, total_steps=total_steps, lr=lrs[-1], lrs=lrs, mom=mom, bs=bs)
            if self._stop_now():  # the batch boundary: the step above is complete
                return None
            timer.step_done()  # the subscribers' time above counts as compute; next() follows
        if n_seen == 0:
            raise UserInputError("The training data yielded no batches: give it at least one full batch of items.")
        values = {"train_loss": loss_sum / n_seen}
        if self.parallel is not None:  # the mean over every rank's items, and one model to validate
            self.parallel.share_buffers(self.model)
            loss_sum, n_all = self.parallel.sum([loss_sum, torch.tensor(float(n_seen), device=self.device)])
            values["train_loss"] = loss_sum / n_all
        if valid is not None:
            outputs = self._collect_outputs(valid, stoppable=self.parallel is None)
            if self.parallel is not None:
                outputs = self._whole_validation(outputs)
            if self._stop_now():
                return None
            if outputs is not None:
                loss, logits, targets = outputs
                values["valid_loss"] = loss
                values.update(compute_metrics(self.metrics, logits, targets))
        values = self._read_floats(values)  # the epoch's one sync
        record = {"epoch": epoch, "phase": phase, "train_loss": values["train_loss"],
                  "valid_loss": values.get("valid_loss")}
        for name in self.metrics:
            record[name] = values.get(name)
        record["seconds"] = time.perf_counter() - started
        record["lr"] = lrs[-1]
        record.update(timer.end_epoch().record())  # after the sync: reading the GPU's clock waits for nothing
        self.history.append(record)
        self.bus.emit(EPOCH_END, self, **record)
        if self.best.update(record, self.model):
            self.bus.emit(CHECKPOINT, self, epoch=epoch, monitor=self.best.monitor, value=self.best.value,
                          phase=phase)
        return record

    # ----------------------------------------------------------------- steps (shared with lr_find)
    def _prepare_batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # No-ops when the loader already delivers on the device in the right memory format.
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _autocast(self):
        dtype = self.precision.autocast_dtype
        if dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _train_step(self, x, y, optimizer: torch.optim.Optimizer, scaler, params: list) -> torch.Tensor:
        """One optimizer step; returns the detached loss (still on the device)."""
        with self._autocast():
            out = (self._ddp if self._ddp is not None else self.model)(x)
        loss = self.loss_fn(out.float(), y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            # fp16: scaled backward; the fused CUDA AdamW takes the scale/inf checks on the device.
            scaler.scale(loss).backward()
            if self.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, self.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if self.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, self.grad_clip)
            optimizer.step()
        return loss.detach()

    def _collect_outputs(self, loader, *, stoppable: bool):
        """(mean loss, logits, targets) over ``loader``, all on the device; None if it was empty or stopped."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        n_seen = 0
        outs, targets = [], []
        with torch.no_grad():
            for x, y in loader:
                if stoppable and self._stop.is_set():
                    return None
                x, y = self._prepare_batch(x, y)
                with self._autocast():
                    out = self.model(x)
                out = out.float()
                bs = y.shape[0]
                loss_sum = loss_sum + self.loss_fn(out, y) * bs
                n_seen += bs
                outs.append(out)
                targets.append(y)
        if n_seen == 0:
            return None
        return loss_sum / n_seen, torch.cat(outs), torch.cat(targets)

    def _stop_now(self) -> bool:
        """Whether to stop at this boundary; with several ranks, all of them agree (one tiny all-reduce)."""
        if self.parallel is None:
            return self._stop.is_set()
        reason = self.parallel.agree_to_stop(self.stop_reason)
        if reason is not None:
            self._stop.request(reason)
        return reason is not None

    def _whole_validation(self, outputs):
        """(mean loss, logits, targets) of every rank's share of the validation set together, on each rank."""
        if outputs is None:  # the sharded loader gives every rank at least one item
            raise UserInputError("A process got no validation items: use fewer --devices or more validation data.")
        loss, logits, targets = outputs
        parallel = cast("RankGroup", self.parallel)
        n_local = torch.tensor(float(targets.shape[0]), device=self.device)
        loss_sum, n_all = parallel.sum([loss * n_local, n_local])
        return loss_sum / n_all, parallel.gather_rows(logits), parallel.gather_rows(targets)

    @staticmethod
    def _read_floats(values: dict) -> dict:
        """Device scalars -> Python floats in one transfer."""
        names = list(values)
        numbers = torch.stack([values[n].detach().float().reshape(()) for n in names]).tolist()
        return dict(zip(names, numbers))

    def _finish(self) -> None:
        """Leave the trainer ready for the next fit: no optimizer, no pending stop, eval mode."""
        self.optimizer = self.scaler = None
        self._ddp = None
        self._fit_origin = None
        self._stop.clear()
        self.model.eval()

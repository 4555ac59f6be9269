"""``finetune(..., resume=RUN)``: go on with a run from the state its folder saved at its last epoch end.

The rules (docs/finetune.md says them for users):

- RUN names a run as ``%runs`` does (its folder's name, or a unique start or part of it) or is a
  path to a run folder. The run goes on in that folder: its log gets a ``resume`` line, then the
  new epochs; ``model.jdl`` and ``resume.pt`` go on being kept there.
- It goes on with its own plan: the same call (fine_tune or fit), epochs, freeze_epochs, lr and
  recipe options. The epochs done are not trained again: the phase it was in goes on after its last
  saved epoch, with the saved optimizer state and at the learning rate its schedule had there.
  ``epochs`` keeps its meaning (the plan's unfrozen epochs), it does not add epochs.
- An option left at its default takes the run's value. One that shapes the run (epochs,
  freeze_epochs, lr, train_bn, size, valid_pct, seed, metrics, augment) set to another value than
  the run had is an error; bs and the data-reading options (label_col, path_col, label_re) apply as
  given (say, a smaller batch on a smaller GPU); device, precision and workers are this machine's.
- ARCH left out means the run's; given, it must be the run's. Nothing is downloaded: the weights
  are the run's (``weights`` does not apply).
- Every check comes before anything is stored or written: a failed resume says in one sentence what
  differs and changes nothing (no new run folder, the notebook variable untouched).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UserInputError
from ..history.summaries import listing, resolve_runs
from ..models import names
from ..models.registry import namespace_string
from ..train.checkpoint import FitResume, cpu_copy, set_rng_state
from ..train.runlog import MODEL_NAME, STATE_NAME
from .build import assemble_learner
from .export import read_export
from .run_files import ResumedRun, data_generators, read_state

# The options that shape a run, with the name messages give them.
SHAPING = {"epochs": "--epochs", "freeze_epochs": "--freeze-epochs", "lr": "--lr", "train_bn": "--no-train-bn",
           "size": "--size", "valid_pct": "--valid-pct", "seed": "--seed", "metrics": "--metrics",
           "augment": "--aug"}
# Taken from the run when left at their defaults, used as given otherwise.
FOLLOWED = ("bs", "label_col", "path_col", "label_re")
# fine_tune's recipe options a run's config may hold (the ones Learner.fine_tune was given).
RECIPE_OPTIONS = ("body_lr_ratio", "unfrozen_lr_factor", "pct_start_frozen", "pct_start", "div_frozen", "div",
                  "div_final", "moms", "train_bn")
_NEW_RUN = "or start a new run without --resume"


def prepare_resume(run: str | os.PathLike, data: Any, arch: Any, *, given: dict[str, Any],
                   options: dict[str, Any]) -> tuple[Any, ResumedRun, dict[str, Any]]:
    """(learner, resumed run, plan): a learner holding the run's saved state, ready to go on; nothing stored.

    ``given``: the options the caller set to other values than their defaults (the ones compared
    with the run's); ``options``: every build option the caller passed (build_learner's).
    The plan: call ("fine_tune" or "fit"), epochs, freeze_epochs, lr, recipe (fine_tune's options).
    """
    summary = resolve_runs([os.fspath(run)])[0]
    name, run_dir = summary["name"], Path(summary["path"])
    meta, tensors = _saved_state(summary)
    config = meta.get("run_config") or {}
    plan = _plan(name, config, meta.get("position") or {}, given)
    learner = assemble_learner(data, _architecture(name, meta, arch, options.get("namespace")),
                               **_build_options(name, config, given, options))
    if list(learner.classes) != list(meta["classes"]):
        saved, now = meta["classes"], learner.classes
        raise UserInputError(f"Run {name} was trained on {len(saved)} classes ({listing(saved)}), but this data has "
                             f"{len(now)} ({listing(now)}): resume on data with the same classes, {_NEW_RUN}.")
    tensors = cpu_copy(tensors)  # off the memory map: the run folder's file is replaced as the run goes on
    _load_weights(name, learner, tensors["model"])

    trainer = learner.trainer
    trainer.history[:] = meta.get("history") or []
    if tensors.get("losses") is not None:
        trainer.losses.load(tensors["losses"])
    _restore_best(trainer, run_dir / MODEL_NAME)
    set_rng_state(tensors.get("rng"), data_generators(learner.loaders))
    learner.config = {**config, **learner.config}   # the plan, and the data and machine as they are now
    position = meta["position"]
    resumed = ResumedRun(run_dir, config, FitResume(position["phase"], int(position["done"]),
                                                    tensors.get("optimizer"), tensors.get("scaler")),
                         remaining=plan["remaining"], losses=tensors.get("losses"),
                         epoch_steps={int(k): int(v) for k, v in (meta.get("epoch_steps") or {}).items()})
    return learner, resumed, plan


def _saved_state(summary: dict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's resume.pt, or one sentence on why it has none."""
    run_dir, name = Path(summary["path"]), summary["name"]
    if (run_dir / STATE_NAME).is_file():
        return read_state(run_dir / STATE_NAME)
    load = f"load its model with load_learner({str(run_dir)!r})"
    if summary["status"] == "finished":
        raise UserInputError(f"Run {name} finished all its epochs, so there is nothing to resume: {load} and "
                             "train more with learn.fit(N).")
    if not summary["epochs"]:
        raise UserInputError(f"Run {name} ended before its first epoch finished, so it has no saved state to "
                             "resume: start a new run without --resume.")
    what = f"{load}, {_NEW_RUN}" if (run_dir / MODEL_NAME).is_file() else "start a new run without --resume"
    raise UserInputError(f"Run {name} has no saved training state ({STATE_NAME}; only %finetune runs of this "
                         f"jupyter_dl keep one): {what}.")


def _shown(key: str, value: Any) -> str:
    if key == "metrics" and isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return [str(v) for v in a] == [str(v) for v in b]
    return a == b


def _check_same(name: str, key: str, given: dict[str, Any], run_value: Any) -> None:
    """An option the caller set must be the run's: else the one sentence saying which and how."""
    if key not in given or _same(given[key], run_value):
        return
    option = SHAPING[key]
    if key == "train_bn":
        raise UserInputError(f"Run {name} trained the BatchNorm layers while frozen: resume goes on with the run's "
                             f"own settings, so leave {option} out, {_NEW_RUN}.")
    raise UserInputError(f"Run {name} was started with {option} {_shown(key, run_value)}, not "
                         f"{_shown(key, given[key])}: resume goes on with the run's own settings, so leave {option} "
                         f"out, {_NEW_RUN}.")


def _plan(name: str, config: dict[str, Any], position: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """What the resumed run trains: the run's call and settings, and the epochs still to do."""
    call = config.get("call")
    if call not in ("fine_tune", "fit"):
        raise UserInputError(f"Run {name} was made by {call or 'an unknown call'}, which cannot be resumed: "
                             "start a new run without --resume.")
    epochs = int(config.get("epochs") or 0)
    freeze_epochs = int(config.get("freeze_epochs") or 0) if call == "fine_tune" else 0
    recipe = {k: config[k] for k in RECIPE_OPTIONS if config.get(k) is not None}
    if isinstance(recipe.get("moms"), list):
        recipe["moms"] = tuple(recipe["moms"])
    for key, value in (("epochs", epochs), ("freeze_epochs", freeze_epochs), ("lr", config.get("lr")),
                       ("train_bn", recipe.get("train_bn", True))):
        _check_same(name, key, given, value)
    phase, done, fit_epochs = position.get("phase"), int(position.get("done", 0)), position.get("epochs")
    phase_epochs = {"frozen": freeze_epochs, "unfrozen": epochs}
    if phase not in phase_epochs or fit_epochs != phase_epochs[phase] or (call == "fit" and phase != "unfrozen"):
        raise UserInputError(f"Run {name}'s saved state ({phase} phase, {fit_epochs} epochs) does not match its "
                             f"plan: start a new run without --resume.")
    remaining = epochs - done if phase == "unfrozen" else freeze_epochs - done + epochs
    if remaining <= 0:
        raise UserInputError(f"Run {name} has trained all its {freeze_epochs + epochs} planned epochs, so there is "
                             f"nothing to resume: load its model with load_learner({name!r}) and train more with "
                             "learn.fit(N).")
    return {"call": call, "epochs": epochs, "freeze_epochs": freeze_epochs, "lr": config.get("lr"),
            "recipe": recipe, "remaining": remaining}


def _build_options(name: str, config: dict[str, Any], given: dict[str, Any], options: dict[str, Any]
                   ) -> dict[str, Any]:
    """build_learner's options for the resumed run: the run's where they shape it, the caller's for the rest."""
    if given.get("weights") is not None:
        raise UserInputError(f"Resume loads run {name}'s own weights: leave --weights out, {_NEW_RUN}.")
    build = {**options, "weights": None, "pretrained": False}
    for key in ("size", "valid_pct", "seed", "metrics", "augment"):
        _check_same(name, key, given, config.get(key))
        if config.get(key) is not None:
            build[key] = tuple(config[key]) if key == "metrics" else config[key]
    for key in FOLLOWED:
        if key not in given and key in config:
            build[key] = config[key]
    return build


def _architecture(name: str, meta: dict[str, Any], arch: Any, namespace: dict[str, Any] | None) -> Any:
    """What to build: the run's architecture without weights; ARCH, when given, must name it."""
    saved, source = meta["arch"], meta["source"]
    if isinstance(arch, str) and isinstance((namespace or {}).get(arch.strip()), nn.Module):
        arch = (namespace or {})[arch.strip()]
    if isinstance(arch, nn.Module):
        if source != "module" or type(arch).__name__ != saved:
            raise UserInputError(f"Run {name} trained {saved}, not {type(arch).__name__}: leave ARCH out to resume "
                                 f"it with its own, {_NEW_RUN}.")
        return arch
    if source == "module":
        raise UserInputError(f"Run {name} trained your own nn.Module ({saved}): pass a fresh {saved} as ARCH to "
                             "resume it.")
    if isinstance(arch, str):
        wanted = names.resolve_name(namespace_string(arch, namespace))  # an unknown name: its own sentence
        if wanted != (source, saved):
            raise UserInputError(f"Run {name} trained {saved}, not {arch}: leave ARCH out to resume it with its "
                                 f"own, {_NEW_RUN}.")
    elif arch is not None:
        return arch  # not a model: build_learner's own sentence says so
    return f"{source}:{saved}"


def _load_weights(name: str, learner: Any, state: dict[str, torch.Tensor]) -> None:
    own = learner.model.state_dict()
    differ = ([k for k in own if k not in state] + [k for k in state if k not in own]
              + [k for k in own if k in state and own[k].shape != state[k].shape])
    if differ:
        raise UserInputError(f"Run {name}'s saved weights do not fit this {learner.bundle.arch} ({len(differ)} "
                             f"tensors differ, e.g. {differ[0]}): resume with the run's own architecture.")
    learner.model.load_state_dict(state)


def _restore_best(trainer: Any, model_file: Path) -> None:
    """The run's best epoch so far, from its model.jdl, so that a later epoch must beat it to replace it."""
    if not model_file.is_file():
        return
    try:
        meta, state = read_export(model_file)
    except UserInputError:
        return  # a damaged model file: the resumed run keeps a new one as its epochs end
    best = meta.get("best") or {}
    epoch = best.get("epoch")
    if (best.get("monitor") == trainer.best.monitor and isinstance(epoch, int) and epoch <= len(trainer.history)
            and isinstance(best.get("value"), (int, float))):
        trainer.best.keep(epoch, best["value"], state)

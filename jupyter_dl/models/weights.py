"""``--weights FILE``: load a local checkpoint into an architecture, keeping what fits.

Accepted: a state_dict saved with ``torch.save`` (.pth/.pt/.bin/.ckpt), a dict
holding one under "state_dict" / "model" / "model_state_dict" (fastai's
``learn.save``, Lightning, timm train scripts), or ``.safetensors``. Tensors
are matched by name (after stripping a DataParallel ``module.`` or a wrapper's
``model.`` prefix); those with another shape, typically the old head, are
skipped, which is exactly what fine-tuning on new classes wants.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserInputError

_NESTED_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema", "net")
_WRAPPER_PREFIXES = ("module.", "model.", "_orig_mod.")


def read_state_dict(path: Path) -> dict:
    """The tensors stored in ``path``; UserInputError if it is missing or not a weights file."""
    import torch

    if not path.is_file():
        raise UserInputError(f"Weights file {path} does not exist: pass the path of a .pth, .pt or .safetensors file.")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file
            loaded = load_file(str(path), device="cpu")
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and safetensors each raise their own types
        raise UserInputError(
            f"Could not read weights from {path} ({type(err).__name__}): save them with "
            f"torch.save(model.state_dict(), path) or as .safetensors.") from err
    return _unwrap(loaded, path)


def _unwrap(loaded, path: Path) -> dict:
    import torch

    for _ in range(3):  # checkpoints nest at most a level or two
        if isinstance(loaded, torch.nn.Module):
            loaded = loaded.state_dict()
        if isinstance(loaded, dict) and not any(isinstance(v, torch.Tensor) for v in loaded.values()):
            nested = next((loaded[k] for k in _NESTED_KEYS if isinstance(loaded.get(k), (dict, torch.nn.Module))), None)
            if nested is None:
                break
            loaded = nested
    if not isinstance(loaded, dict):
        raise UserInputError(f"{path} holds a {type(loaded).__name__}, not a state_dict: "
                             f"save the weights with torch.save(model.state_dict(), path).")
    return {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def _strip_wrappers(state: dict, wanted: set) -> dict:
    """Drop a wrapper prefix when that makes more keys match the model's."""
    best = state
    best_hits = len(wanted.intersection(state))
    for prefix in _WRAPPER_PREFIXES:
        stripped = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state.items()}
        hits = len(wanted.intersection(stripped))
        if hits > best_hits:
            best, best_hits = stripped, hits
    return best


def load_weights_file(model, path: str | Path) -> str:
    """Load the matching tensors of ``path`` into ``model``; returns a description for ModelBundle.weights."""
    path = Path(path).expanduser()
    state = read_state_dict(path)
    target = model.state_dict()
    state = _strip_wrappers(state, set(target))
    fitting = {k: v for k, v in state.items() if k in target and tuple(v.shape) == tuple(target[k].shape)}
    if not fitting:
        example = next(iter(state), "none")
        raise UserInputError(
            f"None of the {len(state)} tensors in {path} fit this architecture (first key: {example}): "
            f"pass weights saved from the same model name.")
    model.load_state_dict(fitting, strict=False)
    other_shape = sorted(k for k, v in state.items() if k in target and k not in fitting)
    detail = f"{len(fitting)} of {len(target)} tensors"
    if other_shape:
        detail += f"; skipped {len(other_shape)} with other shapes: {', '.join(other_shape[:4])}"
        detail += "..." if len(other_shape) > 4 else ""
    return f"file {path} ({detail})"

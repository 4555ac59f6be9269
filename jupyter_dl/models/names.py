"""Turn what the user typed as ARCH into (library, model name), or a helpful error.

timm is asked first because it has the larger catalogue and the better
fine-tuning defaults; a ``torchvision:`` (or ``timm:``) prefix picks a library
explicitly, which is the only way to reach a torchvision model whose name timm
also uses (``torchvision:resnet18``). An unknown name gets "did you mean ...?" with the
closest names of both catalogues (and of the notebook's nn.Module variables, when given).
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence

from ..errors import UserInputError

DEFAULT_ARCH = "efficientnet_lite0"
# The packaged offline weights fit timm's TF-ported Lite0 (TF "same" padding, BN eps 1e-3).
PACKAGED_ARCH = "tf_efficientnet_lite0"
_PACKAGED_ALIASES = {DEFAULT_ARCH, PACKAGED_ARCH, PACKAGED_ARCH + ".in1k"}

_PREFIXES = {"timm": "timm", "torchvision": "torchvision", "tv": "torchvision"}


def is_packaged_default(name: str) -> bool:
    """True for the names that mean "the offline default, with the packaged weights"."""
    return name.strip().lower() in _PACKAGED_ALIASES


def timm_names() -> list[str]:
    """timm's architecture names (``timm.list_models()``)."""
    import timm
    return timm.list_models()


def torchvision_names() -> list[str]:
    """torchvision's classification model names."""
    import torchvision
    return torchvision.models.list_models(module=torchvision.models)


def is_timm_model(name: str) -> bool:
    """Whether timm has the architecture ``name``."""
    import timm
    return timm.is_model(name)  # ignores a ".tag" suffix, so "resnet18.a1_in1k" counts


def resolve_name(arch: str, variables: Sequence[str] = ()) -> tuple[str, str]:
    """Return ``(source, name)`` with source "timm" or "torchvision"; UserInputError if unknown.

    ``variables``: the notebook's nn.Module variables, suggested too when ``arch`` is unknown.
    """
    text = arch.strip()
    prefix, sep, rest = text.partition(":")
    wanted = _PREFIXES.get(prefix.lower()) if sep else None
    name = (rest if wanted else text).strip().lower()
    if is_packaged_default(name) and wanted in (None, "timm"):
        return "timm", PACKAGED_ARCH
    if wanted in (None, "timm") and is_timm_model(name):
        _check_timm_tag(name)
        return "timm", name
    if wanted in (None, "torchvision") and name in torchvision_names():
        return "torchvision", name
    raise UserInputError(unknown_model_message(arch, wanted, variables))


def _check_timm_tag(name: str) -> None:
    """A ``arch.tag`` name must name weights timm knows, or timm fails later with a bare RuntimeError."""
    import timm
    import timm.models

    arch, _, tag = name.partition(".")
    if not tag:
        return
    try:
        timm.models.get_pretrained_cfg(name)
    except RuntimeError:
        tagged = timm.list_pretrained(f"{arch}.*")[:4]
        raise UserInputError(
            f"timm model {arch} has no weights tagged '{tag}': use {', '.join(tagged + [arch])}.") from None


def closest_names(name: str, n: int = 3, source: str | None = None, variables: Sequence[str] = ()) -> list[str]:
    """Up to ``n`` known model names (or ``variables``) that look like ``name`` (difflib ratio), closest first."""
    candidates: list[str] = list(variables) if source is None else []
    if source in (None, "timm"):
        candidates += timm_names() + [DEFAULT_ARCH]
    if source in (None, "torchvision"):
        candidates += torchvision_names()
    unique = list(dict.fromkeys(candidates))
    return difflib.get_close_matches(name.strip().lower(), unique, n=n, cutoff=0.6)


def unknown_model_message(arch: str, source: str | None = None, variables: Sequence[str] = ()) -> str:
    """The error for an unknown ARCH, with the closest names in ``source`` (None: both libraries and ``variables``)."""
    bare = arch.split(":", 1)[1] if source else arch
    matches = closest_names(bare, source=source, variables=variables)
    hint = f" (did you mean {', '.join(matches)}?)" if matches else ""
    where = {"timm": "timm", "torchvision": "torchvision"}.get(source or "", "timm or torchvision")
    return (f"Unknown model '{arch}'{hint}: use a {where} classification model name, an nn.Module, "
            f"or {DEFAULT_ARCH} (works offline).")

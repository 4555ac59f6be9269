"""Pretrained timm / torchvision models from the local cache or a download, never a hang.

Offline, timm's Hugging Face download retries each file for about 45 s before
failing (measured here: huggingface_hub 2.4, two candidate files), and
torch.hub's ``urlopen`` has no timeout at all. So we look in the caches
ourselves first, and only when nothing is cached do we check in a few seconds
that the download host can be reached before handing over to the library.
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from ..errors import UserInputError

PROBE_TIMEOUT_S = 3.0
TIMM_HUB_LABEL = "timm hub"
TORCHVISION_HUB_LABEL = "torchvision hub"


def weights_unavailable_message(name: str, reason: str) -> str:
    """The error for weights that cannot be downloaded: ``reason``, then what to do instead."""
    return (f"The pretrained weights for {name} could not be downloaded ({reason}): connect to the internet "
            f"or pre-download them into the timm/torchvision cache, pass --weights FILE, use the offline "
            f"default efficientnet_lite0, or pass --no-pretrained.")


def _proxy_for(url: str) -> str | None:
    scheme = urlparse(url).scheme or "https"
    for var in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        if os.environ.get(var):
            return os.environ[var]
    return None


def can_reach(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``url``'s host (or the configured proxy) opens within ``timeout``.

    The probe runs in a daemon thread because name resolution ignores socket
    timeouts and can stall for tens of seconds on a machine without network.
    """
    target = urlparse(_proxy_for(url) or url)
    host = target.hostname
    if not host:
        return False
    port = target.port or (443 if target.scheme == "https" else 80)
    reached: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                reached.append(True)
        except OSError:
            pass

    worker = threading.Thread(target=probe, name="jupyter_dl-net-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return bool(reached)


# --- timm -----------------------------------------------------------------

def _timm_pretrained_cfg(name: str):
    import timm.models

    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except RuntimeError as err:  # a tag the architecture does not have
        raise UserInputError(f"timm has no pretrained weights called {name}: {err}") from err
    if cfg is None or not (cfg.hf_hub_id or cfg.url or cfg.file):
        raise UserInputError(
            f"timm has no pretrained weights for {name}: pass --no-pretrained, --weights FILE, "
            f"or pick another model.")
    return cfg


def cached_timm_weights(cfg) -> Path | None:
    """The local file holding ``cfg``'s weights (HF cache or timm's legacy URL cache), if any."""
    if cfg.file and Path(cfg.file).is_file():
        return Path(cfg.file)
    if cfg.hf_hub_id:
        from huggingface_hub import constants, try_to_load_from_cache

        repo_id, _, revision = cfg.hf_hub_id.partition("@")
        filenames = [cfg.hf_hub_filename] if cfg.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]
        if cfg.hf_hub_filename == "open_clip_pytorch_model.bin":
            filenames.insert(0, "open_clip_model.safetensors")
        for filename in filenames:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=constants.HF_HUB_CACHE,
                                           revision=revision or None)
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
    if cfg.url:
        return _torch_hub_cached(cfg.url)
    return None


def create_timm_pretrained(name: str, n_classes: int):
    """timm model ``name`` with its pretrained weights and a fresh ``n_classes`` head."""
    import timm

    cfg = _timm_pretrained_cfg(name)
    cached = cached_timm_weights(cfg)
    if cached is not None:
        # Pointing timm at the file skips every network call; its usual head handling still applies.
        return timm.create_model(name, pretrained=True, num_classes=n_classes,
                                 pretrained_cfg_overlay={"file": str(cached)})
    from huggingface_hub import constants

    if cfg.hf_hub_id and constants.HF_HUB_OFFLINE:
        raise UserInputError(weights_unavailable_message(name, "HF_HUB_OFFLINE is set and they are not cached"))
    url = constants.ENDPOINT if cfg.hf_hub_id else cfg.url
    if not can_reach(url):
        raise UserInputError(weights_unavailable_message(name, f"{urlparse(url).hostname} is unreachable"))
    try:
        return timm.create_model(name, pretrained=True, num_classes=n_classes)
    except Exception as err:  # network / hub errors come in many library-specific types
        raise UserInputError(weights_unavailable_message(name, type(err).__name__)) from err


# --- torchvision ------------------------------------------------------------

def _torch_hub_cached(url: str) -> Path | None:
    import torch.hub

    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    return path if path.is_file() else None


def torchvision_default_weights(name: str):
    """The DEFAULT weights enum entry for a torchvision model, or None if it has none."""
    import torchvision

    try:
        return torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, AttributeError, KeyError):
        return None


def create_torchvision_pretrained(name: str):
    """torchvision model ``name`` with its DEFAULT pretrained weights (1000-class head)."""
    import torchvision

    weights = torchvision_default_weights(name)
    if weights is None:
        raise UserInputError(
            f"torchvision has no pretrained weights for {name}: pass --no-pretrained or --weights FILE.")
    # torch.hub uses the cached file without touching the network; only probe when it must download.
    if _torch_hub_cached(weights.url) is None and not can_reach(weights.url):
        raise UserInputError(weights_unavailable_message(name, f"{urlparse(weights.url).hostname} is unreachable"))
    try:
        return torchvision.models.get_model(name, weights=weights)
    except Exception as err:
        raise UserInputError(weights_unavailable_message(name, type(err).__name__)) from err

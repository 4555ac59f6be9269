"""Seed every random number generator a training run draws from."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device).

    Enough for identical runs on the CPU; on a GPU some kernels stay
    nondeterministic unless ``torch.use_deterministic_algorithms(True)``, which
    is slower, so it is left to the user.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device

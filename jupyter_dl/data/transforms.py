"""The batch transform: uint8 pixels -> normalised float32 on the device, augmented as one batch.

Everything here is a handful of tensor ops on the whole batch (no per-image
Python), and random numbers come from a seeded generator on the device, so a
run is reproducible and the host never waits for the device.

On the CPU these ops run with one intra-op thread (:func:`one_cpu_thread`), as torch's DataLoader
workers run a dataset's transforms. Each op is small (a 32 x 3 x 64 x 64 batch: ~13 ms for all of
"light" on one thread), so a second thread gains little, and when another process shares the cores
every parallel op waits for a descheduled thread: measured in ``benchmarks/bench_cpu_job.py`` on 2
busy vCPUs, "light" took 110-230 ms per batch with torch's 2 threads and 19-42 ms with one.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ..errors import UserInputError

AUGMENTS = ("none", "light", "flip")
# "light": fastai-like mild augmentation, per image.
MAX_ZOOM = 1.1
MAX_ROTATE_DEG = 10.0
MAX_SHIFT = 0.05  # fraction of the image size
MAX_LIGHTING = 0.1  # brightness and contrast, each +-10%


@contextmanager
def one_cpu_thread() -> Iterator[None]:
    """torch's intra-op threads set to one for the block, then put back (the setting is per thread
    with OpenMP, so a training thread elsewhere keeps its own; switching costs well under a microsecond)."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class BatchTransform:
    """Callable: uint8 N x 3 x H x W (any device) -> float32 on ``device``, augmented, normalised.

    Also used by prediction (augment="none") so inputs are normalised the same way.
    """

    def __init__(self, device: str | torch.device = "cpu", mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225), augment: str = "none", seed: int = 42,
                 channels_last: bool = False) -> None:
        if augment not in AUGMENTS:
            raise UserInputError(f"augment={augment!r} is not one of {', '.join(map(repr, AUGMENTS))}: "
                                 "pick one of those.")
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise UserInputError(f"mean={tuple(mean)} and std={tuple(std)} must be three numbers each "
                                 "(std above 0), one per RGB channel.")
        self.device = torch.device(device)
        self.augment = augment
        self.channels_last = channels_last
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        # Precomputed so normalising 0..255 values is one fused multiply-add: x * scale + bias.
        self._scale = 1.0 / (self.std * 255.0)
        self._bias = -self.mean / self.std
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 0..255 batch -> model input."""
        if self.device.type == "cpu":  # small ops: one thread (see the module doc)
            with one_cpu_thread():
                return self._transform(pixels)
        return self._transform(pixels)

    @torch.no_grad()
    def _transform(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)  # cheaper on uint8 than on float
        x = x.float()
        if self.augment != "none":
            x = self._augment(x)
        # Augmenting before normalising lets brightness/contrast work on real pixel values.
        x = torch.addcmul(self._bias, x, self._scale)
        return self.layout(x)

    @torch.no_grad()
    def normalize_float(self, x: torch.Tensor) -> torch.Tensor:
        """A float 0..1 batch (fastai's layout) -> normalised on the device; no augmentation."""
        x = x.to(self.device, non_blocking=True).float()
        return self.layout((x - self.mean) / self.std)

    @torch.no_grad()
    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Model input -> uint8 0..255 pixels (to show a batch)."""
        unit = x.float() * self.std.to(x.device) + self.mean.to(x.device)  # 0..1
        return unit.mul(255).round().clamp(0, 255).to(torch.uint8)

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """channels_last when asked for, else unchanged."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random zoom/rotate/shift (+ flip) as one affine resample, then brightness/contrast."""
        n = x.shape[0]
        r = torch.rand((n, 7), generator=self.generator, device=x.device)
        zoom = 1.0 + (MAX_ZOOM - 1.0) * r[:, 0]
        angle = (2 * r[:, 1] - 1) * math.radians(MAX_ROTATE_DEG)
        shift = (2 * r[:, 2:4] - 1) * (2 * MAX_SHIFT)  # grid coordinates span 2 units per image side
        if self.augment == "flip":
            mirror = torch.where(r[:, 4] < 0.5, -1.0, 1.0)
        else:
            mirror = torch.ones_like(zoom)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # theta maps output coordinates to input ones; negating the x column mirrors the image.
        theta = torch.stack([cos * mirror, -sin, shift[:, 0], sin * mirror, cos, shift[:, 1]], dim=1).view(n, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

        brightness = (1.0 + MAX_LIGHTING * (2 * r[:, 5] - 1)).view(n, 1, 1, 1)
        contrast = (1.0 + MAX_LIGHTING * (2 * r[:, 6] - 1)).view(n, 1, 1, 1)
        image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
        # ((x - m) * contrast + m) * brightness, as one multiply-add.
        x = x * (contrast * brightness) + image_mean * ((1 - contrast) * brightness)
        return x.clamp_(0.0, 255.0)

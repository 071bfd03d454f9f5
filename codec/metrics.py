"""Distortion metrics shared by training and the bench."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def psnr(x: Tensor, y: Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB between ``x`` and ``y`` (any equal shapes, values in [0, peak])."""
    mse = float(torch.mean((x.double() - y.double()) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(peak**2 / mse)

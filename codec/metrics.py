"""Distortion metrics shared by training and the bench.

All functions take tensors of equal shape. ``psnr`` accepts any shape; ``ms_ssim`` takes ``(B, C, H, W)`` or
``(C, H, W)`` images. ``*_uint8`` helpers take ``(H, W, 3)`` uint8 arrays, the bench's pixel format.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

#: MS-SSIM with the standard 11x11 window and 5 scales needs the shorter image side to exceed this.
MS_SSIM_MIN_SIDE = (11 - 1) * 2**4


def psnr(x: Tensor, y: Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB between ``x`` and ``y`` (any equal shapes, values in [0, peak])."""
    mse = float(torch.mean((x.double() - y.double()) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(peak**2 / mse)


def si_sdr(ref: Tensor, test: Tensor) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., "SDR - half-baked or well done?", 2019).

    ``ref`` and ``test`` are equal-shape signals (flattened); both are made zero-mean, ``test`` is projected on
    ``ref`` and the ratio of the projection's energy to the residual's is returned (inf for a perfect match,
    -inf when ``test`` is orthogonal to ``ref`` or ``ref`` is silent).
    """
    if ref.shape != test.shape:
        raise ValueError(f"si_sdr: shapes differ: {tuple(ref.shape)} vs {tuple(test.shape)}")
    r = ref.reshape(-1).double()
    t = test.reshape(-1).double()
    r, t = r - r.mean(), t - t.mean()
    energy = float(r @ r)
    if energy == 0.0:
        return float("-inf")
    target = (float(t @ r) / energy) * r
    noise = float(((t - target) ** 2).sum())
    signal = float((target**2).sum())
    if noise == 0.0:
        return float("inf")
    return float("-inf") if signal == 0.0 else 10.0 * math.log10(signal / noise)


def ms_ssim(x: Tensor, y: Tensor, data_range: float = 1.0) -> float:
    """``ms_ssim_tensor`` as a float."""
    return float(ms_ssim_tensor(x, y, data_range))


def ms_ssim_tensor(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik, 2003) averaged over the batch, via ``pytorch-msssim``.

    Differentiable (a training loss may use it); ``ms_ssim`` gives the same value as a float.

    Args:
        x, y: images ``(B, C, H, W)`` or ``(C, H, W)``, values in ``[0, data_range]``.
        data_range: the peak value (1.0 for floats in [0, 1], 255 for 8-bit values held as floats).

    Returns:
        A scalar tensor: MS-SSIM in (0, 1], standard parameters (11x11 Gaussian window, sigma 1.5, 5 scales).

    Raises:
        ValueError: shapes differ, or the shorter side is not larger than ``MS_SSIM_MIN_SIDE`` (160) pixels.
    """
    from pytorch_msssim import ms_ssim as _ms_ssim  # bench/train extra; imported lazily

    if x.shape != y.shape:
        raise ValueError(f"ms_ssim: shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.dim() == 3:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if min(x.shape[-2:]) <= MS_SSIM_MIN_SIDE:
        raise ValueError(f"ms_ssim needs both sides > {MS_SSIM_MIN_SIDE} px, got {tuple(x.shape[-2:])}")
    return _ms_ssim(x.float(), y.float(), data_range=data_range, size_average=True)


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, ``-10 log10(1 - value)`` (inf for a perfect match)."""
    return float("inf") if value >= 1.0 else -10.0 * math.log10(1.0 - value)


def _hwc_to_tensor(a: np.ndarray) -> Tensor:
    if a.dtype != np.uint8 or a.ndim != 3:
        raise ValueError(f"expected an (H, W, C) uint8 array, got {a.dtype} {a.shape}")
    return torch.from_numpy(np.array(a, dtype=np.float64)).permute(2, 0, 1)


def psnr_uint8(ref: np.ndarray, rec: np.ndarray) -> float:
    """PSNR in dB of two ``(H, W, C)`` uint8 images (peak 255, mean squared error over all channels)."""
    return psnr(_hwc_to_tensor(ref), _hwc_to_tensor(rec), peak=255.0)


def ms_ssim_uint8(ref: np.ndarray, rec: np.ndarray) -> float:
    """MS-SSIM of two ``(H, W, C)`` uint8 images, on 8-bit values as floats with ``data_range=255``."""
    return ms_ssim(_hwc_to_tensor(ref), _hwc_to_tensor(rec), data_range=255.0)

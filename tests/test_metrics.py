"""Distortion metrics: PSNR and MS-SSIM on 8-bit RGB, and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from vqcodec.metrics import MS_SSIM_MIN_SIDE, ms_ssim, ms_ssim_db, ms_ssim_uint8, psnr, psnr_uint8


def test_psnr_uint8_known_value() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # MSE = 256 / 48
    assert psnr_uint8(a, b) == pytest.approx(10 * math.log10(255**2 * 48 / 256))
    assert psnr_uint8(a, a) == math.inf
    assert psnr(torch.zeros(3), torch.full((3,), 0.1)) == pytest.approx(20.0)


def test_ms_ssim_identity_and_degradation() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (192, 200, 3), dtype=np.uint8)
    noisy = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
    assert ms_ssim_uint8(x, x) == pytest.approx(1.0, abs=1e-6)
    assert 0.0 < ms_ssim_uint8(x, noisy) < 0.999
    t = torch.from_numpy(x).permute(2, 0, 1).float()
    assert ms_ssim(t / 255, t / 255, data_range=1.0) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_rejects_small_and_mismatched_images() -> None:
    small = np.zeros((MS_SSIM_MIN_SIDE, 300, 3), np.uint8)
    with pytest.raises(ValueError, match="> 160"):
        ms_ssim_uint8(small, small)
    with pytest.raises(ValueError, match="shapes differ"):
        ms_ssim(torch.zeros(3, 200, 200), torch.zeros(3, 200, 201))
    with pytest.raises(ValueError, match="uint8"):
        psnr_uint8(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))


def test_ms_ssim_db() -> None:
    assert ms_ssim_db(0.9) == pytest.approx(10.0)
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    assert ms_ssim_db(1.0) == math.inf

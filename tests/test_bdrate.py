"""BD-rate / BD-PSNR with PCHIP: identities, exact shifts, a hand-computed case, and a scipy cross-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vqcodec.bench.bdrate import bd_quality, bd_rate, pchip_integral

# libx265 RD points used as the example of the FAU-LMS "bjontegaard" package README (rate kbps, PSNR dB).
RATE_A = [9487.76, 4593.60, 2486.44, 1358.24]
PSNR_A = [40.037, 38.615, 36.845, 34.851]
RATE_T = [9787.80, 4469.00, 2451.52, 1356.24]
PSNR_T = [40.121, 38.651, 36.970, 34.987]


def test_codec_against_itself_is_zero() -> None:
    assert bd_rate(RATE_A, PSNR_A, RATE_A, PSNR_A) == pytest.approx(0.0, abs=1e-12)
    assert bd_quality(RATE_A, PSNR_A, RATE_A, PSNR_A) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("factor", [0.5, 0.8, 2.0])
def test_constant_rate_factor_gives_exact_bd_rate(factor: float) -> None:
    rates = np.array(RATE_A)
    assert bd_rate(RATE_A, PSNR_A, rates * factor, PSNR_A) == pytest.approx((factor - 1) * 100, abs=1e-9)


def test_half_rate_is_minus_50_percent_and_order_does_not_matter() -> None:
    assert bd_rate(RATE_A, PSNR_A, np.array(RATE_A)[::-1] / 2, PSNR_A[::-1]) == pytest.approx(-50.0, abs=1e-9)


def test_constant_psnr_offset_gives_exact_bd_psnr() -> None:
    assert bd_quality(RATE_A, PSNR_A, RATE_A, np.array(PSNR_A) + 0.7) == pytest.approx(0.7, abs=1e-9)


def test_hand_computed_linear_curves() -> None:
    """Collinear points make PCHIP exact, so the integral is elementary.

    Anchor: log10 R = q / 10 on q in [30, 38]. Test: log10 R = q / 10 - 0.1 + 0.01 (q - 35) on q in [30, 40].
    Overlap [30, 38]; mean log-difference = -0.1 + 0.01 (34 - 35) = -0.11; BD-rate = 10^-0.11 - 1 = -22.38 %.
    """
    qa = np.arange(30.0, 39.0, 2.0)
    qt = np.arange(30.0, 41.0, 2.5)
    ra = 10 ** (qa / 10)
    rt = 10 ** (qt / 10 - 0.1 + 0.01 * (qt - 35))
    assert bd_rate(ra, qa, rt, qt) == pytest.approx((10**-0.11 - 1) * 100, abs=1e-9)
    assert (10**-0.11 - 1) * 100 == pytest.approx(-22.375, abs=1e-3)


def test_x265_example_matches_scipy_pchip() -> None:
    scipy_interp = pytest.importorskip("scipy.interpolate")
    la, lt = np.log10(RATE_A), np.log10(RATE_T)
    lo, hi = max(min(PSNR_A), min(PSNR_T)), min(max(PSNR_A), max(PSNR_T))
    ia = scipy_interp.PchipInterpolator(PSNR_A[::-1], la[::-1]).integrate(lo, hi)
    it = scipy_interp.PchipInterpolator(PSNR_T[::-1], lt[::-1]).integrate(lo, hi)
    expected = (10 ** ((it - ia) / (hi - lo)) - 1) * 100
    got = bd_rate(RATE_A, PSNR_A, RATE_T, PSNR_T)
    assert got == pytest.approx(expected, abs=1e-9)
    assert got == pytest.approx(-4.4175, abs=1e-4)  # regression value of this implementation (= scipy pchip)


def test_pchip_integral_matches_scipy_on_random_curves() -> None:
    scipy_interp = pytest.importorskip("scipy.interpolate")
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(2, 9))
        x = np.sort(rng.uniform(0, 10, n))
        y = rng.normal(size=n)
        lo, hi = np.sort(rng.uniform(x[0], x[-1], 2))
        assert pchip_integral(x, y, lo, hi) == pytest.approx(scipy_interp.PchipInterpolator(x, y).integrate(lo, hi),
                                                              abs=1e-9)


def test_pchip_reproduces_polynomial_integral_for_two_points() -> None:
    assert pchip_integral([0.0, 2.0], [1.0, 3.0], 0.0, 2.0) == pytest.approx(4.0)


@pytest.mark.parametrize(("rates", "quality", "message"), [
    ([1.0], [30.0], ">= 2 points"),
    ([1.0, 2.0, 3.0], [30.0, 30.0, 31.0], "repeated"),
    ([0.0, 2.0], [30.0, 31.0], "positive"),
])
def test_bad_curves_raise(rates: list[float], quality: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bd_rate(rates, quality, rates, quality)


def test_disjoint_curves_raise() -> None:
    with pytest.raises(ValueError, match="overlap"):
        bd_rate([1, 2], [20, 21], [1, 2], [30, 31])
    assert math.isfinite(bd_rate([1, 2], [20, 31], [1, 2], [30, 31]))

"""Bjøntegaard delta metrics with piecewise cubic Hermite (PCHIP) interpolation.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33, 2001; the PCHIP variant
is the one of the JCT-VC/JVET common-test-condition sheets (F. Bossen, JCTVC-L1100, 2013): log-rate is
interpolated as a shape-preserving piecewise cubic of the quality (Fritsch-Carlson slopes, as Matlab ``pchip``
and ``scipy.interpolate.PchipInterpolator``) and integrated exactly over the overlapping quality range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Derivatives at the knots of the monotone piecewise cubic Hermite interpolant of ``y(x)``, ``x`` increasing."""
    h = np.diff(x)
    delta = np.diff(y) / h
    n = len(x)
    if n == 2:
        return np.array([delta[0], delta[0]])
    d = np.zeros(n)
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] > 0:
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])
    d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
    d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _end_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    """Non-centred three-point end slope, limited to keep the shape (Moler, Numerical Computing with MATLAB)."""
    s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(s) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
        return 3 * d0
    return float(s)


def pchip_integral(x: Sequence[float], y: Sequence[float], lo: float, hi: float) -> float:
    """Exact integral over ``[lo, hi]`` (inside ``[min x, max x]``) of the PCHIP interpolant of ``y(x)``."""
    xs, ys = _sorted_xy(x, y)
    if lo < xs[0] - 1e-12 or hi > xs[-1] + 1e-12 or hi < lo:
        raise ValueError(f"integration range [{lo}, {hi}] outside [{xs[0]}, {xs[-1]}]")
    d = pchip_slopes(xs, ys)
    total = 0.0
    for k in range(len(xs) - 1):
        a, b = max(lo, xs[k]), min(hi, xs[k + 1])
        if b <= a:
            continue
        h = xs[k + 1] - xs[k]
        delta = (ys[k + 1] - ys[k]) / h
        c2 = (3 * delta - 2 * d[k] - d[k + 1]) / h
        c3 = (d[k] + d[k + 1] - 2 * delta) / h**2

        def prim(u: float, k: int = k, c2: float = c2, c3: float = c3) -> float:
            return ys[k] * u + d[k] * u**2 / 2 + c2 * u**3 / 3 + c3 * u**4 / 4

        total += prim(b - xs[k]) - prim(a - xs[k])
    return float(total)


def _sorted_xy(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1 or len(xs) < 2:
        raise ValueError(f"need two equal-length 1-D sequences of >= 2 points, got {xs.shape} and {ys.shape}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("RD points must be finite")
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if np.any(np.diff(xs) <= 0):
        raise ValueError("the interpolation variable has repeated values")
    return xs, ys


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    if hi <= lo:
        raise ValueError(f"RD curves do not overlap ([{a.min():.4g}, {a.max():.4g}] vs [{b.min():.4g}, {b.max():.4g}])")
    return float(lo), float(hi)


def bd_rate(rate_anchor: Sequence[float], quality_anchor: Sequence[float],
            rate_test: Sequence[float], quality_test: Sequence[float]) -> float:
    """BD-rate in percent: the test codec's average rate change at equal quality (negative = fewer bits).

    ``log10(rate)`` is interpolated over quality for each curve and integrated over the overlapping
    quality range; the result is ``(10 ** mean_difference - 1) * 100``.

    Raises:
        ValueError: fewer than 2 points, non-positive rates, repeated qualities, or no quality overlap.
    """
    ra, rt = np.asarray(rate_anchor, dtype=float), np.asarray(rate_test, dtype=float)
    if np.any(ra <= 0) or np.any(rt <= 0):
        raise ValueError("rates must be positive")
    qa, la = _sorted_xy(quality_anchor, np.log10(ra))
    qt, lt = _sorted_xy(quality_test, np.log10(rt))
    lo, hi = _overlap(qa, qt)
    ia = pchip_integral(qa, la, lo, hi)
    it = pchip_integral(qt, lt, lo, hi)
    return float((10 ** ((it - ia) / (hi - lo)) - 1) * 100)


def bd_quality(rate_anchor: Sequence[float], quality_anchor: Sequence[float],
               rate_test: Sequence[float], quality_test: Sequence[float]) -> float:
    """BD-quality (BD-PSNR for PSNR): the test codec's average quality gain at equal rate, in quality units.

    Quality is interpolated over ``log10(rate)`` and integrated over the overlapping log-rate range.
    """
    ra, rt = np.asarray(rate_anchor, dtype=float), np.asarray(rate_test, dtype=float)
    if np.any(ra <= 0) or np.any(rt <= 0):
        raise ValueError("rates must be positive")
    la, lt = np.log10(ra), np.log10(rt)
    lo, hi = _overlap(_sorted_xy(la, quality_anchor)[0], _sorted_xy(lt, quality_test)[0])
    ia = pchip_integral(la, quality_anchor, lo, hi)
    it = pchip_integral(lt, quality_test, lo, hi)
    return float((it - ia) / (hi - lo))

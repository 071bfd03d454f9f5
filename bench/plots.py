"""Rate-distortion plots (matplotlib, Agg): measured curves solid with markers, published references dashed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from vqcodec.bench.modality import Metric
from vqcodec.bench.reference_curves import ReferenceCurve
from vqcodec.bench.results import BenchResult

Curve = tuple[str, list[float], list[float]]


def plot_filename(metric: str) -> str:
    """``psnr`` -> ``rd_psnr.png``, ``ms_ssim`` -> ``rd_msssim.png``."""
    return f"rd_{metric.replace('_', '')}.png"


def _points(rates: Sequence[float | None], values: Sequence[float | None],
            to_db: Callable[[float], float] | None) -> tuple[list[float], list[float]]:
    pts = [(r, v if to_db is None else to_db(v)) for r, v in zip(rates, values) if r is not None and v is not None]
    pts.sort()
    return [p[0] for p in pts], [p[1] for p in pts]


def _limits(curves: Sequence[Curve], max_rate: float | None) -> tuple[tuple[float, float], tuple[float, float]]:
    xs = [x for _, cx, _ in curves for x in cx]
    x_hi = min(max(xs), max_rate) if max_rate else max(xs)
    x_hi = max(x_hi, *(cx[0] for _, cx, _ in curves if cx))  # every curve keeps at least its lowest-rate point
    ys = [y for _, cx, cy in curves for x, y in zip(cx, cy) if x <= x_hi * 1.02]
    pad = 0.04 * (max(ys) - min(ys) or 1.0)
    return (0.0, x_hi * 1.03), (min(ys) - pad, max(ys) + pad)


def plot_rd(result: BenchResult, metric: Metric, out: Path, references: Sequence[ReferenceCurve] = (),
            max_rate: float | None = 2.0, rate_label: str = "bits per pixel (bpp)") -> bool:
    """Plot averaged ``metric`` against rate for every codec (and references holding that metric).

    Returns ``False`` (and writes nothing) when no codec has a defined value for the metric.
    """
    measured: list[Curve] = []
    for c in result.codecs:
        avg = c.averaged(result.rate_key, result.metrics)
        xs, ys = _points(avg[result.rate_key], avg[metric.name], metric.to_db)
        if xs:
            measured.append((c.name, xs, ys))
    if not measured:
        return False
    refs: list[tuple[int, Curve]] = []  # keep each reference's index so it has one colour in every plot
    for i, ref in enumerate(references):
        if metric.name in ref.results and result.rate_key in ref.results:
            xs, ys = _points(ref.results[result.rate_key], ref.results[metric.name], metric.to_db)
            refs.append((i, (f"{ref.name} (published)", xs, ys)))
    fig, ax = plt.subplots(figsize=(8, 6), dpi=120)
    cmap = plt.get_cmap("tab10")
    for i, (name, xs, ys) in enumerate(measured):
        ax.plot(xs, ys, "-o", color=cmap(i % 10), lw=1.8, ms=4, label=name)
    for i, (name, xs, ys) in refs:  # colours from the far end of tab10, away from the first measured curves
        ax.plot(xs, ys, "--", color=cmap((9 - i) % 10), lw=1.4, marker="x", ms=4, label=name)
    (x0, x1), (y0, y1) = _limits(measured + [c for _, c in refs], max_rate)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(rate_label)
    ax.set_ylabel(metric.label)
    n_items = len({r.item for c in result.codecs for r in c.rows})
    where = f"{result.dataset}, " if result.dataset else ""
    ax.set_title(f"{metric.name.upper().replace('_', '-')} vs rate ({where}{n_items} items, mean per setting)")
    ax.grid(True, alpha=0.35)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return True

"""Continuous-latent entropy models: a discretized Gaussian with a fixed scale table, and a factorized density.

Gaussian conditional (Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018; Minnen et
al., "Joint autoregressive and hierarchical priors", NeurIPS 2018, mean-scale form): a latent ``y`` with predicted
mean ``mu`` and scale ``sigma`` is coded as the integer ``s = round(y - mu)`` (clamped to ``[-L, L]``) under

    P(s) = Phi((s + 1/2) / sigma) - Phi((s - 1/2) / sigma),

with ``sigma`` replaced by the nearest level of a fixed log-spaced scale table. Every level's table is integer
frequencies (``gaussian_tables``), the level of an element is integer arithmetic on the integer log-scale the
exact hyper-decoder produces, and a session codes one level at a time (all elements of that level share its table),
so both sides see identical tables and the coder makes one call per level.

Factorized density: the hyper-latent ``z`` has one learned categorical distribution per channel over
``[-R, R]`` (``FactorizedSession``), coded one channel at a time.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from vqcodec.entropy.session import TableSession
from vqcodec.entropy.tables import LOGIT_BITS, quantize_logits

LIKELIHOOD_FLOOR = 1e-9


def scale_levels(minimum: float, maximum: float, count: int) -> list[float]:
    """``count`` scales spaced evenly in log from ``minimum`` to ``maximum``."""
    ratio = math.log(maximum / minimum) / (count - 1)
    return [minimum * math.exp(i * ratio) for i in range(count)]


def gaussian_tables(levels: list[float], half_width: int, precision: int) -> np.ndarray:
    """Integer frequency tables ``(len(levels), 2 * half_width + 1)``: the discretized unit-bin Gaussian of every
    scale level over ``-half_width .. half_width`` (the two end symbols also take the tails), each row summing to
    ``2**precision`` with every entry >= 1. Computed once, from integer logits through ``quantize_logits``."""
    s = np.arange(-half_width, half_width + 1, dtype=np.float64)
    rows = []
    for sigma in levels:
        upper = 0.5 * np.array([math.erfc(-(v + 0.5) / (sigma * math.sqrt(2))) for v in s])
        lower = 0.5 * np.array([math.erfc(-(v - 0.5) / (sigma * math.sqrt(2))) for v in s])
        upper[-1], lower[0] = 1.0, 0.0
        p = np.maximum(upper - lower, 1e-30)
        rows.append(np.round(np.log(p) * (1 << LOGIT_BITS)).clip(min=-(60 << LOGIT_BITS)))
    return quantize_logits(torch.from_numpy(np.stack(rows)), precision)


def gaussian_likelihood(value: Tensor, mean: Tensor, scale: Tensor) -> Tensor:
    """``P`` of ``value`` under a unit-bin discretized Gaussian (training: ``value`` is noisy or rounded)."""
    centred = (value - mean).abs()
    scale = scale.clamp_min(0.05)
    # Phi(t) = erfc(-t / sqrt 2) / 2;  P = Phi((0.5 - c) / s) - Phi((-0.5 - c) / s), c = |value - mean| >= 0
    upper = 0.5 * torch.erfc((centred - 0.5) / (scale * math.sqrt(2)))
    lower = 0.5 * torch.erfc((centred + 0.5) / (scale * math.sqrt(2)))
    return (upper - lower).clamp_min(LIKELIHOOD_FLOOR)


class LevelSession(TableSession):
    """Symbols grouped by table: step ``t`` codes, in raster order, every element whose table index is ``t``.

    Args:
        tables: ``(T, K)`` integer frequency tables.
        index: ``(N,)`` int64 table index of every element (known to both sides before coding).
        symbols: ``(N,)`` int64 values in ``[0, K)`` being encoded, or None when decoding.
    """

    def __init__(self, tables: np.ndarray, index: Tensor, symbols: Tensor | None, precision: int) -> None:
        self._tables, self.precision = tables, precision
        order = torch.argsort(index, stable=True)
        self._order = order
        counts = torch.bincount(index, minlength=tables.shape[0])
        self._bounds = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)]).tolist()
        self._known = None if symbols is None else symbols[order]
        self._out = torch.zeros(index.shape[0], dtype=torch.int64)
        self.num_steps = tables.shape[0]

    def num_symbols(self, step: int) -> int:
        return int(self._bounds[step + 1] - self._bounds[step])

    def tables(self, step: int) -> np.ndarray:
        return self._tables[step : step + 1]

    def targets(self, step: int) -> Tensor:
        if self._known is None:
            raise RuntimeError("targets() needs the symbols being encoded")
        return self._known[self._bounds[step] : self._bounds[step + 1]]

    def push(self, step: int, symbols: Tensor) -> None:
        self._out[self._order[self._bounds[step] : self._bounds[step + 1]]] = symbols.long()

    def result(self) -> Tensor:
        return self._out


class FactorizedDensity(torch.nn.Module):
    """One learned categorical distribution per channel over integers ``-radius .. radius`` (a factorized prior
    for the hyper-latent), trained on the rounded values (straight-through)."""

    def __init__(self, channels: int, radius: int) -> None:
        super().__init__()
        self.radius = radius
        self.logits = torch.nn.Parameter(-0.5 * torch.arange(-radius, radius + 1).float().abs().repeat(channels, 1))

    def bits(self, z_hat: Tensor) -> Tensor:
        """``-log2 p`` of integer-valued ``z_hat (B, C, *grid)`` (clamped to the range), per element."""
        index = (z_hat.round().clamp(-self.radius, self.radius) + self.radius).long()
        log_p = torch.log_softmax(self.logits, dim=-1)  # (C, K)
        c = z_hat.shape[1]
        flat = index.movedim(1, -1).reshape(-1, c)
        picked = log_p.T.gather(0, flat)  # (N, C)
        return (-picked / math.log(2.0)).reshape(*index.movedim(1, -1).shape).movedim(-1, 1)

    def tables(self, precision: int) -> np.ndarray:
        """Integer frequency tables ``(C, 2 * radius + 1)``: the logits times ``2**LOGIT_BITS`` rounded (exact for
        the stored weights), normalised by ``quantize_logits``'s integer arithmetic; no transcendental function is
        evaluated, so every machine gets the same tables."""
        z = torch.round(self.logits.detach().double() * (1 << LOGIT_BITS)).clamp_(-(1 << 30), 1 << 30)
        return quantize_logits(z, precision)

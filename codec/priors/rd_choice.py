"""The encoder's rate-distortion choice of residual-VQ indices under a prior (entropy-constrained VQ).

A greedy residual quantizer picks, at every stage, the codeword nearest the residual, whatever it costs to code.
When a coding session can give the table of a step before its symbols are chosen (the codeword priors: each step
codes one stage of a whole frame, from what was coded before), the encoder can instead pick, per position,

    k = argmin_k ||r - c_k||^2 + lambda * (-log2 p_k)        r: the residual left for this stage  (D,)

with ``p`` the step's coding table. The next stage then quantizes what this choice left. A still picture keeps the
index it had one frame before when that costs little distortion; a moving one takes the codewords the prior
expects. The decoder does not change: it decodes whatever was coded.

``lambda`` (squared latent units per bit) follows the distortion of the operating point. For a Gaussian source
coded at a high rate, distortion falls by a factor of ``2^(-2/D)`` per bit spent on a ``D``-dimensional vector, so
one bit is worth ``2 ln 2 / D`` times the distortion. The encoder measures that distortion as the mean squared
error ``E_q`` of the greedy quantizer at the quality ``q`` coded, span by span, and multiplies it by ``weight``
(:data:`RD_WEIGHT`). A stage ``s < q`` leaves its error to the stages after it, which shrink it: its distortion
counts less, so its lambda is larger, ``lambda_s = lambda_q (E_s / E_q)^power`` (:data:`RD_STAGE_POWER`). Both
constants were chosen on training clips (see the ``vq-video`` card).

Exact arithmetic: residuals and codewords are integers at activation scale, so every distance is an exact
integer in float64 and the choice does not depend on the thread count.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vqcodec.entropy import fixed_point as fx

RD_WEIGHT = 3.0
"""Default ``weight`` of :func:`rd_lambdas` (0 turns the choice off: greedy indices)."""
RD_STAGE_POWER = 0.5
"""Default ``power`` of :func:`rd_lambdas`."""
RD_SAMPLE = 4
"""The encoder measures the greedy errors on every ``RD_SAMPLE``-th latent vector of a span."""


@dataclass(frozen=True)
class RDChoice:
    """What a session needs to choose its symbols: the encoder's latents ``(B, *grid, D)`` (float, the codebooks'
    scale) and ``lams``, the squared latent distance one bit is worth at each coded stage."""

    latents: Tensor
    lams: tuple[float, ...]


def rd_lambdas(errors: Sequence[float], dim: int, weight: float = RD_WEIGHT, power: float = RD_STAGE_POWER
               ) -> tuple[float, ...]:
    """``lambda_s = weight 2 ln 2 / dim E_q (E_s / E_q)^power`` for ``errors = (E_1 .. E_q)``, the greedy quantizer's
    mean squared error per vector after each coded stage; each rounded to 4 significant digits, so the same latents
    give the same values on any thread count."""
    if power < 0 or weight < 0:
        raise ValueError(f"weight and power must be >= 0, not {weight} and {power}")
    last = errors[-1]
    out = []
    for e in errors:
        lam = weight * 2.0 * math.log(2.0) / dim * last * (e / last) ** power if last > 0 else 0.0
        out.append(float(f"{lam:.4g}") if lam > 0 else 0.0)
    return tuple(out)


def choose(freq: np.ndarray, precision: int, residual: Tensor, codewords: Tensor, lam: float,
           norms: Tensor | None = None) -> Tensor:
    """Symbols ``(N,)`` int64 minimizing squared distance plus ``lam`` times the code length.

    Args:
        freq: the step's int64 tables ``(N, K)`` (or ``(1, K)`` shared) at ``precision`` bits.
        residual: ``(N, D)`` the residual left for this stage, integers at activation scale (float64).
        codewords: ``(K, D)`` this stage's codewords, integers at activation scale (float64).
        lam: squared latent distance (float units) per bit.
        norms: ``(K,)`` the codewords' squared norms, when the caller keeps them (computed otherwise).
    """
    r = residual.double()
    # ||r - c||^2 - ||r||^2, exact integers (the sums of products stay below 2**53 in any order)
    if norms is None:
        norms = (codewords * codewords).sum(1)
    cost = torch.addmm(norms[None], r, codewords.T, alpha=-2.0).numpy()
    cost += (lam * float(1 << (2 * fx.ACT_BITS))) * _code_lengths(precision).take(freq)
    return torch.from_numpy(cost.argmin(1))


@functools.cache
def _code_lengths(precision: int) -> np.ndarray:
    """``precision - log2 f`` for every table entry ``f`` in ``[0, 2**precision]`` (a table lookup, made once: the
    same values at any thread count; entry 0 never occurs)."""
    return precision - np.log2(np.arange((1 << precision) + 1, dtype=np.float64).clip(1.0))

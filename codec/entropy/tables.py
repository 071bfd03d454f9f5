"""The one probability path: integer logits -> integer frequency tables, shared by encoder and decoder.

Every probability the range coder sees comes from :func:`quantize_logits`. Its input is a tensor of *integer-valued*
logits at scale ``2**LOGIT_BITS`` (the priors compute them with exact integer arithmetic, see
``vqcodec.entropy.fixed_point``), and every operation below is exact integer arithmetic (an exp lookup table, int64
products, floor division). The tables are therefore bit-identical on every machine, thread count and batch layout,
which is what keeps a range decoder in step with its encoder (Ballé et al., "Integer Networks for Data Compression
with Latent-Variable Models", ICLR 2019).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

LOGIT_BITS = 10
"""Logits are integers ``z`` meaning ``z / 2**LOGIT_BITS`` nats."""

_EXP_BITS = 30
_EXP_RANGE = 24 << LOGIT_BITS
"""Logit gaps beyond 24 nats all map to the smallest table entry (every symbol still gets frequency >= 1)."""


def _exp_table() -> Tensor:
    """``round(2**30 * exp(-d / 2**LOGIT_BITS))`` for ``d = 0 .. _EXP_RANGE`` as int64 (shape ``(_EXP_RANGE + 1,)``)."""
    scale = float(1 << _EXP_BITS)
    values = [int(round(scale * math.exp(-d / (1 << LOGIT_BITS)))) for d in range(_EXP_RANGE + 1)]
    return torch.tensor(values, dtype=torch.int64)


_EXP_TABLE = _exp_table()
_EXP_NUMPY = _EXP_TABLE.numpy()


def quantize_logits(logits: Tensor, precision: int) -> np.ndarray:
    """Turn integer logits into frequency tables that sum to ``2**precision`` with every entry >= 1.

    ``p_k ∝ exp(z_k / 2**LOGIT_BITS)`` is evaluated with a lookup table and int64 arithmetic only:
    ``f_k ≈ e_k * (M - K) / sum(e) + 1`` (rounded down, via a per-row fixed-point ratio) with ``M = 2**precision``;
    the rounding remainder goes to the first most probable symbol. The encoder and the decoder call this function,
    and only this one, with identical inputs.

    Args:
        logits: ``(N, K)`` integer-valued logits (any real dtype; values are exact integers).
        precision: table precision in bits, ``12 <= precision <= 24`` and ``K * 4 <= 2**precision``.

    Returns:
        ``(N, K)`` int64 numpy array of frequencies; each row sums to ``2**precision``.
    """
    if logits.dim() != 2:
        raise ValueError(f"quantize_logits expects (N, K) logits, got shape {tuple(logits.shape)}")
    num_symbols = logits.shape[1]
    total = 1 << precision
    if not 12 <= precision <= 24 or num_symbols * 4 > total:
        raise ValueError(f"precision {precision} cannot hold {num_symbols} symbols")
    z = logits.detach().to("cpu", torch.int64, copy=True).numpy()  # a private copy: worked on in place below
    top = z.argmax(axis=1)  # the first most probable symbol (largest e below)
    gap = np.subtract(z.max(axis=1, keepdims=True), z, out=z)
    e = np.take(_EXP_NUMPY, np.minimum(gap, _EXP_RANGE, out=gap))
    # f = floor(e * R / 2**32) with R = floor((M - K) * 2**32 / sum(e)) <= the exact ratio, so the rows sum to at
    # most M - K before the +1; R < 2**27 (sum(e) >= 2**30) keeps e * R below 2**57.
    ratio = ((total - num_symbols) << 32) // e.sum(axis=1, keepdims=True)
    freq = np.multiply(e, ratio, out=e)
    np.right_shift(freq, 32, out=freq)
    freq += 1
    remainder = total - freq.sum(axis=1)
    freq[np.arange(freq.shape[0]), top] += remainder
    return freq


def table_bits(freq: np.ndarray, symbols: np.ndarray, precision: int) -> float:
    """Ideal code length ``sum -log2(f[symbol] / 2**precision)`` in bits of ``symbols (N,)`` under ``freq (N, K)``."""
    picked = freq[np.arange(freq.shape[0]), symbols].astype(np.float64)
    return float(np.sum(precision - np.log2(picked)))

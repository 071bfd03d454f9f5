"""Exact fixed-point arithmetic for the coding path of the priors.

Weights and activations are integers carried in float64 tensors: activations at scale ``2**ACT_BITS``, weights at
``2**WEIGHT_BITS``. Every product is below ``2**37`` and every convolution sums fewer than ``2**15`` of them, so all
intermediate values are exact integers below ``2**53``: float64 BLAS and convolution kernels then return the same bits
whatever their summation order, thread count or batch size. Non-linearities are lookup tables on integers.
Reference: Ballé, Johnston, Minnen, "Integer Networks for Data Compression with Latent-Variable Models", ICLR 2019.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

ACT_BITS = 10
WEIGHT_BITS = 12
ACT_LIMIT = 64 << ACT_BITS
"""Activations are clamped to ``[-64, 64]``."""
WEIGHT_LIMIT = 256 << WEIGHT_BITS
"""Weights are clamped to ``[-256, 256]``."""
GATE_RANGE = 8 << ACT_BITS
"""tanh/sigmoid inputs are clamped to ``[-8, 8]`` (both saturate to the table resolution there)."""
MAX_FAN_IN = 1 << 14

_ACC_TO_ACT = 2.0**-WEIGHT_BITS


def _lut(fn: Callable[[float], float]) -> Tensor:
    scale = float(1 << ACT_BITS)
    values = [round(fn(i / scale) * scale) for i in range(-GATE_RANGE, GATE_RANGE + 1)]
    return torch.tensor(values, dtype=torch.float64)


_TANH = _lut(math.tanh)
_SIGMOID = _lut(lambda v: 1.0 / (1.0 + math.exp(-v)))
_GATE_TABLE = torch.cat([_TANH, _SIGMOID])
"""tanh table followed by the sigmoid table: one lookup evaluates both halves of a gated unit."""


def quantize_weight(w: Tensor) -> Tensor:
    """Float weights -> integers at scale ``2**WEIGHT_BITS`` (float64, clamped to ``±WEIGHT_LIMIT``)."""
    if w.dim() > 1 and math.prod(w.shape[1:]) > MAX_FAN_IN:
        raise ValueError(f"fan-in {math.prod(w.shape[1:])} exceeds the exact-arithmetic limit {MAX_FAN_IN}")
    return torch.round(w.detach().double() * (1 << WEIGHT_BITS)).clamp_(-WEIGHT_LIMIT, WEIGHT_LIMIT)


def quantize_bias(b: Tensor) -> Tensor:
    """Float bias -> integers at accumulator scale ``2**(ACT_BITS + WEIGHT_BITS)`` (float64)."""
    limit = float(ACT_LIMIT) * (1 << WEIGHT_BITS)
    return torch.round(b.detach().double() * (1 << (ACT_BITS + WEIGHT_BITS))).clamp_(-limit, limit)


def quantize_act(x: Tensor) -> Tensor:
    """Float activations (e.g. embedding tables) -> integers at scale ``2**ACT_BITS`` (float64, clamped)."""
    return torch.round(x.detach().double() * (1 << ACT_BITS)).clamp_(-ACT_LIMIT, ACT_LIMIT)


def rescale(acc: Tensor, clamp: bool = True) -> Tensor:
    """Accumulator (scale ``2**(ACT_BITS+WEIGHT_BITS)``) -> activation scale, rounding down (clamped if ``clamp``).

    ``acc`` is consumed (scaled in place).
    """
    out = torch.floor_(acc.mul_(_ACC_TO_ACT))
    return out.clamp_(-ACT_LIMIT, ACT_LIMIT) if clamp else out


def gate_offset(channels: int) -> Tensor:
    """Table offsets ``(2C,)`` for :func:`gate`: the first ``C`` inputs read tanh, the last ``C`` sigmoid."""
    offset = torch.full((2 * channels,), GATE_RANGE, dtype=torch.int64)
    offset[channels:] += 2 * GATE_RANGE + 1
    return offset


def gate(pre: Tensor, offset: Tensor) -> Tensor:
    """Gated unit ``tanh(a) * sigmoid(b)`` on channels-last integer activations ``(..., 2C)`` -> ``(..., C)``.

    ``offset`` is ``gate_offset(C)``; ``pre`` is consumed (clamped in place).
    """
    half = pre.shape[-1] // 2
    values = torch.take(_GATE_TABLE, pre.clamp_(-GATE_RANGE, GATE_RANGE).long() + offset)
    return torch.floor_(values[..., :half] * values[..., half:] * (2.0**-ACT_BITS))

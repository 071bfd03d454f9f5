"""Pad ``(B, C, *grid)`` at the end of each grid axis up to a multiple of the model stride; crop it back.

Works for audio ``(B, C, T)``, images ``(B, C, H, W)`` and video ``(B, C, T, H, W)`` and for any dtype (uint8
pixels included), because it gathers indices rather than calling ``F.pad``.

    x_pad, padding = pad_to_multiple(x, model.stride)      # (1, 3, 37, 50) -> (1, 3, 40, 56) for stride 8
    x_hat = crop(model_output, padding)                    # back to (1, 3, 37, 50)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

__all__ = ["PadMode", "Padding", "crop", "pad_to_multiple"]

PadMode = Literal["replicate", "reflect"]


@dataclass(frozen=True)
class Padding:
    """What :func:`pad_to_multiple` did, enough for :func:`crop` to undo it.

    Attributes:
        original: Grid sizes before padding, e.g. ``(H, W)``.
        padded: Grid sizes after padding (each a multiple of the requested multiple).
    """

    original: tuple[int, ...]
    padded: tuple[int, ...]

    @property
    def amounts(self) -> tuple[int, ...]:
        """Samples added at the end of each grid axis."""
        return tuple(p - o for p, o in zip(self.padded, self.original))

    @property
    def is_identity(self) -> bool:
        """True when nothing was padded."""
        return self.padded == self.original


def _source_indices(n: int, pad: int, mode: PadMode, device: torch.device) -> Tensor:
    """Indices into an axis of length ``n`` producing that axis padded by ``pad`` at the end."""
    base = torch.arange(n, device=device)
    if pad == 0:
        return base
    if mode == "reflect" and pad < n:
        tail = torch.arange(n - 2, n - 2 - pad, -1, device=device)  # mirror without repeating the edge sample
    else:
        tail = torch.full((pad,), n - 1, device=device)  # replicate (also reflect's fallback on short axes)
    return torch.cat([base, tail])


def _per_axis(multiple: int | Sequence[int], grid_ndim: int) -> tuple[int, ...]:
    mults = (multiple,) * grid_ndim if isinstance(multiple, int) else tuple(multiple)
    if len(mults) != grid_ndim:
        raise ValueError(f"got {len(mults)} multiples for {grid_ndim} grid axes")
    if any(not isinstance(m, int) or m < 1 for m in mults):
        raise ValueError(f"multiples must be positive integers, got {mults}")
    return mults


def pad_to_multiple(x: Tensor, multiple: int | Sequence[int],
                    mode: PadMode = "replicate") -> tuple[Tensor, Padding]:
    """Pad each grid axis of ``x`` at its end so that its length is a multiple of ``multiple``.

    Args:
        x: ``(B, C, *grid)`` with 1, 2 or 3 grid axes, any dtype.
        multiple: One multiple for every grid axis (a model's ``stride``) or one per axis.
        mode: ``"replicate"`` repeats the last sample; ``"reflect"`` mirrors the samples before it (like
            ``F.pad(mode="reflect")``) and falls back to replicate on an axis too short to mirror
            (padding >= length, e.g. a 1x1 image).

    Returns:
        ``(x_padded, padding)``: ``x_padded`` is ``(B, C, *padded)`` and starts with an exact copy of ``x``;
        ``padding`` is what :func:`crop` needs. When nothing needs padding ``x`` itself is returned.

    Raises:
        ValueError: ``x`` does not have 1-3 grid axes, an axis is empty, or ``multiple``/``mode`` is invalid.
    """
    if x.dim() not in (3, 4, 5):
        raise ValueError(f"expected (B, C, *grid) with 1-3 grid axes, got shape {tuple(x.shape)}")
    if mode not in ("replicate", "reflect"):
        raise ValueError(f"mode must be 'replicate' or 'reflect', got {mode!r}")
    grid = tuple(int(n) for n in x.shape[2:])
    if min(grid) < 1:
        raise ValueError(f"cannot pad an empty grid {grid}")
    mults = _per_axis(multiple, len(grid))
    padded = tuple(-(-n // m) * m for n, m in zip(grid, mults))
    out = x
    for axis, (n, p) in enumerate(zip(grid, padded)):
        if p != n:
            out = out.index_select(2 + axis, _source_indices(n, p - n, mode, x.device))
    return out, Padding(original=grid, padded=padded)


def crop(x: Tensor, padding: Padding) -> Tensor:
    """Undo :func:`pad_to_multiple` on a tensor of the padded grid size (e.g. a model's reconstruction).

    Args:
        x: ``(B, C, *padding.padded)``; batch and channel counts may differ from the padded input.
        padding: The :class:`Padding` returned by :func:`pad_to_multiple`.

    Returns:
        ``(B, C, *padding.original)``, a view of ``x``.

    Raises:
        ValueError: ``x``'s grid is not ``padding.padded``.
    """
    grid = tuple(int(n) for n in x.shape[2:])
    if grid != padding.padded:
        raise ValueError(f"crop expects grid {padding.padded}, got {grid}")
    return x[(slice(None), slice(None)) + tuple(slice(0, n) for n in padding.original)]

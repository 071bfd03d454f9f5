"""Thin 1-D/2-D/3-D wrappers that move the channel axis of a latent grid last and call a ``(N, D)`` core.

    (B, D, T)        -> (B*T, D)        audio
    (B, D, H, W)     -> (B*H*W, D)      images
    (B, D, T, H, W)  -> (B*T*H*W, D)    video

Indices come back on the grid: ``(B, *grid)`` for a single stage, ``(B, *grid, S)`` for residual VQ.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import Tensor, nn

from vqcodec.config import VQConfig
from vqcodec.quantizers.vq import QuantizerOutput, ResidualVQ, VectorQuantizer


class _GridQuantizer(nn.Module):
    dims: ClassVar[int]
    core_cls: ClassVar[type[VectorQuantizer] | type[ResidualVQ]]
    core: VectorQuantizer | ResidualVQ

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = config
        self.core = self.core_cls(config)

    def _flatten(self, z: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        if z.dim() != self.dims + 2:
            raise ValueError(f"{type(self).__name__} expects (B, D, {self.dims} grid axes), got shape {tuple(z.shape)}")
        if z.shape[1] != self.config.codebook_dim:
            raise ValueError(f"channel axis is {z.shape[1]}, codebook_dim is {self.config.codebook_dim}")
        moved = z.movedim(1, -1)
        return moved.reshape(-1, moved.shape[-1]), tuple(moved.shape[:-1])

    def _unflatten(self, flat: Tensor, grid: tuple[int, ...]) -> Tensor:
        return flat.reshape(*grid, flat.shape[-1]).movedim(-1, 1)

    def _grid_indices(self, indices: Tensor, grid: tuple[int, ...]) -> Tensor:
        return indices.reshape(*grid, *indices.shape[1:])

    def encode(self, z: Tensor, **kwargs: int) -> Tensor:
        """Indices on the grid for ``z (B, D, *grid)``."""
        flat, grid = self._flatten(z)
        return self._grid_indices(self.core.encode(flat, **kwargs), grid)

    def decode(self, indices: Tensor, **kwargs: int) -> Tensor:
        """``z_q (B, D, *grid)`` for grid indices."""
        grid_ndim = self.dims + 1
        grid = tuple(indices.shape[:grid_ndim])
        flat_idx = indices.reshape(-1, *indices.shape[grid_ndim:])
        return self._unflatten(self.core.decode(flat_idx, **kwargs), grid)

    def forward(self, z_e: Tensor, **kwargs: int) -> QuantizerOutput:
        """Quantize ``z_e (B, D, *grid)``; see the core's ``forward``."""
        flat, grid = self._flatten(z_e)
        out = self.core(flat, **kwargs)
        return dataclasses.replace(
            out, z_q=self._unflatten(out.z_q, grid), indices=self._grid_indices(out.indices, grid)
        )


class VectorQuantizer1d(_GridQuantizer):
    """VQ over ``(B, D, T)``; indices ``(B, T)``."""

    dims, core_cls = 1, VectorQuantizer


class VectorQuantizer2d(_GridQuantizer):
    """VQ over ``(B, D, H, W)``; indices ``(B, H, W)``."""

    dims, core_cls = 2, VectorQuantizer


class VectorQuantizer3d(_GridQuantizer):
    """VQ over ``(B, D, T, H, W)``; indices ``(B, T, H, W)``."""

    dims, core_cls = 3, VectorQuantizer


class ResidualVQ1d(_GridQuantizer):
    """Residual VQ over ``(B, D, T)``; indices ``(B, T, S)``."""

    dims, core_cls = 1, ResidualVQ


class ResidualVQ2d(_GridQuantizer):
    """Residual VQ over ``(B, D, H, W)``; indices ``(B, H, W, S)``."""

    dims, core_cls = 2, ResidualVQ


class ResidualVQ3d(_GridQuantizer):
    """Residual VQ over ``(B, D, T, H, W)``; indices ``(B, T, H, W, S)``."""

    dims, core_cls = 3, ResidualVQ


GRID_RESIDUAL_VQ: dict[int, type[_GridQuantizer]] = {1: ResidualVQ1d, 2: ResidualVQ2d, 3: ResidualVQ3d}
GRID_VQ: dict[int, type[_GridQuantizer]] = {1: VectorQuantizer1d, 2: VectorQuantizer2d, 3: VectorQuantizer3d}

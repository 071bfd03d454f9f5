"""Cut index grids ``(B, *grid, S)`` into equal tiles ``(N, *tile, S)`` and back.

Grids are padded at the end of every axis with index 0 up to a multiple of the tile. Tiles are ordered batch-major,
then in raster order of the tile grid; this canonical order is the order in which the entropy coder interleaves them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def tile_grid(grid: tuple[int, ...], tile: tuple[int, ...]) -> tuple[int, ...]:
    """Tiles along each axis: ``ceil(grid / tile)``."""
    if len(grid) != len(tile) or any(t < 1 for t in tile):
        raise ValueError(f"tile {tile} does not fit grid {grid}")
    return tuple(-(-g // t) for g, t in zip(grid, tile))


def to_tiles(indices: Tensor, tile: tuple[int, ...]) -> Tensor:
    """``(B, *grid, S)`` -> ``(B * prod(tile_grid), *tile, S)``, zero-padded at the end of each axis."""
    b, *grid, s = indices.shape
    counts = tile_grid(tuple(grid), tile)
    padded = indices.new_zeros((b, *[n * t for n, t in zip(counts, tile)], s))
    padded[(slice(None), *[slice(0, g) for g in grid])] = indices
    dims = len(tile)
    split = padded.reshape(b, *[x for n, t in zip(counts, tile) for x in (n, t)], s)
    order = [0, *[1 + 2 * a for a in range(dims)], *[2 + 2 * a for a in range(dims)], 1 + 2 * dims]
    return split.permute(order).reshape(b * math.prod(counts), *tile, s)


def from_tiles(tiles: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Inverse of :func:`to_tiles`: ``(N, *tile, S)`` -> ``(B, *grid, S)`` for ``shape = (B, *grid, S)``."""
    b, *grid, s = shape
    tile = tuple(tiles.shape[1:-1])
    counts = tile_grid(tuple(grid), tile)
    dims = len(tile)
    split = tiles.reshape(b, *counts, *tile, s)
    order = [0, *[x for a in range(dims) for x in (1 + a, 1 + dims + a)], 1 + 2 * dims]
    full = split.permute(order).reshape(b, *[n * t for n, t in zip(counts, tile)], s)
    return full[(slice(None), *[slice(0, g) for g in grid])].contiguous()


def clamp_tile(grid: tuple[int, ...], tile: tuple[int, ...]) -> tuple[int, ...]:
    """The tile shrunk to the grid where the grid is smaller (a 10x10 grid is coded as one 10x10 tile)."""
    return tuple(max(1, min(g, t)) for g, t in zip(grid, tile))


def check_shape(shape: tuple[int, ...], dims: int, num_stages: int) -> None:
    """Raise ``ValueError`` unless ``shape`` is ``(B, *grid, S)`` with ``dims`` positive grid axes."""
    if len(shape) != dims + 2 or shape[-1] > num_stages or any(int(x) < 1 for x in shape):
        raise ValueError(f"shape must be (B, {dims} grid axes, S<={num_stages}) with positive sizes, got {shape}")


def zeros_like_grid(shape: tuple[int, ...]) -> Tensor:
    """An int64 grid of zeros of ``shape``."""
    return torch.zeros(shape, dtype=torch.int64)

"""The one tiler: apply a convolutional network to a large 1-D, 2-D or 3-D grid tile by tile with overlapping
margins, keeping memory bounded (long audio in chunks along time, images in tiles, video in groups of frames x
tiles).

Each core tile is processed with up to ``margin`` extra input on every side along every axis (clipped at the
borders); only the core of the output is kept. When the margin covers the network's receptive field the result
equals the untiled output up to float rounding, so tiles leave no seams.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from torch import Tensor

from vqcodec.progress import report


@dataclass(frozen=True)
class Tiling:
    """Core tile and context margin per grid axis, in input samples of the network (pixels, audio samples)."""

    core: tuple[int, ...]
    margin: tuple[int, ...]

    def scaled(self, factor: Sequence[int]) -> Tiling:
        """The same plan in a grid ``factor`` times coarser per axis (e.g. the latent grid of a decoder)."""
        core = tuple(c // f for c, f in zip(self.core, factor))
        return Tiling(core, tuple(m // f for m, f in zip(self.margin, factor)))


def _spans(length: int, core: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + core, length)) for lo in range(0, length, core)]


def tiled_apply(fn: Callable[[Tensor], Tensor], x: Tensor, tiling: Tiling, up: int | Sequence[int] = 1,
                down: int | Sequence[int] = 1, task: str | None = None) -> Tensor:
    """``fn`` over ``x (B, C, *grid)`` in tiles; output coordinates are input coordinates ``* up // down`` per axis
    (e.g. ``down=8`` for an encoder of stride 8, ``up=8`` for its decoder).

    ``tiling.core`` and ``tiling.margin`` must be multiples of ``down`` so every tile maps to whole output positions.
    ``task``: report progress under this name after every tile (``vqcodec.progress``).
    """
    grid = tuple(x.shape[2:])
    dims = len(grid)
    ups = (up,) * dims if isinstance(up, int) else tuple(up)
    downs = (down,) * dims if isinstance(down, int) else tuple(down)
    if len(tiling.core) != dims or len(tiling.margin) != dims:
        raise ValueError(f"tiling {tiling} does not fit a {dims}-D grid")
    for c, m, d in zip(tiling.core, tiling.margin, downs):
        if c % d or m % d or c < 1:
            raise ValueError(f"core {c} and margin {m} must be positive multiples of {d}")
    if all(n <= c for n, c in zip(grid, tiling.core)):
        y = fn(x)
        if task:
            report(task, 1.0)
        return y
    out: Tensor | None = None
    boxes = list(itertools.product(*(_spans(n, c) for n, c in zip(grid, tiling.core))))
    for done, box in enumerate(boxes, start=1):
        lo_in = [max(0, lo - m) for (lo, _), m in zip(box, tiling.margin)]
        hi_in = [min(n, hi + m) for (_, hi), m, n in zip(box, tiling.margin, grid)]
        y = fn(x[(slice(None), slice(None), *(slice(a, b) for a, b in zip(lo_in, hi_in)))])
        if out is None:
            out = y.new_empty((*y.shape[:2], *(n * u // d for n, u, d in zip(grid, ups, downs))))
        src, dst = [slice(None), slice(None)], [slice(None), slice(None)]
        for (lo, hi), a, u, d in zip(box, lo_in, ups, downs):
            src.append(slice((lo - a) * u // d, (hi - a) * u // d))
            dst.append(slice(lo * u // d, hi * u // d))
        out[tuple(dst)] = y[tuple(src)]
        if task:
            report(task, done / len(boxes))
    assert out is not None
    return out


def tiled_pieces(fn: Callable[[Tensor], Tensor], x: Tensor, tiling: Tiling, up: int = 1) -> Iterator[Tensor]:
    """The output of ``fn`` over a 1-D grid ``x (B, C, T)``, tile after tile in time order (the cores only, each
    computed with ``tiling.margin`` of context): what :func:`tiled_apply` would concatenate, for a consumer that
    streams (the speech synthesizer), so the whole output never has to exist at once."""
    if x.dim() != 3:
        raise ValueError(f"tiled_pieces takes a 1-D grid (B, C, T), got {tuple(x.shape)}")
    (core,), (margin,) = tiling.core, tiling.margin
    length = x.shape[2]
    for lo, hi in _spans(length, core):
        a, b = max(0, lo - margin), min(length, hi + margin)
        yield fn(x[:, :, a:b])[:, :, (lo - a) * up : (hi - a) * up]

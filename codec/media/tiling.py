"""Split a large image into stride-aligned tiles and merge decoded tiles back with a linear cross-fade.

The plan (:class:`TileGrid`) is pure integer arithmetic on ``(height, width, tile, overlap, stride)``, so an
encoder and a decoder that read those five numbers from a header build the same plan on any machine.

Along each axis the image is conceptually padded (replicate) to ``N = ceil(n / stride) * stride``. A single
tile covers it when ``N <= tile``; otherwise ``k = ceil((N - overlap) / (tile - overlap))`` tiles of length
``tile`` are spread evenly, start ``i`` being ``i * (N - tile) / (k - 1)`` rounded to a multiple of ``stride``
(half up). Every tile is then a multiple of ``stride`` on both sides (no per-tile padding), and neighbours
overlap by at least ``overlap`` pixels.

Merging weighs tile ``(r, c)`` by ``w_r(y) * w_c(x)``: 1-D windows equal to 1 except for linear ramps across
the overlaps with the previous and next tile, ``(j + 0.5) / ov`` up and its mirror down. The merged image is
``sum(w * tile) / sum(w)``; because the weights are separable, ``sum(w)`` is an outer product of two 1-D sums
and no weight image is stored. Tiles are merged in raster order through a band of rows, so memory stays
bounded.

    grid = TileGrid(height=4000, width=6000, tile=512, overlap=32, stride=8)
    merger = TileMerger(grid, dtype=torch.uint8)
    for t in grid.tiles:                                 # lazily, one tile in memory at a time
        x = to_tensor(grid.extract(pixels[None], t.index)[0])      # pixels: uint8 (3, H, W)
        merger.add(t.index, decode(encode(x)))
    pixels_hat = merger.result()[0]                      # uint8 (3, 4000, 6000)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["Tile", "TileGrid", "TileMerger"]


@dataclass(frozen=True)
class Tile:
    """One tile of a :class:`TileGrid`: the rectangle ``[top, top + height) x [left, left + width)``.

    Rows/columns past the image's edge (at most ``stride - 1``) are filled by replicating the last row/column.
    """

    index: int
    row: int
    col: int
    top: int
    left: int
    height: int
    width: int


def _axis_starts(length: int, tile: int, overlap: int, stride: int) -> tuple[int, ...]:
    """Tile starts along padded ``length`` (a multiple of ``stride``); tiles span ``min(tile, length)``."""
    if length <= tile:
        return (0,)
    count = -(-(length - overlap) // (tile - overlap))
    units = (length - tile) // stride
    return tuple(stride * ((2 * i * units + count - 1) // (2 * (count - 1))) for i in range(count))


def _axis_window(starts: tuple[int, ...], size: int, i: int) -> Tensor:
    """``(size,)`` float32 cross-fade window of tile ``i`` along one axis."""
    w = torch.ones(size)
    if i > 0:
        ov = starts[i - 1] + size - starts[i]
        if ov > 0:
            w[:ov] = (torch.arange(ov, dtype=torch.float32) + 0.5) / ov
    if i + 1 < len(starts):
        ov = starts[i] + size - starts[i + 1]
        if ov > 0:
            down = (torch.arange(ov - 1, -1, -1, dtype=torch.float32) + 0.5) / ov
            w[size - ov:] = torch.minimum(w[size - ov:], down)
    return w


def _axis_norm(starts: tuple[int, ...], size: int, length: int) -> Tensor:
    """``(length,)`` sum of all tiles' windows along one axis (> 0 everywhere)."""
    total = torch.zeros(length)
    for i, s in enumerate(starts):
        total[s:s + size] += _axis_window(starts, size, i)
    return total


@dataclass(frozen=True)
class TileGrid:
    """A deterministic tiling plan for an ``H x W`` image (see the module docstring).

    Args:
        height: Image rows ``H`` (>= 1).
        width: Image columns ``W`` (>= 1).
        tile: Largest tile side in pixels; a positive multiple of ``stride``.
        overlap: Minimum overlap of neighbouring tiles in pixels (cross-faded); a multiple of ``stride`` in
            ``[0, tile)``. 0 gives abutting tiles with visible seams if the tiles disagree.
        stride: The model's stride; tile sides and starts are multiples of it.

    Raises:
        ValueError: Any argument out of range.
    """

    height: int
    width: int
    tile: int
    overlap: int = 0
    stride: int = 1
    row_starts: tuple[int, ...] = field(init=False)
    col_starts: tuple[int, ...] = field(init=False)
    tile_height: int = field(init=False)
    tile_width: int = field(init=False)

    def __post_init__(self) -> None:
        if self.height < 1 or self.width < 1:
            raise ValueError(f"image size must be positive, got {self.height}x{self.width}")
        if self.stride < 1 or self.tile < self.stride or self.tile % self.stride:
            raise ValueError(f"tile ({self.tile}) must be a positive multiple of stride ({self.stride})")
        if not 0 <= self.overlap < self.tile or self.overlap % self.stride:
            raise ValueError(f"overlap ({self.overlap}) must be a multiple of stride ({self.stride}) "
                             f"in [0, tile)")
        for name, n in (("row", self.padded_height), ("col", self.padded_width)):
            object.__setattr__(self, f"{name}_starts", _axis_starts(n, self.tile, self.overlap, self.stride))
        object.__setattr__(self, "tile_height", min(self.tile, self.padded_height))
        object.__setattr__(self, "tile_width", min(self.tile, self.padded_width))

    @property
    def padded_height(self) -> int:
        """``H`` rounded up to a multiple of ``stride``."""
        return -(-self.height // self.stride) * self.stride

    @property
    def padded_width(self) -> int:
        """``W`` rounded up to a multiple of ``stride``."""
        return -(-self.width // self.stride) * self.stride

    @property
    def rows(self) -> int:
        """Number of tile rows."""
        return len(self.row_starts)

    @property
    def cols(self) -> int:
        """Number of tile columns."""
        return len(self.col_starts)

    def __len__(self) -> int:
        return self.rows * self.cols

    def tile_at(self, index: int) -> Tile:
        """The tile with raster index ``index`` (row-major)."""
        if not 0 <= index < len(self):
            raise IndexError(f"tile index {index} out of range for {len(self)} tiles")
        r, c = divmod(index, self.cols)
        return Tile(index, r, c, self.row_starts[r], self.col_starts[c], self.tile_height, self.tile_width)

    @property
    def tiles(self) -> Iterator[Tile]:
        """All tiles in raster order, generated lazily."""
        return (self.tile_at(i) for i in range(len(self)))

    def _check_image(self, image: Tensor) -> None:
        if image.dim() != 4 or tuple(image.shape[2:]) != (self.height, self.width):
            raise ValueError(f"expected (B, C, {self.height}, {self.width}), got {tuple(image.shape)}")

    def extract(self, image: Tensor, index: int) -> Tensor:
        """Tile ``index`` of ``image (B, C, H, W)`` as a new ``(B, C, tile_height, tile_width)`` tensor.

        Only the tile is copied; pixels past the image edge replicate the last row/column.
        """
        self._check_image(image)
        t = self.tile_at(index)
        rows = torch.arange(t.top, t.top + t.height, device=image.device).clamp_(max=self.height - 1)
        cols = torch.arange(t.left, t.left + t.width, device=image.device).clamp_(max=self.width - 1)
        return image.index_select(2, rows).index_select(3, cols)

    def split(self, image: Tensor) -> Iterator[tuple[Tile, Tensor]]:
        """Yield ``(tile, pixels)`` for every tile of ``image (B, C, H, W)``, one at a time."""
        self._check_image(image)
        for t in self.tiles:
            yield t, self.extract(image, t.index)


class TileMerger:
    """Blends decoded tiles of a :class:`TileGrid`, added in raster order, into one image.

    Memory: the output ``(B, C, H, W)`` in ``dtype`` plus one float32 band of ``tile_height`` rows; each
    band of rows is normalised and written out as soon as its tile row is complete. With
    ``dtype=torch.uint8`` a 6000x4000 RGB output costs 72 MB plus a 37 MB band for 512-pixel tiles.

    Args:
        grid: The plan the tiles were cut with.
        channels: ``C`` of the tiles.
        batch: ``B`` of the tiles.
        dtype: ``torch.float32`` (blended values as they are) or ``torch.uint8``
            (``round(clamp(x, 0, 1) * 255)``, as :func:`vqcodec.media.from_tensor`).
    """

    def __init__(self, grid: TileGrid, channels: int = 3, batch: int = 1,
                 dtype: torch.dtype = torch.float32) -> None:
        if dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
        self.grid = grid
        self._out = torch.empty(batch, channels, grid.height, grid.width, dtype=dtype)
        self._band = torch.zeros(batch, channels, grid.tile_height, grid.padded_width)
        self._next = 0
        self._row_windows = [_axis_window(grid.row_starts, grid.tile_height, i) for i in range(grid.rows)]
        self._col_windows = [_axis_window(grid.col_starts, grid.tile_width, i) for i in range(grid.cols)]
        self._norm_rows = _axis_norm(grid.row_starts, grid.tile_height, grid.padded_height)
        self._norm_cols = _axis_norm(grid.col_starts, grid.tile_width, grid.padded_width)

    def add(self, index: int, tile: Tensor) -> None:
        """Blend in tile ``index``, a ``(B, C, tile_height, tile_width)`` float tensor (e.g. a decoded tile).

        Raises:
            ValueError: Tiles out of raster order (``index`` must be ``0, 1, 2, ...``) or a wrong shape.
        """
        if index != self._next:
            raise ValueError(f"tiles must be added in raster order: expected tile {self._next}, got {index}")
        t = self.grid.tile_at(index)
        expect = (*self._band.shape[:2], t.height, t.width)
        if tuple(tile.shape) != expect:
            raise ValueError(f"tile {index} must have shape {expect}, got {tuple(tile.shape)}")
        weight = self._row_windows[t.row][:, None] * self._col_windows[t.col][None, :]
        self._band[:, :, :, t.left:t.left + t.width] += tile.detach().to("cpu", torch.float32) * weight
        self._next += 1
        if t.col == self.grid.cols - 1:
            self._flush_row(t.row)

    def _flush_row(self, row: int) -> None:
        """Write out the rows that no later tile touches and slide the band down to the next tile row."""
        g = self.grid
        top = g.row_starts[row]
        end = g.row_starts[row + 1] if row + 1 < g.rows else g.padded_height
        # In place on the band (these rows are finished), so no band-sized temporaries are made.
        done = self._band[:, :, : end - top].div_(self._norm_rows[top:end, None] * self._norm_cols[None, :])
        if self._out.dtype == torch.uint8:
            done.nan_to_num_(0.0).clamp_(0.0, 1.0).mul_(255.0).round_()
        rows = min(end, g.height) - top
        if rows > 0:
            self._out[:, :, top:top + rows] = done[:, :, :rows, : g.width]
        keep = g.tile_height - (end - top)
        self._band[:, :, :keep] = self._band[:, :, end - top:].clone()
        self._band[:, :, keep:] = 0.0

    def result(self) -> Tensor:
        """The blended ``(B, C, H, W)`` image in the merger's ``dtype``.

        Raises:
            ValueError: Some tiles were never added.
        """
        if self._next != len(self.grid):
            raise ValueError(f"{len(self.grid) - self._next} of {len(self.grid)} tiles were not added")
        return self._out

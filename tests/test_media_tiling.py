"""Tiling plan invariants, exact split+merge, and seams no sharper than the tiles' disagreement."""

from __future__ import annotations

import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vqcodec.media.tiling import TileGrid, TileMerger


@st.composite
def _grids(draw: st.DrawFn) -> TileGrid:
    stride = draw(st.sampled_from([1, 2, 4, 8]))
    tile = stride * draw(st.integers(1, 12))
    overlap = stride * draw(st.integers(0, tile // stride - 1))
    return TileGrid(draw(st.integers(1, 300)), draw(st.integers(1, 300)), tile, overlap, stride)


@settings(max_examples=100, deadline=None)
@given(grid=_grids())
def test_plan_covers_image_with_aligned_overlapping_tiles(grid: TileGrid) -> None:
    for starts, size, n in ((grid.row_starts, grid.tile_height, grid.padded_height),
                            (grid.col_starts, grid.tile_width, grid.padded_width)):
        assert size <= grid.tile and size % grid.stride == 0 and n % grid.stride == 0
        assert starts[0] == 0 and starts[-1] + size == n
        assert all(s % grid.stride == 0 for s in starts)
        for a, b in zip(starts, starts[1:]):
            assert a < b and a + size - b >= grid.overlap  # strictly increasing, overlap honoured
    assert len(grid) == grid.rows * grid.cols == len(list(grid.tiles))
    assert grid == TileGrid(grid.height, grid.width, grid.tile, grid.overlap, grid.stride)  # deterministic


def test_known_plan() -> None:
    grid = TileGrid(height=100, width=37, tile=32, overlap=8, stride=8)
    assert (grid.padded_height, grid.padded_width) == (104, 40)
    assert grid.row_starts == (0, 24, 48, 72) and grid.col_starts == (0, 8)
    assert grid.tile_at(5).top == 48 and grid.tile_at(5).left == 8
    single = TileGrid(height=1, width=1, tile=64, overlap=16, stride=16)
    assert len(single) == 1 and (single.tile_height, single.tile_width) == (16, 16)


@pytest.mark.parametrize("h,w,tile,overlap,stride", [
    (128, 128, 48, 16, 8), (67, 93, 32, 8, 4), (5, 300, 64, 0, 8), (1, 1, 8, 0, 8), (200, 150, 64, 32, 16),
])
def test_split_merge_untouched_is_exact(image_crops: torch.Tensor, h: int, w: int, tile: int, overlap: int,
                                        stride: int) -> None:
    image = image_crops[:1].repeat(1, 1, 2, 3)[:, :, :h, :w]
    grid = TileGrid(h, w, tile, overlap, stride)
    merger = TileMerger(grid)
    for t, pixels in grid.split(image):
        assert pixels.shape == (1, 3, grid.tile_height, grid.tile_width)
        merger.add(t.index, pixels)
    merged = merger.result()
    assert merged.shape == image.shape
    assert (merged - image).abs().max() < 1e-6
    assert torch.equal((merged * 255).round(), (image * 255).round())


def test_uint8_pipeline_is_exact(samples_dir) -> None:
    from vqcodec.media import load_image, to_tensor

    pixels = load_image(samples_dir / "photo.png").pixels  # uint8 (3, 320, 480)
    grid = TileGrid(320, 480, 128, 32, 16)
    merger = TileMerger(grid, dtype=torch.uint8)
    for t in grid.tiles:
        tile = grid.extract(pixels[None], t.index)
        assert tile.dtype == torch.uint8
        merger.add(t.index, to_tensor(tile[0]))
    assert torch.equal(merger.result()[0], pixels)


def test_split_is_lazy_and_extract_copies_only_a_tile() -> None:
    grid = TileGrid(300, 400, 64, 16, 8)
    image = torch.rand(1, 3, 300, 400)
    it = grid.split(image)
    assert isinstance(it, types.GeneratorType)
    _, first = next(it)
    assert first.shape == (1, 3, 64, 64) and first.untyped_storage().nbytes() == 3 * 64 * 64 * 4
    edge = grid.extract(image, len(grid) - 1)  # rows/cols past the edge replicate the last row/column
    assert torch.equal(edge[:, :, -1], edge[:, :, 300 - grid.row_starts[-1] - 1])


@pytest.mark.parametrize("overlap", [16, 32])
def test_perturbed_tiles_blend_without_seams(overlap: int) -> None:
    eps = 0.05
    grid = TileGrid(150, 170, 64, overlap, 8)
    image = torch.full((1, 3, 150, 170), 0.5)
    merger = TileMerger(grid)
    gen = torch.Generator().manual_seed(1)
    for t, pixels in grid.split(image):
        merger.add(t.index, pixels + eps * (2 * torch.rand(1, generator=gen) - 1))  # each tile off by <= eps
    merged = merger.result()
    assert (merged - image).abs().max() <= eps + 1e-6  # a convex blend of the tiles
    jumps = max((merged[..., 1:, :] - merged[..., :-1, :]).abs().max(),
                (merged[..., 1:] - merged[..., :-1]).abs().max())
    assert jumps <= 2 * eps / overlap + 1e-6  # a ramp across each overlap, never a step


def test_seams_are_steps_without_overlap() -> None:
    grid = TileGrid(64, 64, 32, 0, 8)
    merger = TileMerger(grid, channels=1)
    for t, pixels in grid.split(torch.zeros(1, 1, 64, 64)):
        merger.add(t.index, pixels + 0.1 * t.index)
    assert (merger.result()[..., 1:] - merger.result()[..., :-1]).abs().max() == pytest.approx(0.1)


def test_errors() -> None:
    for args in [(0, 5, 8, 0, 8), (5, 5, 12, 0, 8), (5, 5, 16, 16, 8), (5, 5, 16, 4, 8)]:
        with pytest.raises(ValueError):
            TileGrid(*args)
    grid = TileGrid(20, 20, 16, 8, 8)
    merger = TileMerger(grid, channels=1)
    with pytest.raises(IndexError):
        grid.tile_at(len(grid))
    with pytest.raises(ValueError, match="expected"):
        grid.extract(torch.zeros(1, 3, 21, 20), 0)
    with pytest.raises(ValueError, match="must have shape"):
        merger.add(0, torch.zeros(1, 1, 8, 16))
    merger.add(0, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="raster order"):
        merger.add(0, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="raster order"):
        merger.add(2, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="dtype"):
        TileMerger(grid, dtype=torch.float64)
    with pytest.raises(ValueError, match="not added"):
        merger.result()

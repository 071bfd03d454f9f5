"""The one tiler: bounded tiles in 1-D, 2-D and 3-D, no seams (equal to the untiled network up to float rounding)."""

from __future__ import annotations

import pytest
import torch

from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
from vqcodec.media.tiler import Tiling, tiled_apply

# grid, core, margin per dimensionality: several tiles with ragged edges along every axis
CASES = {
    1: ((1000,), (128,), (64,)),
    2: ((296, 424), (128, 128), (64, 64)),
    3: ((24, 40, 56), (8, 16, 16), (8, 16, 16)),
}


def _vqvae(dims: int) -> VQVAE:
    torch.manual_seed(0)
    strides = (2, 2, 2) if dims < 3 else (2, 2)
    net = NetConfig(dims=dims, in_channels=3, hidden=8, max_hidden=16, strides=strides, num_res_blocks=2,
                    decoder_level_blocks=1, encoder_level_blocks=1 if dims == 1 else 0, dilation_base=3)
    model = VQVAE(VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, kmeans_init=False))).eval()
    with torch.no_grad():  # trained level blocks are not the identity: the margin must cover them too
        for p in model.decoder.levels.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("dims", [1, 2, 3])
@torch.no_grad()
def test_tiled_encoder_and_decoder_match_untiled(dims: int) -> None:
    vqvae = _vqvae(dims)
    grid, core, margin = CASES[dims]
    stride = vqvae.stride
    x = torch.rand(1, 3, *grid)
    calls: list[tuple[int, ...]] = []

    def enc(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape[2:]))
        return vqvae.encoder(t)

    z_tiled = tiled_apply(enc, x, Tiling(core, margin), down=stride)
    expected_tiles = 1
    for n, c in zip(grid, core):
        expected_tiles *= -(-n // c)
    assert len(calls) == expected_tiles > 1
    assert all(s <= c + 2 * m for call in calls for s, c, m in zip(call, core, margin)), "memory is bounded"
    z = vqvae.encoder(x)
    assert (z_tiled - z).abs().max() < 1e-4
    x_tiled = tiled_apply(vqvae.decoder, z, Tiling(core, margin).scaled((stride,) * dims), up=stride)
    assert x_tiled.shape == x.shape
    assert (x_tiled - vqvae.decoder(z)).abs().max() < 1e-4


def test_a_grid_within_one_tile_is_one_call() -> None:
    calls = []
    out = tiled_apply(lambda t: calls.append(1) or t * 2, torch.ones(1, 1, 30), Tiling((32,), (8,)))
    assert calls == [1] and torch.equal(out, torch.full((1, 1, 30), 2.0))


def test_tile_geometry_is_checked() -> None:
    with pytest.raises(ValueError, match="multiples"):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 64, 64), Tiling((60, 64), (8, 8)), down=8)
    with pytest.raises(ValueError, match="does not fit"):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 64, 64), Tiling((64,), (8,)))

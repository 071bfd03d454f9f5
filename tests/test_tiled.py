"""Tiled encoder/decoder: bounded tiles, no seams (equal to the untiled network up to float rounding)."""

from __future__ import annotations

import pytest
import torch

from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
from vqcodec.tiled import tiled_apply


@pytest.fixture(scope="module")
def vqvae() -> VQVAE:
    torch.manual_seed(0)
    net = NetConfig(dims=2, in_channels=3, hidden=8, max_hidden=16, strides=(2, 2, 2), num_res_blocks=2,
                    decoder_level_blocks=1)
    model = VQVAE(VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, kmeans_init=False))).eval()
    with torch.no_grad():  # trained level blocks are not the identity: the margin must cover them too
        for p in model.decoder.levels.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@torch.no_grad()
def test_tiled_encoder_and_decoder_match_untiled(vqvae: VQVAE) -> None:
    x = torch.rand(1, 3, 296, 424)  # several 128 px tiles, ragged edges
    calls: list[tuple[int, ...]] = []

    def enc(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape[2:]))
        return vqvae.encoder(t)

    z_tiled = tiled_apply(enc, x, core=128, margin=64, down=8)
    assert len(calls) == 12 and max(max(c) for c in calls) <= 128 + 2 * 64
    z = vqvae.encoder(x)
    assert (z_tiled - z).abs().max() < 1e-4
    x_tiled = tiled_apply(vqvae.decoder, z, core=16, margin=8, up=8)
    assert x_tiled.shape == x.shape
    assert (x_tiled - vqvae.decoder(z)).abs().max() < 1e-4


def test_tile_geometry_is_checked() -> None:
    with pytest.raises(ValueError):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 64, 64), core=60, margin=8, down=8)

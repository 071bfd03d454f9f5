"""Dimension-generic encoder/decoder shapes and configs."""

from __future__ import annotations

import pytest
import torch

from vqcodec.config import NetConfig, VQConfig, VQVAEConfig
from vqcodec.nn import Decoder, Encoder


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("strides", [(2, 2), (2, 4), (5,), ()])
def test_encoder_decoder_shapes(dims: int, strides: tuple[int, ...]) -> None:
    net = NetConfig(dims=dims, in_channels=2, hidden=4, max_hidden=8, strides=strides, num_res_blocks=1)
    s = net.total_stride
    grid = {1: (8 * s,), 2: (2 * s, 3 * s), 3: (s, 2 * s, s)}[dims] if dims != 3 or s <= 8 else (s, s, s)
    x = torch.randn(2, 2, *grid)
    z = Encoder(net, 6)(x)
    assert z.shape == (2, 6, *(n // s for n in grid))
    assert Decoder(net, 6)(z).shape == x.shape


def test_config_round_trip_and_unknown_keys() -> None:
    cfg = VQVAEConfig(net=NetConfig(dims=1, strides=(2, 4)), vq=VQConfig(codebook_size=64, num_stages=2))
    again = VQVAEConfig.from_dict(cfg.to_dict())
    assert again == cfg and isinstance(again.net.strides, tuple)
    with pytest.raises(ValueError, match="unknown config key"):
        VQVAEConfig.from_dict({"vq": {"codebook_sise": 3}})
    with pytest.raises(ValueError):
        NetConfig(dims=4)
    with pytest.raises(ValueError):
        VQConfig(decay=1.5)

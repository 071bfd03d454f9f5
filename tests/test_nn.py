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


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_decoder_level_blocks_start_as_identity(dims: int) -> None:
    """Level blocks add capacity after each upsampling; added to trained weights they change no output."""
    torch.manual_seed(0)
    plain = NetConfig(dims=dims, in_channels=2, hidden=4, max_hidden=8, strides=(2, 2), num_res_blocks=1)
    grown = NetConfig(**{**plain.to_dict(), "decoder_level_blocks": 2})
    old, new = Decoder(plain, 3), Decoder(grown, 3)
    assert not any(k.startswith("levels.") for k in old.state_dict()), "old weight files keep their keys"
    added = new.load_state_dict(old.state_dict(), strict=False)
    assert not added.unexpected_keys and all(k.startswith("levels.") for k in added.missing_keys)
    assert len(new.levels) == 2 and all(len(level) == 2 for level in new.levels)
    z = torch.randn(2, 3, *(3,) * dims)
    assert torch.equal(new(z), old(z))
    with torch.no_grad():
        for p in new.levels.parameters():
            p.add_(0.1)
    assert new(z).shape == old(z).shape and not torch.allclose(new(z), old(z)), "the blocks are applied"
    with pytest.raises(ValueError, match="decoder_level_blocks"):
        NetConfig(decoder_level_blocks=-1)


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


def test_image_networks_infer_channels_last_with_the_same_values() -> None:
    """In inference the 2-D encoder and decoder run channels-last (a faster CPU layout) and hand back ordinary
    contiguous tensors with the values of the usual layout, to float rounding; training is left as it is."""
    from vqcodec.nn.blocks import _inference_layout

    torch.manual_seed(0)
    net = NetConfig(hidden=8, max_hidden=16, strides=(2, 2), num_res_blocks=1, decoder_level_blocks=1)
    enc, dec = Encoder(net, 4).eval(), Decoder(net, 4).eval()
    x = torch.rand(2, 3, 24, 40)
    seen: list[bool] = []

    def probe(t: torch.Tensor) -> torch.Tensor:
        seen.append(t.is_contiguous(memory_format=torch.channels_last))
        return t

    with torch.no_grad():
        z = enc(x)
        assert z.is_contiguous() and torch.allclose(z, enc.net(x), atol=1e-5)
        y = dec(z)
        assert y.is_contiguous() and y.shape == x.shape and torch.allclose(y, dec._layers(z), atol=1e-5)
        _inference_layout(probe, x, training=False), _inference_layout(probe, x, training=True)
        _inference_layout(probe, torch.rand(1, 2, 8), training=False)
    assert seen == [True, False, False]

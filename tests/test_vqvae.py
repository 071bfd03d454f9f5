"""The VQ-VAE composes the blocks correctly and actually learns on real image crops."""

from __future__ import annotations

import pytest
import torch

from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig


def _tiny(dims: int = 2, channels: int = 3, stages: int = 1) -> VQVAE:
    net = NetConfig(dims=dims, in_channels=channels, hidden=16, max_hidden=32, strides=(2, 2), num_res_blocks=1)
    return VQVAE(VQVAEConfig(net=net, vq=VQConfig(codebook_size=32, codebook_dim=8, num_stages=stages)))


@pytest.mark.parametrize("dims,shape", [(1, (2, 1, 64)), (2, (2, 3, 16, 12)), (3, (1, 3, 4, 8, 8))])
def test_vqvae_shapes_and_encode_decode(dims: int, shape: tuple[int, ...]) -> None:
    model = _tiny(dims, shape[1], stages=2)
    x = torch.rand(shape)
    out = model(x)
    assert out.x_hat.shape == x.shape
    assert out.indices.shape == (shape[0], *(n // 4 for n in shape[2:]), 2)
    model.eval()
    idx = model.encode(x)
    assert torch.allclose(model.decode(idx), model(x).x_hat, atol=1e-5)
    assert model.encode(x, stages=1).shape[-1] == 1


def test_vqvae_rejects_bad_shapes() -> None:
    model = _tiny()
    with pytest.raises(ValueError, match="stride"):
        model(torch.rand(1, 3, 10, 12))
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 16, 16))


def test_tiny_vqvae_overfits_real_crops(image_crops: torch.Tensor) -> None:
    torch.set_num_threads(2)
    x = image_crops[:, :, :64, :64]  # (2, 3, 64, 64)
    model = _tiny()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(300):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(float(out.recon_loss))
    start, end = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert end < start / 10, (start, end)
    assert out.perplexity > 2.0

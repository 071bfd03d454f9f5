"""Gaussian VAE mathematics: closed-form KL, reparameterisation, reconstruction losses, the model."""

from __future__ import annotations

import pytest
import torch

from vqcodec import GaussianVAE, GaussianVAEConfig, NetConfig, kl_standard_normal, reparameterize
from vqcodec.models import reconstruction_loss


def test_kl_is_zero_for_standard_normal() -> None:
    mean, log_var = torch.zeros(3, 5, 4), torch.zeros(3, 5, 4)
    assert torch.equal(kl_standard_normal(mean, log_var), torch.zeros(3))


def test_kl_matches_monte_carlo() -> None:
    mean = torch.tensor([[0.7, -1.2, 0.3]])
    log_var = torch.tensor([[-0.5, 0.8, 0.1]])
    z = reparameterize(mean.expand(400_000, 3), log_var.expand(400_000, 3))
    std = torch.exp(0.5 * log_var)
    log_q = torch.distributions.Normal(mean, std).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    mc = float((log_q - log_p).mean())
    assert abs(mc - float(kl_standard_normal(mean, log_var))) < 0.01


def test_reparameterisation_moments_and_gradient() -> None:
    mean = torch.full((200_000,), 2.0, requires_grad=True)
    log_var = torch.full((200_000,), float(torch.log(torch.tensor(0.25))), requires_grad=True)
    z = reparameterize(mean, log_var)
    assert abs(float(z.detach().mean()) - 2.0) < 0.01 and abs(float(z.detach().std()) - 0.5) < 0.01
    z.sum().backward()
    assert torch.allclose(mean.grad, torch.ones_like(mean))
    assert log_var.grad is not None


def test_reconstruction_losses() -> None:
    x = torch.rand(2, 3, 4, 4)
    logits = torch.randn(2, 3, 4, 4)
    bce = -(x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits))).flatten(1).sum(1)
    assert torch.allclose(reconstruction_loss("bce", logits, x), bce, atol=1e-4)
    assert torch.allclose(reconstruction_loss("l2", logits, x), 0.5 * (logits - x).pow(2).flatten(1).sum(1))
    with pytest.raises(ValueError):
        reconstruction_loss("l1", logits, x)


@pytest.mark.parametrize("dims,shape", [(1, (2, 1, 64)), (2, (2, 3, 16, 16)), (3, (1, 3, 8, 16, 16))])
@pytest.mark.parametrize("loss", ["bce", "l2"])
def test_gaussian_vae_forward(dims: int, shape: tuple[int, ...], loss: str) -> None:
    net = NetConfig(dims=dims, in_channels=shape[1], hidden=8, max_hidden=16, strides=(2, 2), num_res_blocks=1)
    model = GaussianVAE(GaussianVAEConfig(net=net, latent_dim=4, recon_loss=loss))  # type: ignore[arg-type]
    x = torch.rand(shape)
    out = model(x)
    assert out.x_hat.shape == x.shape
    assert out.mean.shape == (shape[0], 4, *(n // 4 for n in shape[2:]))
    expected = (reconstruction_loss(loss, model.decoder(out.z), x).mean()
                + kl_standard_normal(out.mean, out.log_var).mean())
    assert torch.allclose(out.loss, expected, rtol=1e-5)
    out.loss.backward()
    if loss == "bce":
        assert 0 <= float(out.x_hat.detach().min()) and float(out.x_hat.detach().max()) <= 1


def test_gaussian_vae_learns(image_crops: torch.Tensor) -> None:
    net = NetConfig(dims=2, in_channels=3, hidden=16, max_hidden=32, strides=(2, 2), num_res_blocks=1)
    model = GaussianVAE(GaussianVAEConfig(net=net, latent_dim=8, recon_loss="bce"))
    x = image_crops[:, :, :32, :32]
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    mse = []
    for _ in range(250):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        mse.append(float((out.x_hat.detach() - x).pow(2).mean()))
    assert mse[-1] < 0.5 * mse[0], (mse[0], mse[-1])

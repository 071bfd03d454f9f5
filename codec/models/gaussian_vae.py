"""Gaussian VAE (Kingma & Welling, "Auto-Encoding Variational Bayes", 2014) over 1-D, 2-D or 3-D media.

::

    x -> Encoder -> (mean, log_var) (B, L, *grid/s) -> z = mean + exp(log_var/2) * eps -> Decoder -> x_hat
    loss = recon(x_hat, x) + kl_weight * KL(N(mean, var) || N(0, I)),  summed per item, averaged over the batch
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import GaussianVAEConfig
from vqcodec.distributions import kl_standard_normal, reparameterize
from vqcodec.kinds import KindSpec, register_kind
from vqcodec.nn import Decoder, Encoder


@dataclass
class GaussianVAEOutput:
    """Result of ``GaussianVAE.forward``; losses are per-item sums averaged over the batch (nats)."""

    x_hat: Tensor
    mean: Tensor
    log_var: Tensor
    z: Tensor
    recon_loss: Tensor
    kl: Tensor
    loss: Tensor


def reconstruction_loss(kind: str, decoded: Tensor, x: Tensor) -> Tensor:
    """Per-item reconstruction loss ``(B,)``.

    ``"bce"``: ``decoded`` are logits, Bernoulli cross-entropy summed; ``"l2"``: ``0.5 * ||decoded - x||^2``.
    """
    if kind == "bce":
        per = F.binary_cross_entropy_with_logits(decoded, x, reduction="none")
    elif kind == "l2":
        per = 0.5 * (decoded - x).pow(2)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r} (use 'bce' or 'l2')")
    return per.flatten(1).sum(1)


class GaussianVAE(nn.Module):
    """Continuous-latent VAE built from a ``GaussianVAEConfig``."""

    def __init__(self, config: GaussianVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.net, 2 * config.latent_dim)
        self.decoder = Decoder(config.net, config.latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, log_var)``, each ``(B, latent_dim, *grid/s)``."""
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var

    def decode(self, z: Tensor) -> Tensor:
        """Reconstruction ``(B, C, *grid)`` in data space (sigmoid applied for the BCE model)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.recon_loss == "bce" else out

    def forward(self, x: Tensor) -> GaussianVAEOutput:
        """Sample ``z`` by reparameterisation and return the negative ELBO terms."""
        mean, log_var = self.encode(x)
        z = reparameterize(mean, log_var) if self.training else mean
        decoded = self.decoder(z)
        recon = reconstruction_loss(self.config.recon_loss, decoded, x).mean()
        kl = kl_standard_normal(mean, log_var).mean()
        x_hat = torch.sigmoid(decoded) if self.config.recon_loss == "bce" else decoded
        return GaussianVAEOutput(x_hat, mean, log_var, z, recon, kl, recon + self.config.kl_weight * kl)


def _build(config: dict, tensors: dict) -> GaussianVAE:  # type: ignore[type-arg]
    from vqcodec.weights_io import load_state

    model = GaussianVAE(GaussianVAEConfig.from_dict(config["model"]))
    load_state(model, tensors["model"], "vae model")
    return model


register_kind(KindSpec(
    name="vae", config=GaussianVAEConfig, build=_build, task="vqcodec.train.tasks_vae", bench=None, codec=False,
    legacy=("gaussian",),
    summary="the textbook Gaussian VAE (mean, log-variance, KL to N(0, I)): a model to study, not a codec",
))

"""VQ-VAE over 1-D, 2-D or 3-D media (van den Oord et al., "Neural Discrete Representation Learning", 2017).

::

    x (B, C, *grid) -> Encoder -> z_e (B, D, *grid/s) -> ResidualVQ -> z_q -> Decoder -> x_hat (B, C, *grid)
                                                     \\-> indices (B, *grid/s, S)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import VQVAEConfig
from vqcodec.nn import Decoder, Encoder
from vqcodec.quantizers import GRID_RESIDUAL_VQ


@dataclass
class VQVAEOutput:
    """Training-time result of ``VQVAE.forward``.

    Attributes:
        x_hat: reconstruction ``(B, C, *grid)``.
        indices: ``(B, *latent_grid, S)``; ``-1`` marks stages not run under quantizer dropout.
        recon_loss: mean squared (or absolute) error per element.
        commit_loss, codebook_loss: quantizer losses (see ``QuantizerOutput``).
        loss: ``recon_loss + commit_loss + codebook_loss``.
        bits: rate estimate in bits for the batch under a uniform index distribution (a prior lowers it).
        perplexity, dead_fraction: codebook usage statistics.
    """

    x_hat: Tensor
    indices: Tensor
    recon_loss: Tensor
    commit_loss: Tensor
    codebook_loss: Tensor
    loss: Tensor
    bits: float
    perplexity: float
    dead_fraction: float


class VQVAE(nn.Module):
    """Encoder, residual vector quantizer and decoder built from a ``VQVAEConfig``."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.vq.codebook_dim
        self.encoder = Encoder(config.net, dim)
        self.quantizer = GRID_RESIDUAL_VQ[config.net.dims](config.vq)
        self.decoder = Decoder(config.net, dim)

    @property
    def stride(self) -> int:
        """Media sizes must be multiples of this (pad first)."""
        return self.config.net.total_stride

    def _check(self, x: Tensor) -> None:
        net = self.config.net
        if x.dim() != net.dims + 2 or x.shape[1] != net.in_channels:
            raise ValueError(f"expected (B, {net.in_channels}, {net.dims} grid axes), got {tuple(x.shape)}")
        if any(n % self.stride for n in x.shape[2:]):
            raise ValueError(f"grid {tuple(x.shape[2:])} is not a multiple of the model stride {self.stride}")

    def forward(self, x: Tensor, stages: int | None = None) -> VQVAEOutput:
        """Reconstruct ``x (B, C, *grid)`` through the quantizer; trains the codebook in training mode."""
        self._check(x)
        q = self.quantizer(self.encoder(x), stages=stages) if stages else self.quantizer(self.encoder(x))
        x_hat = self.decoder(q.z_q)
        recon = F.mse_loss(x_hat, x) if self.config.recon_loss == "l2" else F.l1_loss(x_hat, x)
        used = int((q.indices >= 0).sum())
        return VQVAEOutput(
            x_hat=x_hat,
            indices=q.indices,
            recon_loss=recon,
            commit_loss=q.commit_loss,
            codebook_loss=q.codebook_loss,
            loss=recon + q.commit_loss + q.codebook_loss,
            bits=used * math.log2(self.config.vq.codebook_size),
            perplexity=q.perplexity,
            dead_fraction=q.dead_fraction,
        )

    def encode(self, x: Tensor, stages: int | None = None) -> Tensor:
        """Indices ``(B, *latent_grid, S')`` of ``x (B, C, *grid)``."""
        self._check(x)
        return self.quantizer.encode(self.encoder(x), stages=stages or self.config.vq.num_stages)

    def decode(self, indices: Tensor) -> Tensor:
        """Reconstruction ``(B, C, *grid)`` from ``indices (B, *latent_grid, S')`` (uses all S' stages given)."""
        return self.decoder(self.quantizer.decode(indices, stages=indices.shape[-1]))

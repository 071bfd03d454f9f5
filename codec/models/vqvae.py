"""VQ-VAE over 1-D, 2-D or 3-D media (van den Oord et al., "Neural Discrete Representation Learning", 2017).

::

    x (B, C, *grid) -> Encoder -> z_e (B, D, *grid/s) -> ResidualVQ -> z_q -> Decoder -> x_hat (B, C, *grid)
                                                     \\-> indices (B, *grid/s, S)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import VQVAEConfig
from vqcodec.nn import Decoder, Encoder
from vqcodec.nn.speech import SpeechDecoder, SpeechEncoder, postfilter, supervision_loss
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
        aux_loss: the speech front end's supervision of pitch, voicing and envelope (zero for convolutional
            models); part of ``loss``.
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
    aux_loss: Tensor | None = None


class VQVAE(nn.Module):
    """Encoder, residual vector quantizer and decoder built from a ``VQVAEConfig``."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.vq.codebook_dim
        self.encoder: nn.Module
        self.decoder: nn.Module
        if config.synth is not None:
            rate = config.sample_rate or 16000
            self.encoder = SpeechEncoder(config.net, config.synth, rate, dim)
            self.decoder = SpeechDecoder(config.net, config.synth, rate, dim)
        else:
            self.encoder = Encoder(config.net, dim)
            self.decoder = Decoder(config.net, dim)
        self.quantizer = GRID_RESIDUAL_VQ[config.net.dims](config.vq)

    @property
    def stride(self) -> int:
        """Media sizes must be multiples of this (pad first); along time a frame-wise video model has stride 1
        (``axis_strides``)."""
        return self.config.net.total_stride

    @property
    def axis_strides(self) -> tuple[int, ...]:
        """The stride along each grid axis."""
        return self.config.net.axis_strides

    def _check(self, x: Tensor) -> None:
        net = self.config.net
        if x.dim() != net.dims + 2 or x.shape[1] != net.in_channels:
            raise ValueError(f"expected (B, {net.in_channels}, {net.dims} grid axes), got {tuple(x.shape)}")
        strides = net.axis_strides
        if any(n % st for n, st in zip(x.shape[2:], strides)):
            raise ValueError(f"grid {tuple(x.shape[2:])} is not a multiple of the model strides {strides}")

    def forward(self, x: Tensor, stages: int | None = None) -> VQVAEOutput:
        """Reconstruct ``x (B, C, *grid)`` through the quantizer; trains the codebook in training mode."""
        self._check(x)
        aux = x.new_zeros(())
        if isinstance(self.encoder, SpeechEncoder):
            features, f0, periodicity = self.encoder.analyze(x)
            z_e = self.encoder.net(features)
        else:
            z_e = self.encoder(x)
        q = self.quantizer(z_e, stages=stages) if stages else self.quantizer(z_e)
        if isinstance(self.decoder, SpeechDecoder):
            controls = self.decoder.controls(q.z_q)
            offset = int(torch.randint(0, 1 << 30, ())) if self.training else 0
            heard = controls if self.training else postfilter(controls, self.decoder.synth_config)
            x_hat = self.decoder.synthesize(heard, noise_offset=offset)
            aux = supervision_loss(controls, self.decoder, x, f0, periodicity)
        else:
            x_hat = self.decoder(q.z_q)
        recon = F.mse_loss(x_hat, x) if self.config.recon_loss == "l2" else F.l1_loss(x_hat, x)
        used = int((q.indices >= 0).sum())
        return VQVAEOutput(
            x_hat=x_hat,
            indices=q.indices,
            recon_loss=recon,
            commit_loss=q.commit_loss,
            codebook_loss=q.codebook_loss,
            loss=recon + q.commit_loss + q.codebook_loss + aux,
            bits=used * math.log2(self.config.vq.codebook_size),
            perplexity=q.perplexity,
            dead_fraction=q.dead_fraction,
            aux_loss=aux,
        )

    def encode(self, x: Tensor, stages: int | None = None) -> Tensor:
        """Indices ``(B, *latent_grid, S')`` of ``x (B, C, *grid)``."""
        self._check(x)
        return self.quantizer.encode(self.encoder(x), stages=stages or self.config.vq.num_stages)

    def decode(self, indices: Tensor) -> Tensor:
        """Reconstruction ``(B, C, *grid)`` from ``indices (B, *latent_grid, S')`` (uses all S' stages given)."""
        return self.decoder(self.quantizer.decode(indices, stages=indices.shape[-1]))

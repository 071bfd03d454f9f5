"""A VQ codec: a VQ-VAE and a prior over its indices, composed into real bits.

::

    x (1, C, H, W) --encoder (tiled)--> z_e --RVQ--> indices (1, h, w, S) --first q stages--> prior + range coder
        --> Encoded (header, payload)
    Encoded --range decoder + the same prior session--> indices (1, h, w, q) --RVQ decode--> z_q
        --decoder (tiled)--> x_hat

The quality level ``q`` is the number of residual stages coded (1..S). The prior and the range coder run on the
CPU in exact integer arithmetic; only the encoder/decoder convolutions may run on another device.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vqcodec.bitstream.header import Header
from vqcodec.entropy.coder import decode_indices, encode_indices
from vqcodec.models.vqvae import VQVAE
from vqcodec.priors.base import IndexPrior
from vqcodec.tiled import tiled_apply

TILE_PIXELS = 512
"""Core tile side (pixels) for the encoder/decoder convolutions of large inputs."""
TILE_MARGIN = 64
"""Context margin (pixels) around each tile; covers the receptive field of the shipped networks."""


@dataclass(frozen=True)
class Encoded:
    """Real bits of one item: the header fields that depend on the coding, the payload, the ideal bit count."""

    header: Header
    payload: bytes
    estimated_bits: float


class VQCodec(nn.Module):
    """``compress``/``decompress`` for a 2-D VQ-VAE (``vqvae``) and a prior over its indices (``prior``)."""

    def __init__(self, vqvae: VQVAE, prior: IndexPrior) -> None:
        super().__init__()
        cfg, pc = vqvae.config, prior.config
        if (cfg.net.dims, cfg.vq.codebook_size, cfg.vq.num_stages) != (pc.dims, pc.codebook_size, pc.num_stages):
            raise ValueError("the prior does not match the VQ-VAE (dims, codebook size, stages)")
        self.vqvae, self.prior = vqvae, prior

    @property
    def stride(self) -> int:
        return self.vqvae.stride

    @property
    def num_stages(self) -> int:
        return self.vqvae.config.vq.num_stages

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction ``x_hat`` of ``x (B, C, H, W)`` through all stages (no entropy coding)."""
        return self.vqvae(x).x_hat

    def _scale(self) -> tuple[int, int]:
        return TILE_PIXELS // self.stride, TILE_MARGIN // self.stride

    @torch.no_grad()
    def encode_indices(self, x: Tensor, stages: int) -> Tensor:
        """Indices ``(1, h, w, stages)`` of ``x (1, C, H, W)`` (H, W multiples of the stride); tiled encoder."""
        self.check_quality(stages)
        z_e = tiled_apply(self.vqvae.encoder, x, TILE_PIXELS, TILE_MARGIN, down=self.stride)
        return self.vqvae.quantizer.encode(z_e, stages=stages).cpu()

    @torch.no_grad()
    def decode_indices(self, indices: Tensor, device: torch.device | str = "cpu") -> Tensor:
        """``x_hat (1, C, H, W)`` from indices ``(1, h, w, q)``; tiled decoder."""
        z_q = self.vqvae.quantizer.decode(indices.to(device), stages=indices.shape[-1])
        core, margin = self._scale()
        return tiled_apply(self.vqvae.decoder, z_q, core, margin, up=self.stride)

    def compress(self, x: Tensor, stages: int, header: Header) -> Encoded:
        """Entropy-code ``x (1, C, H, W)`` at ``stages``; ``header`` brings the media fields (shape, padding, ...)."""
        indices = self.encode_indices(x, stages)
        enc = encode_indices(indices, self.prior, self.prior.config.tile_shape)
        full = dataclasses.replace(
            header, latent_grid=tuple(indices.shape[1:-1]), tile_shape=enc.tile_shape or tuple(indices.shape[1:-1]),
            num_stages=stages,
            codebook_size=self.prior.config.codebook_size, precision=self.prior.config.precision,
            symbol_crc=enc.checksum, batch=1, quality=stages,
        )
        return Encoded(full, enc.payload, enc.estimated_bits)

    def decompress(self, enc: Encoded, device: torch.device | str = "cpu") -> Tensor:
        """``x_hat (1, C, H', W')`` (still padded) of ``enc``; raises the entropy coder's typed errors."""
        h = enc.header
        indices = decode_indices(enc.payload, self.prior, h.indices_shape, h.tile_shape, checksum=h.symbol_crc)
        return self.decode_indices(indices, device)

    def check_quality(self, stages: int) -> None:
        """``stages`` (the quality) must be in ``1..num_stages``."""
        if not 1 <= stages <= self.num_stages:
            raise ValueError(f"quality must be in 1..{self.num_stages}, got {stages}")

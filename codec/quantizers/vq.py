"""Vector quantizer core on ``(N, D)`` vectors, and its residual (multi-stage) form.

VQ with straight-through gradients and commitment loss: van den Oord et al., "Neural Discrete Representation
Learning" (NeurIPS 2017). Residual VQ with quantizer dropout: Zeghidour et al., "SoundStream" (2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import VQConfig
from vqcodec.quantizers.codebook import EuclideanCodebook


@dataclass
class QuantizerOutput:
    """Result of a quantizer forward pass.

    Attributes:
        z_q: quantized vectors with straight-through gradient, same shape as the input.
        indices: codeword indices; ``(N,)`` for one stage, ``(N, S)`` for residual (``-1`` = stage not run).
        commit_loss: ``beta * mean ||z_e - sg[e]||^2`` (summed over stages).
        codebook_loss: ``mean ||sg[z_e] - e||^2`` for gradient-learned codebooks, else 0.
        perplexity: ``exp(H)`` of this batch's code usage (mean over stages).
        dead_fraction: fraction of codes with EMA count below the restart threshold (mean over stages).
    """

    z_q: Tensor
    indices: Tensor
    commit_loss: Tensor
    codebook_loss: Tensor
    perplexity: float
    dead_fraction: float

    @property
    def loss(self) -> Tensor:
        return self.commit_loss + self.codebook_loss


def _perplexity(indices: Tensor, k: int) -> float:
    counts = torch.bincount(indices.flatten(), minlength=k).float()
    p = counts / counts.sum().clamp_min(1.0)
    return float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))


class VectorQuantizer(nn.Module):
    """Single-stage VQ on ``(N, D)``: ``encode(z) -> (N,)`` indices, ``decode(indices) -> (N, D)``."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = config
        self.codebook = EuclideanCodebook(config)

    def codebooks(self) -> Tensor:
        """The codewords ``(1, K, D)`` (one stage)."""
        return self.codebook.embed.detach()[None]

    def encode(self, z: Tensor) -> Tensor:
        """Nearest-codeword indices ``(N,)`` of ``z (N, D)``."""
        return self.codebook.search(z)

    def decode(self, indices: Tensor) -> Tensor:
        """Codewords ``(N, D)`` of ``indices (N,)``."""
        return self.codebook.lookup(indices)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        """Quantize ``z_e (N, D)``; in training mode also initialise/update/restart the codebook."""
        cb = self.codebook
        if self.training and not bool(cb.initialized):
            cb.init_kmeans(z_e)
        indices = cb.search(z_e)
        if self.training and self.config.ema:
            cb.ema_update(z_e, indices)
        z_q = cb.lookup(indices)
        commit = self.config.commitment_weight * F.mse_loss(z_e, z_q.detach())
        codebook_loss = z_e.new_zeros(()) if self.config.ema else F.mse_loss(z_q, z_e.detach())
        if self.training:
            cb.restart_dead(z_e)
        z_st = z_e + (z_q - z_e).detach()
        return QuantizerOutput(
            z_q=z_st,
            indices=indices,
            commit_loss=commit,
            codebook_loss=codebook_loss,
            perplexity=_perplexity(indices, self.config.codebook_size),
            dead_fraction=cb.dead_fraction(),
        )


def dropout_stages(num_stages: int, p: float) -> int:
    """Quantizer dropout: ``n ~ U{1..num_stages}`` with probability ``p``, else all ``num_stages`` (global RNG)."""
    if p > 0 and torch.rand(()) < p:
        return int(torch.randint(1, num_stages + 1, ()))
    return num_stages


class ResidualVQ(nn.Module):
    """S-stage residual VQ on ``(N, D)``: stage s quantizes what stages < s left over.

    With ``quantizer_dropout`` p, a training forward uses only the first ``n ~ U{1..S}`` stages with probability p,
    so one model serves 1..S stages (variable bitrate).
    """

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = config
        self.stages = nn.ModuleList(VectorQuantizer(config) for _ in range(config.num_stages))

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def codebooks(self) -> Tensor:
        """The codewords of every stage ``(S, K, D)``."""
        return torch.stack([vq.codebook.embed.detach() for vq in self._stage_list()])

    def encode(self, z: Tensor, stages: int | None = None) -> Tensor:
        """Indices ``(N, S')`` of ``z (N, D)`` for the first ``S' = stages or S`` stages."""
        n = self._check_stages(stages)
        residual = z.detach()
        out = []
        for vq in self._stage_list()[:n]:
            idx = vq.encode(residual)
            residual = residual - vq.decode(idx)
            out.append(idx)
        return torch.stack(out, dim=-1)

    def decode(self, indices: Tensor, stages: int | None = None) -> Tensor:
        """Sum of the first ``stages`` stages' codewords: ``indices (N, S')`` -> ``(N, D)``."""
        n = self._check_stages(stages if stages is not None else indices.shape[-1])
        if indices.shape[-1] < n:
            raise ValueError(f"indices hold {indices.shape[-1]} stages, {n} requested")
        parts = [vq.decode(indices[..., s]) for s, vq in enumerate(self._stage_list()[:n])]
        return torch.stack(parts, 0).sum(0)

    def _stage_list(self) -> list[VectorQuantizer]:
        return list(self.stages)  # type: ignore[arg-type]

    def _check_stages(self, stages: int | None) -> int:
        n = self.num_stages if stages is None else int(stages)
        if not 1 <= n <= self.num_stages:
            raise ValueError(f"stages must be in 1..{self.num_stages}, got {n}")
        return n

    def _active_stages(self) -> int:
        if self.training:
            return dropout_stages(self.num_stages, self.config.quantizer_dropout)
        return self.num_stages

    def forward(self, z_e: Tensor, stages: int | None = None) -> QuantizerOutput:
        """Quantize ``z_e (N, D)`` with ``stages`` (default: all, or random under quantizer dropout)."""
        n = self._check_stages(stages) if stages is not None else self._active_stages()
        residual = z_e
        z_q = torch.zeros_like(z_e)
        indices = torch.full((z_e.shape[0], self.num_stages), -1, dtype=torch.long, device=z_e.device)
        commit = z_e.new_zeros(())
        codebook_loss = z_e.new_zeros(())
        perplexity, dead = 0.0, 0.0
        for s, vq in enumerate(self._stage_list()[:n]):
            out = vq(residual)  # commitment gradient reaches z_e through the residual
            quantized = out.z_q.detach()  # codeword values
            z_q = z_q + quantized
            residual = residual - quantized
            indices[:, s] = out.indices
            commit = commit + out.commit_loss
            codebook_loss = codebook_loss + out.codebook_loss
            perplexity += out.perplexity
            dead += out.dead_fraction
        z_st = z_e + (z_q - z_e).detach()
        return QuantizerOutput(z_st, indices, commit, codebook_loss, perplexity / n, dead / n)


def codes_bits(config: VQConfig) -> float:
    """Bits per index under a uniform distribution over the codebook (``log2 K``)."""
    return math.log2(config.codebook_size)

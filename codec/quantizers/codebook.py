"""Euclidean codebook: nearest-codeword search, EMA updates, k-means init, dead-code restart.

The EMA update follows van den Oord et al., "Neural Discrete Representation Learning" (2017), appendix A.1:

    N_i <- g * N_i + (1 - g) * n_i
    m_i <- g * m_i + (1 - g) * sum_j z_ij
    e_i  = m_i / N~_i,   N~_i = (N_i + eps) / (sum_k N_k + K * eps) * sum_k N_k   (Laplace smoothing)

All state is in registered buffers (``embed``, ``embed_avg``, ``cluster_size``, ``initialized``) so it is saved
with the model; updates run under ``no_grad`` in fp32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from vqcodec.config import VQConfig


def _distributed(enabled: bool) -> bool:
    return enabled and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def nearest_codeword(flat: Tensor, embed: Tensor, chunk: int = 8192) -> Tensor:
    """Index of the nearest codeword (squared L2) for every row.

    Args:
        flat: vectors ``(N, D)``.
        embed: codebook ``(K, D)``.
        chunk: rows per block, so at most ``chunk x K`` distances exist at once.

    Returns:
        indices ``(N,)`` int64; ties go to the lowest index.
    """
    embed = embed.to(flat.dtype)
    e_sq = embed.pow(2).sum(1)
    out = torch.empty(flat.shape[0], dtype=torch.long, device=flat.device)
    for start in range(0, flat.shape[0], chunk):
        block = flat[start : start + chunk]
        dist_sq = e_sq.unsqueeze(0) - 2.0 * block @ embed.t()  # ||z||^2 is constant per row: not needed
        out[start : start + chunk] = dist_sq.argmin(1)
    return out


def kmeans(samples: Tensor, k: int, iters: int, generator: torch.Generator | None = None) -> Tensor:
    """Lloyd's k-means on ``samples (N, D)``; returns centroids ``(k, D)``.

    Centroids start at random samples (with replacement when ``N < k``); empty clusters keep their centroid.
    """
    n = samples.shape[0]
    gen_device = generator.device if generator is not None else samples.device
    idx = torch.randint(0, n, (k,), generator=generator, device=gen_device).to(samples.device)
    if n >= k:
        idx = torch.randperm(n, generator=generator, device=gen_device)[:k].to(samples.device)
    centroids = samples[idx].clone()
    for _ in range(iters):
        assign = nearest_codeword(samples, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, assign, samples)
        counts = torch.bincount(assign, minlength=k).to(samples.dtype)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(1)
    return centroids


DERIVED_BUFFERS = ("embed_avg",)
"""Codebook buffers a weights file need not store: ``embed_avg = embed * smoothed cluster size`` (what every EMA
update leaves true), rebuilt on load when missing (exported models carry no such training state)."""


def smoothed_sizes(cluster_size: Tensor, epsilon: float) -> Tensor:
    """Laplace-smoothed cluster sizes ``(K,)``: never zero, same total as ``cluster_size``."""
    n, k = cluster_size.sum(), cluster_size.numel()
    return (cluster_size + epsilon) / (n + k * epsilon) * n


class EuclideanCodebook(nn.Module):
    """K codewords of dimension D, learned by EMA (``config.ema``) or by gradient.

    Buffers:
        embed ``(K, D)`` (a Parameter when learned by gradient), embed_avg ``(K, D)``, cluster_size ``(K,)``,
        initialized ``()`` bool.
    """

    embed: Tensor
    embed_avg: Tensor
    cluster_size: Tensor
    initialized: Tensor

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = config
        k, d = config.codebook_size, config.codebook_dim
        init = torch.randn(k, d) * (1.0 / d**0.5)
        if config.ema:
            self.register_buffer("embed", init)
        else:
            self.embed = nn.Parameter(init)  # type: ignore[assignment]
        self.register_buffer("embed_avg", init.clone())
        self.register_buffer("cluster_size", torch.ones(k))
        self.register_buffer("initialized", torch.tensor(not config.kmeans_init))

    @property
    def sync(self) -> bool:
        return _distributed(self.config.sync_distributed)

    def search(self, flat: Tensor) -> Tensor:
        """Nearest-codeword indices ``(N,)`` for ``flat (N, D)``."""
        return nearest_codeword(flat.detach(), self.embed.detach(), self.config.search_chunk)

    def lookup(self, indices: Tensor) -> Tensor:
        """Codewords ``(*shape, D)`` for integer ``indices (*shape)``."""
        return nn.functional.embedding(indices, self.embed)

    @torch.no_grad()
    def init_kmeans(self, flat: Tensor) -> None:
        """Initialise codewords by k-means on ``flat (N, D)`` (rank 0's result is broadcast when syncing)."""
        centroids = kmeans(flat.detach().float(), self.config.codebook_size, self.config.kmeans_iters)
        self.embed.data.copy_(centroids)
        self.embed_avg.copy_(centroids)
        self.cluster_size.fill_(1.0)
        self.initialized.fill_(True)
        self._broadcast()

    @torch.no_grad()
    def ema_update(self, flat: Tensor, indices: Tensor) -> None:
        """One EMA step from vectors ``flat (N, D)`` assigned to ``indices (N,)``."""
        cfg = self.config
        with torch.autocast(device_type=flat.device.type, enabled=False):
            flat = flat.detach().float()
            counts = torch.bincount(indices, minlength=cfg.codebook_size).float()
            sums = torch.zeros_like(self.embed_avg).index_add_(0, indices, flat)
            if self.sync:
                dist.all_reduce(counts)
                dist.all_reduce(sums)
            self.cluster_size.mul_(cfg.decay).add_(counts, alpha=1.0 - cfg.decay)
            self.embed_avg.mul_(cfg.decay).add_(sums, alpha=1.0 - cfg.decay)
            self.embed.data.copy_(self.embed_avg / self.smoothed_cluster_size().unsqueeze(1))

    def smoothed_cluster_size(self) -> Tensor:
        """Laplace-smoothed cluster sizes ``(K,)``: never zero, same total as ``cluster_size``."""
        return smoothed_sizes(self.cluster_size, self.config.epsilon)

    def _load_from_state_dict(self, state_dict: dict[str, Tensor], prefix: str, *args: Any, **kwargs: Any) -> None:
        """Load, rebuilding ``embed_avg`` from ``embed`` and ``cluster_size`` when the state omits it."""
        avg, embed, size = prefix + "embed_avg", prefix + "embed", prefix + "cluster_size"
        if avg not in state_dict and embed in state_dict and size in state_dict:
            sizes = smoothed_sizes(state_dict[size].float(), self.config.epsilon)
            state_dict[avg] = state_dict[embed].float() * sizes.unsqueeze(1)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def restart_dead(self, flat: Tensor) -> int:
        """Re-seed codes whose EMA cluster size is below the threshold from random rows of ``flat (N, D)``.

        Returns:
            the number of codes restarted.
        """
        threshold = self.config.dead_code_threshold
        if threshold <= 0:
            return 0
        dead = self.cluster_size < threshold
        n_dead = int(dead.sum())
        if n_dead == 0:
            return 0
        pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
        fresh = flat.detach().float()[pick]
        self.embed.data[dead] = fresh
        self.embed_avg[dead] = fresh * threshold
        self.cluster_size[dead] = threshold
        self._broadcast()
        return n_dead

    def dead_fraction(self) -> float:
        """Fraction of codes whose EMA cluster size is below the dead-code threshold."""
        return float((self.cluster_size < max(self.config.dead_code_threshold, 1e-12)).float().mean())

    def _broadcast(self) -> None:
        """Copy rank 0's codebook state to every rank (no-op unless syncing)."""
        if self.sync:
            for t in (self.embed.data, self.embed_avg, self.cluster_size):
                dist.broadcast(t, src=0)

"""EMA codebook mathematics, k-means initialisation, dead-code restart, chunked search."""

from __future__ import annotations

import torch

from vqcodec.config import VQConfig
from vqcodec.quantizers import EuclideanCodebook, VectorQuantizer, kmeans, nearest_codeword


def _codebook(**kw: object) -> EuclideanCodebook:
    cfg = VQConfig(codebook_size=3, codebook_dim=2, kmeans_init=False, dead_code_threshold=0.0, **kw)  # type: ignore[arg-type]
    cb = EuclideanCodebook(cfg)
    cb.embed.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]))
    cb.embed_avg.copy_(cb.embed)
    cb.cluster_size.fill_(1.0)
    return cb


def test_ema_update_matches_hand_computation() -> None:
    cb = _codebook(decay=0.5, epsilon=1e-5)
    z = torch.tensor([[1.0, 1.0], [3.0, 1.0], [9.0, 1.0]])
    idx = cb.search(z)
    assert idx.tolist() == [0, 0, 1]
    cb.ema_update(z, idx)
    # N_i <- g N_i + (1-g) n_i with n = [2, 1, 0]
    assert torch.allclose(cb.cluster_size, torch.tensor([1.5, 1.0, 0.5]))
    # m_i <- g m_i + (1-g) sum_j z_ij
    m = torch.tensor([[0.5 * 0 + 0.5 * 4, 0.5 * 0 + 0.5 * 2], [0.5 * 10 + 0.5 * 9, 0.5 * 0 + 0.5 * 1], [0, 5.0]])
    assert torch.allclose(cb.embed_avg, m)
    # e_i = m_i / N~_i, N~ Laplace-smoothed with the same total
    n, k, eps = 3.0, 3, 1e-5
    smoothed = (torch.tensor([1.5, 1.0, 0.5]) + eps) / (n + k * eps) * n
    assert torch.allclose(cb.embed, m / smoothed.unsqueeze(1))
    assert torch.allclose(cb.embed[0], torch.tensor([2.0 / 1.5, 1.0 / 1.5]), atol=1e-4)


def test_smoothing_never_divides_by_zero() -> None:
    cb = _codebook(decay=0.0)
    z = torch.tensor([[0.1, 0.0], [0.2, 0.0]])
    cb.ema_update(z, cb.search(z))  # codes 1 and 2 get zero counts
    assert (cb.smoothed_cluster_size() > 0).all()
    assert torch.isfinite(cb.embed).all()


def test_ema_only_in_training_mode() -> None:
    vq = VectorQuantizer(VQConfig(codebook_size=8, codebook_dim=4, kmeans_init=False))
    before = vq.codebook.embed.clone()
    vq.eval()
    vq(torch.randn(100, 4))
    assert torch.equal(before, vq.codebook.embed)
    vq.train()
    vq(torch.randn(100, 4))
    assert not torch.equal(before, vq.codebook.embed)


def test_chunked_search_matches_brute_force() -> None:
    z, e = torch.randn(1000, 8), torch.randn(64, 8)
    brute = torch.cdist(z, e).argmin(1)
    assert torch.equal(nearest_codeword(z, e, chunk=37), brute)


def _clustered(n: int, centers: int, dim: int) -> torch.Tensor:
    c = torch.randn(centers, dim) * 5
    return c[torch.randint(0, centers, (n,))] + 0.1 * torch.randn(n, dim)


def test_kmeans_init_beats_random_init() -> None:
    data = _clustered(4000, 32, 8)
    centroids = kmeans(data, 32, iters=20)
    random_init = data[torch.randperm(len(data))[:32]]

    def err(e: torch.Tensor) -> float:
        return float((data - e[nearest_codeword(data, e)]).pow(2).sum(1).mean())

    assert err(centroids) < 0.5 * err(random_init)

    vq = VectorQuantizer(VQConfig(codebook_size=32, codebook_dim=8, kmeans_init=True, kmeans_iters=20))
    vq.train()
    vq(data)
    assert bool(vq.codebook.initialized)
    assert err(vq.codebook.embed) < 0.5 * err(torch.randn(32, 8))


def test_dead_codes_are_restarted() -> None:
    cfg = VQConfig(codebook_size=16, codebook_dim=4, kmeans_init=False, dead_code_threshold=0.5, decay=0.9)
    vq = VectorQuantizer(cfg)
    vq.codebook.embed.add_(1000.0)  # every code far from the data: only the nearest few get used
    vq.train()
    data = torch.randn(512, 4)
    for _ in range(20):
        out = vq(data)
    used = torch.unique(vq.encode(data)).numel()
    assert used > 8, f"only {used} codes used after restarts"
    assert (vq.codebook.embed.abs() < 100).all(), "restarted codes must come from encoder outputs"
    assert out.dead_fraction < 0.5


def test_a_state_without_embed_avg_rebuilds_it_and_the_ema_goes_on_the_same() -> None:
    """Exported weights omit ``embed_avg``; loading rebuilds it from ``embed`` and the cluster sizes, which is what
    the EMA update keeps true, so further updates match those of the full state."""
    torch.manual_seed(0)
    full = _codebook(decay=0.5)
    full.train()
    full.ema_update(torch.randn(40, 2) * 5, torch.randint(0, 3, (40,)))
    state = {k: v for k, v in full.state_dict().items() if k != "embed_avg"}
    loaded = _codebook(decay=0.5)
    loaded.load_state_dict(state)  # strict: the missing buffer is rebuilt, not reported
    assert torch.allclose(loaded.embed_avg, full.embed_avg, rtol=1e-5, atol=1e-5)
    flat, idx = torch.randn(30, 2), torch.randint(0, 3, (30,))
    full.ema_update(flat, idx)
    loaded.ema_update(flat, idx)
    assert torch.allclose(loaded.embed, full.embed, rtol=1e-5, atol=1e-5)

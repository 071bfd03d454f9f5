"""Closed-form fit of a :class:`~vqcodec.priors.codeword.CodewordPrior` to a frozen residual VQ's latents.

Per stage ``s`` and phase ``p``: least squares of the residual target ``z - Q_{s-1}`` on the context (``W``, ``b``);
the error covariance ``C`` of that fit; then the metric ``L = chol((a C + r I)^-1)`` and the histogram weight ``beta``
picked from a small grid by the bits of held-out items (the Gaussian at the codewords is not the probability of a
Voronoi cell, so the covariance alone is not the best metric). No gradient steps: the fit takes minutes on 2 cores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from vqcodec.priors.codeword import PHASES, CodewordPrior, context, metric_logits, phase_of

SCALES = (0.5, 1.0, 2.0, 4.0)
RIDGES = (0.0, 0.1, 1.0)
BETAS = (0.0, 0.5, 1.0)


@dataclass
class Item:
    """One utterance: encoder latents ``z (T, D)`` and its indices ``(T, S)``."""

    z: Tensor
    indices: Tensor


@dataclass
class StageFit:
    """What the fit chose for one stage and phase, and the held-out bits per index of the unigram and the prior."""

    stage: int
    phase: int
    count: int
    scale: float
    ridge: float
    beta: float
    unigram_bits: float
    prior_bits: float


def _design(prior: CodewordPrior, items: list[Item], s: int, p: int) -> tuple[Tensor, Tensor, Tensor]:
    """Contexts ``(N, F)``, residual targets ``(N, D)`` and indices ``(N,)`` of stage ``s``, phase ``p``."""
    xs, ys, ks = [], [], []
    pad = prior.pad
    for it in items:
        idx = it.indices[None].long()
        parts = torch.stack([prior.codewords[j][idx[..., j]] for j in range(s + 1)], 1)  # (1, s+1, T, D)
        q = torch.nn.functional.pad(parts.cumsum(1), (0, 0, pad, pad))
        below = q[:, s - 1] if s else torch.zeros_like(q[:, 0])
        t = (phase_of(idx.shape[1]) == p).nonzero().squeeze(1)
        xs.append(context(q[:, s], below, t, p, prior.lags, pad)[0])
        ys.append(it.z[t] - below[0, t + pad])
        ks.append(it.indices[t, s].long())
    return torch.cat(xs), torch.cat(ys), torch.cat(ks)


def _bits(logits: Tensor, k: Tensor) -> float:
    return float(-logits.log_softmax(-1).gather(1, k[:, None]).mean()) / math.log(2.0)


@torch.no_grad()
def fit_codeword_prior(prior: CodewordPrior, codebooks: Tensor, train: list[Item], held_out: list[Item],
                       log: bool = True) -> list[StageFit]:
    """Set every parameter of ``prior`` from ``codebooks (S, K, D)`` and the items; returns the per-stage choices."""
    prior.codewords.copy_(codebooks)
    fits = []
    for s in range(prior.config.num_stages):
        counts = torch.bincount(torch.cat([it.indices[:, s] for it in train]).long(),
                                minlength=prior.config.codebook_size).float() + 0.5
        log_u = (counts / counts.sum()).log()
        prior.unigram[s].copy_(log_u)
        for p in range(PHASES):
            fits.append(_fit_phase(prior, codebooks[s], log_u, train, held_out, s, p))
            if log:
                f = fits[-1]
                print(f"stage {f.stage} phase {f.phase}: held-out {f.prior_bits:.3f} bits/index (unigram "
                      f"{f.unigram_bits:.3f}); scale {f.scale}, ridge {f.ridge}, beta {f.beta}", flush=True)
    return fits


def _fit_phase(prior: CodewordPrior, codebook: Tensor, log_u: Tensor, train: list[Item], held_out: list[Item],
               s: int, p: int) -> StageFit:
    x, y, _ = _design(prior, train, s, p)
    xv, _, kv = _design(prior, held_out, s, p)
    xd = torch.cat([x.double(), torch.ones(x.shape[0], 1, dtype=torch.float64)], 1)
    gram = xd.T @ xd
    gram += 1e-6 * float(gram.diagonal().mean()) * torch.eye(gram.shape[0], dtype=torch.float64)
    sol = torch.linalg.solve(gram, xd.T @ y.double())  # least squares by the normal equations
    w, b = sol[:-1].float(), sol[-1].float()
    err = (y - x @ w - b).double()
    cov = (err.T @ err / err.shape[0]).float()
    m = xv @ w + b
    eye, tr = torch.eye(cov.shape[0]), float(cov.trace()) / cov.shape[0]
    best = None
    for a in SCALES:
        for r in RIDGES:
            metric = torch.linalg.cholesky(torch.linalg.inv(a * cov + r * tr * eye))
            for beta in BETAS:
                bits = _bits(metric_logits(m, codebook, metric, beta * log_u), kv)
                if best is None or bits < best[0]:
                    best = (bits, a, r, beta, metric)
    assert best is not None
    bits, a, r, beta, metric = best
    prior.weight[s, p].copy_(w)
    prior.bias[s, p].copy_(b)
    prior.metric[s, p].copy_(metric)
    prior.unigram_weight[s, p] = beta
    return StageFit(s + 1, p, len(kv), a, r, beta, _bits(log_u.expand(len(kv), -1), kv), bits)

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


Design = tuple[Tensor, Tensor, Tensor]
"""Contexts ``(N, F)``, residual targets ``(N, D)`` and indices ``(N,)`` of one stage and phase."""


def _design(prior: CodewordPrior, items: list[Item], own: list[Tensor], below: list[Tensor], s: int) -> list[Design]:
    """The designs of stage ``s``, one per phase, from each item's ``Q_s`` (``own``) and ``Q_{s-1}`` (``below``),
    ``(T, D)`` each."""
    pad = prior.pad
    out: list[tuple[list[Tensor], list[Tensor], list[Tensor]]] = [([], [], []) for _ in range(PHASES)]
    for it, q_own, q_below in zip(items, own, below):
        padded_own = torch.nn.functional.pad(q_own, (0, 0, pad, pad))[None]
        padded_below = torch.nn.functional.pad(q_below, (0, 0, pad, pad))[None]
        phases = phase_of(q_own.shape[0])
        for p, (xs, ys, ks) in enumerate(out):
            t = (phases == p).nonzero().squeeze(1)
            xs.append(context(padded_own, padded_below, t, p, prior.lags, pad)[0])
            ys.append(it.z[t] - q_below[t])
            ks.append(it.indices[t, s].long())
    return [(torch.cat(xs), torch.cat(ys), torch.cat(ks)) for xs, ys, ks in out]


def _bits(logits: Tensor, k: Tensor) -> float:
    return float(-logits.log_softmax(-1).gather(1, k[:, None]).mean()) / math.log(2.0)


@torch.no_grad()
def fit_codeword_prior(prior: CodewordPrior, codebooks: Tensor, train: list[Item], held_out: list[Item],
                       log: bool = True) -> list[StageFit]:
    """Set every parameter of ``prior`` from ``codebooks (S, K, D)`` and the items; returns the choices for each
    context stage and phase. The items' sums ``Q_s`` are carried from stage to stage, never rebuilt."""
    prior.use_codebooks(codebooks)
    fits = []
    below = {"train": [torch.zeros_like(it.z) for it in train], "held": [torch.zeros_like(it.z) for it in held_out]}
    for s in range(prior.config.num_stages):
        counts = torch.bincount(torch.cat([it.indices[:, s] for it in train]).long(),
                                minlength=prior.config.codebook_size).float() + 0.5
        log_u = (counts / counts.sum()).log()
        prior.unigram[s].copy_(log_u)
        if s >= prior.context_stages:
            continue  # histogram stages: nothing else to fit, and no later stage needs their sums
        own = {name: [q + codebooks[s][it.indices[:, s].long()] for q, it in zip(below[name], items)]
               for name, items in (("train", train), ("held", held_out))}
        fit_designs = _design(prior, train, own["train"], below["train"], s)
        held_designs = _design(prior, held_out, own["held"], below["held"], s)
        for p in range(PHASES):
            fits.append(_fit_phase(prior, codebooks[s], log_u, fit_designs[p], held_designs[p], s, p))
            if log:
                f = fits[-1]
                print(f"stage {f.stage} phase {f.phase}: held-out {f.prior_bits:.3f} bits/index (unigram "
                      f"{f.unigram_bits:.3f}); scale {f.scale}, ridge {f.ridge}, beta {f.beta}", flush=True)
        below = own
    return fits


def _fit_phase(prior: CodewordPrior, codebook: Tensor, log_u: Tensor, fit: Design, held: Design,
               s: int, p: int) -> StageFit:
    x, y, _ = fit
    xv, _, kv = held
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

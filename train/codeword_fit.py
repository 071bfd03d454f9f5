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
GAMMAS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
"""Copy bonuses tried where a previous frame exists (video)."""


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
    sol = Moments.of(x, y).solve()
    best = choose_metric(xv @ sol.weight + sol.bias, codebook, log_u, kv, sol.cov)
    prior.weight[s, p].copy_(sol.weight)
    prior.bias[s, p].copy_(sol.bias)
    prior.metric[s, p].copy_(best.metric)
    prior.unigram_weight[s, p] = best.beta
    return StageFit(s + 1, p, len(kv), best.scale, best.ridge, best.beta, _bits(log_u.expand(len(kv), -1), kv),
                    best.bits)


@dataclass
class LeastSquares:
    """A linear predictor ``y ~ x @ weight + bias`` and the covariance ``cov (D, D)`` of its error."""

    weight: Tensor
    bias: Tensor
    cov: Tensor


@dataclass
class Moments:
    """Sums over rows of ``[x, 1]^T [x, 1]`` ``(F+1, F+1)``, ``[x, 1]^T y`` ``(F+1, D)`` and ``y^T y`` ``(D, D)``
    (float64), and the row count: the normal equations, accumulated a block of rows at a time."""

    xx: Tensor
    xy: Tensor
    yy: Tensor
    n: int

    @classmethod
    def of(cls, x: Tensor, y: Tensor) -> Moments:
        """The moments of rows ``x (N, F)``, ``y (N, D)``."""
        xd = torch.cat([x.double(), torch.ones(x.shape[0], 1, dtype=torch.float64)], 1)
        yd = y.double()
        return cls(xd.T @ xd, xd.T @ yd, yd.T @ yd, x.shape[0])

    def add(self, other: Moments) -> None:
        self.xx += other.xx
        self.xy += other.xy
        self.yy += other.yy
        self.n += other.n

    def solve(self, features: slice | None = None) -> LeastSquares:
        """Least squares on all features, or on ``features`` only (the bias row always)."""
        keep = torch.arange(self.xx.shape[0])
        if features is not None:
            keep = torch.cat([keep[:-1][features], keep[-1:]])
        xx, xy = self.xx[keep][:, keep], self.xy[keep]
        gram = xx + 1e-6 * float(xx.diagonal().mean()) * torch.eye(len(keep), dtype=torch.float64)
        sol = torch.linalg.solve(gram, xy)
        cov = (self.yy - sol.T @ xy - xy.T @ sol + sol.T @ xx @ sol) / max(self.n, 1)
        return LeastSquares(sol[:-1].float(), sol[-1].float(), cov.float())


@dataclass
class Metric:
    """The held-out choice of metric ``L = chol((scale C + ridge tr(C)/D I)^-1)``, histogram power and copy bonus."""

    bits: float
    scale: float
    ridge: float
    beta: float
    gamma: float
    metric: Tensor


def choose_metric(m: Tensor, codebook: Tensor, log_u: Tensor, k: Tensor, cov: Tensor,
                  copy: Tensor | None = None, scales: tuple[float, ...] = SCALES, histogram: bool = False) -> Metric:
    """The grid point with the fewest held-out bits for predictions ``m (N, D)`` of indices ``k (N,)``;
    ``copy (N,)``: each row's index one frame before (the copy bonus is searched too); ``histogram``: the stage
    histogram alone (a zero metric) is a candidate too."""
    eye, tr = torch.eye(cov.shape[0]), float(cov.trace()) / cov.shape[0]
    best = None
    if histogram:
        zero = torch.zeros_like(cov)
        best = Metric(_bits(log_u.expand(len(k), -1), k), 0.0, 0.0, 1.0, 0.0, zero)
    for a in scales:
        for r in RIDGES:
            metric = torch.linalg.cholesky(torch.linalg.inv(a * cov + r * tr * eye))
            for beta in BETAS:
                logits, added = metric_logits(m, codebook, metric, beta * log_u), 0.0
                for gamma in GAMMAS if copy is not None else (0.0,):
                    if copy is not None and gamma != added:  # the bonus grows in place from one gamma to the next
                        logits.scatter_add_(1, copy[:, None], torch.full((len(m), 1), gamma - added))
                        added = gamma
                    bits = _bits(logits, k)
                    if best is None or bits < best.bits:
                        best = Metric(bits, a, r, beta, gamma, metric)
    assert best is not None
    return best

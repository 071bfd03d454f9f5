"""Closed-form fit of a :class:`~vqcodec.priors.codeword_video.CodewordVideoPrior` to a frozen residual VQ's latents.

Per stage ``s``: least squares of the residual target ``z - Q_{s-1}(t)`` on the context ``[N(Q_s(t-1)),
N(Q_{s-1}(t))]`` over every frame of the training clips but their first (inter), and on the lower-stage part alone
(intra: the same normal equations, restricted); then the metric, histogram power and (inter) copy bonus picked from
a grid by the bits of held-out clips (``vqcodec.train.codeword_fit``). The normal equations are summed a few frames
at a time, so no design matrix of a whole clip exists. Minutes on 2 cores; no gradient steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from vqcodec.priors.codeword_video import CodewordVideoPrior, neighbourhood
from vqcodec.train.codeword_fit import Moments, StageFit, _bits, choose_metric

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
FRAMES_PER_BLOCK = 4
HELD_ROWS = 60000
"""Held-out rows scored per stage (an evenly spaced subset; the grid search's cost is linear in it)."""


@dataclass
class Clip:
    """One clip: encoder latents ``z (T, H, W, D)`` and its indices ``(T, H, W, S)``."""

    z: Tensor
    indices: Tensor


def _rows(prior: CodewordVideoPrior, clip: Clip, own: Tensor, below: Tensor, s: int,
          frames: range) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Context ``x (N, 2 k^2 D)``, target ``y (N, D)``, index ``(N,)`` and previous-frame index ``(N,)`` of stage
    ``s`` at ``frames`` (each ``>= 1``) from the clip's ``Q_s`` (``own``) and ``Q_{s-1}`` (``below``)."""
    t = torch.tensor(list(frames))
    k = prior.config.kernel_size
    x = torch.cat([neighbourhood(own[t - 1], k), neighbourhood(below[t], k)], -1).flatten(0, 2)
    y = (clip.z[t] - below[t]).flatten(0, 2)
    return x, y, clip.indices[t, ..., s].flatten().long(), clip.indices[t - 1, ..., s].flatten().long()


def _blocks(length: int) -> Iterator[range]:
    for lo in range(1, length, FRAMES_PER_BLOCK):
        yield range(lo, min(lo + FRAMES_PER_BLOCK, length))


def _held_rows(prior: CodewordVideoPrior, clips: list[Clip], own: list[Tensor], below: list[Tensor],
               s: int) -> tuple[Tensor, Tensor, Tensor]:
    """Every ``n``-th row of the held-out clips (about ``HELD_ROWS``): contexts, indices, previous indices."""
    total = sum((c.z.shape[0] - 1) * c.z.shape[1] * c.z.shape[2] for c in clips)
    every = max(1, -(-total // HELD_ROWS))
    parts = []
    for clip, q_own, q_below in zip(clips, own, below):
        for frames in _blocks(clip.z.shape[0]):
            x, _, k, prev = _rows(prior, clip, q_own, q_below, s, frames)
            parts.append((x[::every], k[::every], prev[::every]))
    xs, ks, ps = zip(*parts)
    return torch.cat(xs), torch.cat(ks), torch.cat(ps)


@torch.no_grad()
def fit_codeword_video_prior(prior: CodewordVideoPrior, codebooks: Tensor, train: list[Clip], held_out: list[Clip],
                             log: bool = True) -> list[StageFit]:
    """Set every parameter of ``prior`` from ``codebooks (S, K, D)`` and the clips (at least 2 frames each); returns
    the choices per stage and mode (``phase`` 0 intra, 1 inter). Each clip's sums are carried from stage to stage."""
    prior.use_codebooks(codebooks)
    fits = []
    below = {"train": [torch.zeros_like(c.z) for c in train], "held": [torch.zeros_like(c.z) for c in held_out]}
    half = prior.weight.shape[2] // 2  # previous-frame features first, then the lower stages'
    for s in range(prior.config.num_stages):
        counts = torch.bincount(torch.cat([c.indices[..., s].flatten() for c in train]).long(),
                                minlength=prior.config.codebook_size).float() + 0.5
        log_u = (counts / counts.sum()).log()
        prior.unigram[s].copy_(log_u)
        own = {name: [q + codebooks[s][c.indices[..., s].long()] for q, c in zip(below[name], clips)]
               for name, clips in (("train", train), ("held", held_out))}
        moments = None
        for clip, q_own, q_below in zip(train, own["train"], below["train"]):
            for frames in _blocks(clip.z.shape[0]):
                x, y, _, _ = _rows(prior, clip, q_own, q_below, s, frames)
                part = Moments.of(x, y)
                if moments is None:
                    moments = part
                else:
                    moments.add(part)
        assert moments is not None, "no training clip has two frames"
        xv, kv, pv = _held_rows(prior, held_out, own["held"], below["held"], s)
        uni_bits = _bits(log_u.expand(len(kv), -1), kv)
        for mode, features in ((0, slice(half, None)), (1, None)):
            sol = moments.solve(features)
            weight = torch.zeros_like(prior.weight[s, mode])
            weight[half:] = sol.weight[-half:]
            if mode:
                weight[:half] = sol.weight[:half]
            m = xv @ weight + sol.bias
            best = choose_metric(m, codebooks[s], log_u, kv, sol.cov, pv if mode else None, SCALES, histogram=True)
            prior.weight[s, mode].copy_(weight)
            prior.bias[s, mode].copy_(sol.bias)
            prior.metric[s, mode].copy_(best.metric)
            prior.unigram_weight[s, mode] = best.beta
            if mode:
                prior.copy_weight[s] = best.gamma
            fits.append(StageFit(s + 1, mode, len(kv), best.scale, best.ridge, best.beta, uni_bits, best.bits))
            if log:
                print(f"stage {s + 1} {'inter' if mode else 'intra'}: held-out {best.bits:.3f} bits/index (unigram "
                      f"{uni_bits:.3f}); scale {best.scale}, ridge {best.ridge}, beta {best.beta}, copy "
                      f"{best.gamma}", flush=True)
        below = own
    return fits

"""Codeword-predictive prior over 1-D residual-VQ index grids: a linear prediction of each stage's residual from the
codewords already coded around it, scored against every codeword under a learned Gaussian metric.

Coding order: stage by stage, and within a stage in three phases along time (interleaved, like a checkerboard):
phase 0 the frames ``t % 4 == 0``, phase 1 ``t % 4 == 2``, phase 2 the odd frames. With ``Q_s(t)`` the sum of the
codewords of stages ``<= s`` at ``t`` (``Q_{-1} = 0``) and ``w`` lags (``kernel_size = 2 w + 1``), stage ``s`` at
``t`` (phase ``p``) sees::

    x = [Q_s(t + o) for o in OWN_OFFSETS[p]]  +  [Q_{s-1}(t + j) for j = -w .. w]      (F = D (4 + 2 w + 1))
    m = x @ W_{s,p} + b_{s,p}             the predicted residual left for stage s  (D,)
    logit_k = -||(c_{s,k} - m) @ L_{s,p}||^2 / 2 + beta_{s,p} * log u_s(k)      (c_{s,k}: codeword k of stage s)

a Gaussian ``N(m, (L L^T)^-1)`` evaluated at the codewords, times a power of the stage's histogram ``u_s``. Phase 0
has no frame of its own stage coded yet (its own slots are zero); phase 1 sees phase 0 at ``t +- 2`` and ``t +- 6``;
phase 2 sees both at ``t +- 1`` and ``t +- 3``. Every frame of a phase is coded in one step, so a grid of any length
takes ``3 S`` steps of large matrix products; context crosses tile borders (tiles only size the coding spans).
Why this and not the PixelCNN's order (time-major, the stages of a frame together): the codebooks are used almost
uniformly, and what makes an index predictable is the continuous latent around it, in the past and the future of
the lower stages (measured in the ``vq-speech`` card). The coding path is exact integer arithmetic
(``vqcodec.entropy.fixed_point``): codewords and context sums at scale ``2**ACT_BITS``, ``W`` and ``L`` at
``2**WEIGHT_BITS``, every product sum an exact integer in float64.

Config: ``channels`` is the codeword dimension ``D``, ``kernel_size`` the window ``2 w + 1``; stages from
``context_stages`` on (when not 0) are coded with their histogram ``u_s`` alone, in one step each: the later stages
gain the least from their context and cost as much to predict as the first ones. 1-D grids (video: ``codeword_video``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqcodec.config import PriorConfig
from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.session import LogitSession
from vqcodec.entropy.tables import LOGIT_BITS
from vqcodec.priors.base import IndexPrior
from vqcodec.priors.tiling import check_shape

PHASES = 3
OWN_OFFSETS = ((0, 0, 0, 0), (-2, 2, -6, 6), (-1, 1, -3, 3))
"""Offsets of a frame's own-stage context per phase (phase 0 has none: its four slots are zero)."""
OWN_SLOTS = 4
METRIC_LIMIT = float(1 << 22)
"""``|(c - m) L|`` entries are clamped to ``2**22`` at activation scale, so the distance products stay exact."""


def phase_of(length: int) -> Tensor:
    """Phase ``(T,)`` of each frame: 0 for ``t % 4 == 0``, 1 for ``t % 4 == 2``, 2 for odd ``t``."""
    t = torch.arange(length)
    return torch.where(t % 2 == 1, 2, torch.where(t % 4 == 2, 1, 0))


def context(own: Tensor, below: Tensor, t: Tensor, phase: int, lags: int, pad: int) -> Tensor:
    """Contexts ``(B, n, F)`` at frames ``t (n,)`` of phase ``phase``: ``own`` (``Q_s``) and ``below`` (``Q_{s-1}``)
    are ``(B, T + 2 pad, D)``, frame ``t`` at ``t + pad``, zero beyond the grid (``pad >= max(6, lags)``)."""
    at = t + pad
    mine = own[:, at[:, None] + torch.tensor(OWN_OFFSETS[phase])]  # (B, n, 4, D)
    if phase == 0:
        mine = torch.zeros_like(mine)
    lower = below[:, at[:, None] + torch.arange(-lags, lags + 1)]  # (B, n, 2 lags + 1, D)
    return torch.cat([mine.flatten(2), lower.flatten(2)], 2)


class CodewordBase(IndexPrior):
    """What every codeword-predictive prior shares: the quantizer's codewords ``(S, K, D)`` (set by
    :meth:`use_codebooks`, not stored), per-stage histograms ``unigram (S, K)``, and ``P`` predictors per context stage
    (``weight (C, P, F, D)``, ``bias (C, P, D)``, ``metric (C, P, D, D)``, histogram power ``unigram_weight (C, P)``)
    with their exact integer form."""

    def __init__(self, config: PriorConfig, predictors: int, features: int) -> None:
        super().__init__(config)
        s, k, d = config.num_stages, config.codebook_size, config.channels
        c = config.context_stages or s
        self.register_buffer("codewords", torch.zeros(s, k, d), persistent=False)
        self.weight = nn.Parameter(torch.zeros(c, predictors, features, d))
        self.bias = nn.Parameter(torch.zeros(c, predictors, d))
        self.metric = nn.Parameter(torch.eye(d).repeat(c, predictors, 1, 1))
        self.unigram = nn.Parameter(torch.zeros(s, k))
        self.unigram_weight = nn.Parameter(torch.ones(c, predictors))
        self._integer: tuple[Tensor, ...] | None = None
        self._integer_key: tuple[tuple[int, int], ...] = ()

    @property
    def context_stages(self) -> int:
        """Stages that use their context (the rest use their histogram alone)."""
        return self.config.context_stages or self.config.num_stages

    @torch.no_grad()
    def use_codebooks(self, codebooks: Tensor) -> None:
        """Score the residual VQ's codewords ``(S, K, D)`` (its stages' ``embed``, stacked)."""
        if codebooks.shape != self.codewords.shape:
            raise ValueError(f"codebooks {tuple(codebooks.shape)} do not fit the prior's {tuple(self.codewords.shape)}")
        self.codewords.copy_(codebooks)

    def _integer_tensors(self) -> tuple[Tensor, ...]:
        """The parameters the integer form depends on (its cache key)."""
        return (self.codewords, self.weight, self.bias, self.metric, self.unigram, self.unigram_weight)

    def integer_form(self) -> tuple[Tensor, ...]:
        """``(codewords, weight, bias, metric, cL, half_norm, beta log u, log u)`` as exact integers (float64), cached
        while no parameter changes (keyed by the tensors' in-place version counters)."""
        key = tuple((t.data_ptr(), t._version) for t in self._integer_tensors())
        if self._integer is None or self._integer_key != key:
            c = fx.quantize_act(self.codewords)  # (S, K, D)
            # fan-in first: x @ W sums over the context, m @ L over D
            w, b = _quantize_matrices(self.weight), fx.quantize_bias(self.bias)
            metric = _quantize_matrices(self.metric)
            c_l = torch.floor_(torch.matmul(c[: len(metric), None], metric) * 2.0**-fx.WEIGHT_BITS)  # (C, P, K, D)
            c_l = c_l.clamp_(-METRIC_LIMIT, METRIC_LIMIT)
            half_norm = torch.floor_(c_l.pow(2).sum(-1) * 0.5)  # (C, P, K) at scale 2**(2 ACT_BITS)
            log_u = torch.round(torch.log_softmax(self.unigram.detach().double(), -1) * (1 << LOGIT_BITS))
            beta = torch.round(self.unigram_weight.detach().double() * (1 << fx.WEIGHT_BITS))
            beta = beta.clamp_(0, fx.WEIGHT_LIMIT)
            log_u = log_u.clamp_(min=-(64 << LOGIT_BITS))
            uni = torch.floor_(log_u[: len(beta), None] * beta[..., None] * 2.0**-fx.WEIGHT_BITS)
            self._integer, self._integer_key = (c, w, b, metric, c_l, half_norm, uni, log_u), key
        return self._integer


class CodewordPrior(CodewordBase):
    """See the module docstring. Parameters, ``C`` the context stages: ``weight (C, 3, F, D)``, ``bias (C, 3, D)``,
    ``metric (C, 3, D, D)`` (``L``), ``unigram (S, K)`` logits and ``unigram_weight (C, 3)`` (``beta``). The
    codewords ``(S, K, D)`` are the quantizer's, not stored with the prior: :meth:`use_codebooks` sets them (the
    ``vq`` kind does when it loads a model, training when it builds the prior)."""

    def __init__(self, config: PriorConfig) -> None:
        if config.dims != 1:
            raise ValueError("CodewordPrior models 1-D (audio) index grids (CodewordVideoPrior: 3-D)")
        super().__init__(config, PHASES, config.channels * (OWN_SLOTS + config.kernel_size))

    @property
    def lags(self) -> int:
        return self.config.kernel_size // 2

    @property
    def pad(self) -> int:
        return max(6, self.lags)

    def forward(self, indices: Tensor) -> Tensor:
        """Float logits ``(B, T, S', K)`` of ``indices (B, T, S')`` (teacher forcing: every context is known)."""
        self.check_indices(indices)
        b, length, stages = indices.shape
        parts = torch.stack([self.codewords[s][indices[..., s].long()] for s in range(stages)], 1)  # (B, S', T, D)
        q = nn.functional.pad(parts.cumsum(1), (0, 0, self.pad, self.pad))
        phases = phase_of(length)
        out = torch.zeros(b, length, stages, self.config.codebook_size, dtype=q.dtype)
        for s in range(stages):
            below = q[:, s - 1] if s else torch.zeros_like(q[:, 0])
            log_u = torch.log_softmax(self.unigram[s], -1)
            if s >= self.context_stages:
                out[:, :, s] = log_u
                continue
            for p in range(PHASES):
                t = (phases == p).nonzero().squeeze(1)
                m = context(q[:, s], below, t, p, self.lags, self.pad) @ self.weight[s, p] + self.bias[s, p]
                out[:, t, s] = metric_logits(m, self.codewords[s], self.metric[s, p], self.unigram_weight[s, p] * log_u)
        return out

    def open_session(
        self, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
        chunk: int | None = None, indices: Tensor | None = None,
    ) -> LogitSession:
        """A session over the whole ``(B, T, S')`` grid: 3 steps per context stage, 1 per histogram stage
        (``tile_shape`` and ``chunk`` do not apply: the coder's spans along time bound the memory)."""
        check_shape(shape, 1, self.config.num_stages)
        if indices is not None:
            self.check_indices(indices)
        return CodewordSession(self, shape, indices)


def _quantize_matrices(x: Tensor) -> Tensor:
    """``(..., F, D)`` matrices applied as ``v @ x`` -> integers, each output column a weight row of fan-in F."""
    rows = x.transpose(-1, -2).reshape(-1, x.shape[-2])  # (... D, F)
    return fx.quantize_weight(rows).reshape(*x.shape[:-2], x.shape[-1], x.shape[-2]).transpose(-1, -2).contiguous()


def metric_logits(m: Tensor, codewords: Tensor, metric: Tensor, log_u: Tensor) -> Tensor:
    """``-||(c_k - m) L||^2 / 2 + log_u`` up to a constant per row: ``(..., D)`` predictions -> ``(..., K)``."""
    m_l, c_l = m @ metric, codewords @ metric
    return m_l @ c_l.T - 0.5 * c_l.pow(2).sum(-1) + log_u


class CodewordSession(LogitSession):
    """Stage by stage, three phases per context stage, every frame of a phase in one step; a histogram stage is one
    step with one shared table (see the module)."""

    def __init__(self, prior: CodewordPrior, shape: tuple[int, ...], indices: Tensor | None) -> None:
        self._shape, self.precision = shape, prior.config.precision
        self._ints = prior.integer_form()
        self._lags, self._pad = prior.lags, prior.pad
        self._known = None if indices is None else indices.long()
        b, length, stages = shape
        phases = phase_of(length)
        self._frames = [(phases == p).nonzero().squeeze(1) for p in range(PHASES)]
        self._plan = [(s, p) for s in range(stages) for p in (range(PHASES) if s < prior.context_stages else [-1])]
        # Q_s(t) at [b, s, t + pad]; slot S' stays zero (the "stage -1" below stage 0)
        self._q = torch.zeros(b, stages + 1, length + 2 * self._pad, prior.config.channels, dtype=torch.float64)
        self._out = torch.zeros(shape, dtype=torch.int64)
        self.num_steps = len(self._plan)

    def num_symbols(self, step: int) -> int:
        s, p = self._plan[step]
        return self._shape[0] * (self._shape[1] if p < 0 else len(self._frames[p]))

    def logits(self, step: int) -> Tensor:
        _, w, b, metric, c_l, half_norm, uni, log_u = self._ints
        s, p = self._plan[step]
        if p < 0:
            return log_u[s: s + 1]  # one table shared by every frame
        # contexts (B n, F) of the frames of phase p
        x = context(self._q[:, s], self._q[:, s - 1], self._frames[p], p, self._lags, self._pad).flatten(0, 1)
        m = fx.rescale(torch.addmm(b[s, p], x, w[s, p]))  # (B n, D) at activation scale
        m_l = torch.floor_((m @ metric[s, p]) * 2.0**-fx.WEIGHT_BITS).clamp_(-METRIC_LIMIT, METRIC_LIMIT)
        dist = torch.addmm(-half_norm[s, p], m_l, c_l[s, p].T)  # (B n, K) at scale 2**(2 ACT_BITS)
        return torch.floor_(dist.mul_(2.0**(LOGIT_BITS - 2 * fx.ACT_BITS))).add_(uni[s, p])

    def targets(self, step: int) -> Tensor:
        if self._known is None:
            raise RuntimeError("targets() needs the indices being encoded")
        s, p = self._plan[step]
        return self._known[:, :, s].reshape(-1) if p < 0 else self._known[:, self._frames[p], s].reshape(-1)

    def push(self, step: int, symbols: Tensor) -> None:
        s, p = self._plan[step]
        if p < 0:  # no context stage comes after a histogram stage: Q is not needed
            self._out[:, :, s] = symbols.reshape(self._shape[:2])
            return
        t = self._frames[p]
        sym = symbols.reshape(self._shape[0], len(t)).long()
        self._out[:, t, s] = sym
        at = t + self._pad
        q = self._q[:, s - 1, at] + self._ints[0][s][sym]  # slot -1 is the zero stage below stage 0
        self._q[:, s, at] = q.clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT)

    def result(self) -> Tensor:
        return self._out

"""Codeword-predictive prior over 3-D (video) residual-VQ index grids ``(B, T, H, W, S)``: each stage's residual is
predicted linearly from the previous latent frame and the lower stages around it, and scored against every codeword.

Coding order: frame by frame, and within a frame stage by stage, every position of a (frame, stage) in one step.
With ``Q_s(t)`` the sum of the codewords of stages ``<= s`` at frame ``t`` (``Q_{-1} = 0``) and ``N(.)`` the
``k x k`` spatial neighbourhood (``k = kernel_size``, zero beyond the frame), stage ``s`` at ``(t, h, w)`` sees::

    x = [N(Q_s(t - 1)), N(Q_{s-1}(t))]                    (F = 2 k^2 D; the first part is zero in an intra frame)
    m = x @ W_{s,i} + b_{s,i}                             the predicted residual left for stage s  (D,)
    logit_k = -||(c_{s,k} - m) @ L_{s,i}||^2 / 2 + beta_{s,i} log u_s(k) + gamma_s [k = I_s(t - 1, h, w)]

with ``i = 0`` in the first frame of every span of ``tile_shape[0]`` frames (intra: no previous frame) and
``i = 1`` elsewhere (inter). The last term ("copy") gives the index the same position had one frame before a
bonus: a still picture keeps its coarse indices exactly, which a Gaussian around ``m`` alone cannot express when
codewords lie close together. The video adapter codes each span in a session of its own (bounded memory);
the other tile axes do not apply. A session holds two latent frames of sums, so its memory does not grow with the
clip. Exact integer arithmetic as in :mod:`vqcodec.priors.codeword`. Why this and not the 3-D PixelCNN: the same
files take ``T S`` steps of a few small matrix products instead of a network pass per position (measured in the
``vq-video`` card), and the residual is better predicted from the previous frame's continuous latent than from its
indices.

The encoder may choose the indices it codes from each step's tables (``open_session(..., choice=...)``,
:mod:`vqcodec.priors.rd_choice`); the decoder is the same either way.

Config: ``channels`` is the codeword dimension ``D``, ``kernel_size`` the spatial window ``k``; ``context_stages``
must be 0 (every stage uses its context: a stage's sums are the next frame's context).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from vqcodec.config import PriorConfig
from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.session import LogitSession
from vqcodec.entropy.tables import LOGIT_BITS
from vqcodec.priors.codeword import METRIC_LIMIT, CodewordBase, metric_logits
from vqcodec.priors.rd_choice import RDChoice, choose
from vqcodec.priors.tiling import check_shape

MODES = 2
"""Predictors per stage: 0 intra (first frame of a span), 1 inter."""
COPY_LIMIT = 64.0
"""The copy bonus ``gamma`` is clamped to ``[0, 64]`` nats."""
MAX_FRAME_POSITIONS = 1 << 16
"""Latent positions per frame a session codes in one step (256 x 256: a 2048 x 2048 picture at stride 8; 1080p is
32400): a step's products and tables for a whole frame, about 1 GB at the cap, bound the memory."""


def neighbourhood(q: Tensor, k: int) -> Tensor:
    """``(..., H, W, D)`` -> ``(..., H, W, k^2 D)``: the ``k x k`` neighbours of every position (zero outside), in
    row-major order of the offsets."""
    r = k // 2
    h, w = q.shape[-3], q.shape[-2]
    p = nn.functional.pad(q, (0, 0, r, r, r, r))
    return torch.cat([p[..., i: i + h, j: j + w, :] for i in range(k) for j in range(k)], -1)


def intra_frames(length: int, span: int) -> Tensor:
    """``(T,)`` bool: the frames that open a coding span of ``span`` frames."""
    return torch.arange(length) % span == 0


class CodewordVideoPrior(CodewordBase):
    """See the module docstring. Parameters: ``weight (S, 2, 2 k^2 D, D)``, ``bias (S, 2, D)``, ``metric (S, 2, D,
    D)`` (``L``), ``unigram (S, K)``, ``unigram_weight (S, 2)`` (``beta``) and ``copy_weight (S,)`` (``gamma``). The
    codewords are the quantizer's (:meth:`use_codebooks`)."""

    def __init__(self, config: PriorConfig) -> None:
        if config.dims != 3:
            raise ValueError("CodewordVideoPrior models 3-D (video) index grids (CodewordPrior: 1-D)")
        if config.context_stages:
            raise ValueError("the video codeword prior codes every stage with its context (context_stages 0)")
        super().__init__(config, MODES, 2 * config.kernel_size**2 * config.channels)
        self.copy_weight = nn.Parameter(torch.zeros(config.num_stages))

    @property
    def span(self) -> int:
        """Frames per coding span (the first is intra)."""
        return self.config.tile_shape[0]

    def forward(self, indices: Tensor) -> Tensor:
        """Float logits ``(B, T, H, W, S', K)`` of ``indices (B, T, H, W, S')`` (teacher forcing, spans of
        ``tile_shape[0]`` frames as in coding)."""
        self.check_indices(indices)
        stages = indices.shape[-1]
        idx = indices.long()
        q = torch.stack([self.codewords[s][idx[..., s]] for s in range(stages)], -2).cumsum(-2)  # (B,T,H,W,S',D)
        intra = intra_frames(indices.shape[1], self.span)
        inter = (~intra).nonzero().squeeze(1)  # never frame 0: it opens the first span
        half = self.weight.shape[2] // 2  # previous-frame rows, then lower-stage rows (the session's layout)
        out = []
        for s in range(stages):
            below = neighbourhood(q[..., s - 1, :] if s else torch.zeros_like(q[..., 0, :]), self.config.kernel_size)
            log_u = torch.log_softmax(self.unigram[s], -1)
            logits = below.new_zeros(*below.shape[:-1], self.config.codebook_size)
            for mode, t in ((0, intra.nonzero().squeeze(1)), (1, inter)):
                x = below[:, t]
                if mode:  # the previous frame's window, for the inter frames only
                    x = torch.cat([neighbourhood(q[:, t - 1, ..., s, :], self.config.kernel_size), x], -1)
                w = self.weight[s, mode] if mode else self.weight[s, mode, half:]
                logits[:, t] = metric_logits(x @ w + self.bias[s, mode], self.codewords[s], self.metric[s, mode],
                                             self.unigram_weight[s, mode] * log_u)
            copied = nn.functional.one_hot(idx[:, inter - 1, ..., s], logits.shape[-1])
            logits[:, inter] = logits[:, inter] + self.copy_weight[s] * copied
            out.append(logits)
        return torch.stack(out, -2)

    def integer_copy(self) -> Tensor:
        """``gamma (S,)`` at logit scale, exact integers (float64)."""
        gamma = torch.round(self.copy_weight.detach().double() * (1 << LOGIT_BITS))
        return gamma.clamp_(0, COPY_LIMIT * (1 << LOGIT_BITS))

    def open_session(
        self, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
        chunk: int | None = None, indices: Tensor | None = None, choice: RDChoice | None = None,
    ) -> LogitSession:
        """A session over a ``(B, T, H, W, S')`` span (its first frame intra): ``T S'`` steps (``tile_shape`` and
        ``chunk`` do not apply). Encoder: ``indices`` to code, or ``choice`` to choose them step by step from the
        latents ``(B, T, H, W, D)`` (:mod:`vqcodec.priors.rd_choice`; the session's result is what it coded)."""
        check_shape(shape, 3, self.config.num_stages)
        if shape[0] * shape[2] * shape[3] > MAX_FRAME_POSITIONS:
            raise ValueError(f"the video codeword prior codes at most {MAX_FRAME_POSITIONS} latent positions per "
                             f"frame, not {shape[0]} x {shape[2]} x {shape[3]}")
        if indices is not None:
            self.check_indices(indices)
            if choice is not None:
                raise ValueError("an encoder session codes given indices or chooses them, not both")
        if choice is not None and (tuple(choice.latents.shape) != (*shape[:-1], self.config.channels)
                                   or len(choice.lams) != shape[-1]):
            raise ValueError(f"latents {tuple(choice.latents.shape)} and {len(choice.lams)} lambdas do not fit a "
                             f"{shape} grid of {self.config.channels}-dimensional codewords")
        return CodewordVideoSession(self, shape, indices, choice)


class CodewordVideoSession(LogitSession):
    """Frame by frame, stage by stage, every position of a (frame, stage) in one step (see the module). Wide: a step
    is a few products of every position of a frame (two threads measured 1.8x faster than one on CIF frames)."""

    wide = True

    def __init__(self, prior: CodewordVideoPrior, shape: tuple[int, ...], indices: Tensor | None,
                 choice: RDChoice | None = None) -> None:
        self._shape, self.precision = shape, prior.config.precision
        self._choice, self._freq = choice, None
        self._frame: tuple[int, Tensor] | None = None  # (t, frame t's latents as integers): made once per frame
        self._ints, self._gamma = prior.integer_form(), prior.integer_copy()
        self._norms = None if choice is None else self._ints[0].pow(2).sum(-1)  # (S, K) ||c||^2 of the choice
        k, d = prior.config.kernel_size, prior.config.channels
        # W (C, 2, 2 k^2 D, D) as (C, 2, part, D, k^2 D): one product per window (see _add_window), made once
        self._window = self._ints[1].unflatten(2, (2, k * k, d)).permute(0, 1, 2, 4, 3, 5).flatten(-2).contiguous()
        self._k, self._span = prior.config.kernel_size, prior.span
        self._known = None if indices is None else indices.long()
        b, _, h, w, stages = shape
        d = prior.config.channels
        # Q_s of this frame at [:, s] (slot S' stays zero: the "stage -1"), and of the previous frame; integers of at
        # most 2**16 (ACT_LIMIT), exact in float32
        self._q = torch.zeros(b, stages + 1, h, w, d, dtype=torch.float32)
        self._prev = torch.zeros(b, stages, h, w, d, dtype=torch.float32)
        self._out = torch.zeros(shape, dtype=torch.int64)
        self.num_steps = shape[1] * stages

    def num_symbols(self, step: int) -> int:
        b, _, h, w, _ = self._shape
        return b * h * w

    def _where(self, step: int) -> tuple[int, int]:
        return divmod(step, self._shape[-1])  # (frame, stage)

    def logits(self, step: int) -> Tensor:
        _, _, b, metric, c_l, half_norm, uni, _ = self._ints
        t, s = self._where(step)
        mode = 0 if t % self._span == 0 else 1  # the frames that open a span (as in ``forward``) are intra
        acc = b[s, mode].expand(*self._q.shape[:1], *self._q.shape[2:4], -1).clone()  # (B, H, W, D) float64
        if s:  # stage 0 has no lower stage: its sum is zero
            self._add_window(acc, self._q[:, s - 1], self._window[s, mode, 1])
        if mode:
            self._add_window(acc, self._prev[:, s], self._window[s, mode, 0])
        m = fx.rescale(acc.reshape(-1, acc.shape[-1]))  # (N, D) at activation scale
        m_l = torch.floor_((m @ metric[s, mode]) * 2.0**-fx.WEIGHT_BITS).clamp_(-METRIC_LIMIT, METRIC_LIMIT)
        dist = torch.addmm(-half_norm[s, mode], m_l, c_l[s, mode].T)  # (N, K) at scale 2**(2 ACT_BITS)
        out = torch.floor_(dist.mul_(2.0**(LOGIT_BITS - 2 * fx.ACT_BITS))).add_(uni[s, mode])
        if mode and self._gamma[s] > 0:
            previous = self._out[:, t - 1, ..., s].reshape(-1, 1)
            out.scatter_add_(1, previous, self._gamma[s].expand(len(out), 1).contiguous())
        return out

    def _add_window(self, acc: Tensor, q: Tensor, window: Tensor) -> None:
        """``acc (B, H, W, D) += N(q) @ W`` for ``q (B, H, W, D)``, with ``window (D, k^2 D)`` the ``k^2`` blocks of
        ``W (k^2 D, D)`` side by side: one product of every position with all blocks, then shifted sums (exact
        integers: the order of the sums does not matter)."""
        k, r = self._k, self._k // 2
        h, w, d = q.shape[-3:]
        y = q.reshape(-1, d).double() @ window
        y = y.reshape(*q.shape[:-1], k * k, d)
        for n in range(k * k):
            dh, dw = n // k - r, n % k - r  # the neighbour at (h + dh, w + dw) contributes to (h, w)
            if abs(dh) >= h or abs(dw) >= w:
                continue  # outside every frame position
            dst = acc[..., max(0, -dh): h - max(0, dh), max(0, -dw): w - max(0, dw), :]
            dst += y[..., max(0, dh): h + min(0, dh), max(0, dw): w + min(0, dw), n, :]

    def tables(self, step: int) -> np.ndarray:
        freq = super().tables(step)
        if self._choice is not None:
            self._freq = freq  # what targets() weighs the distortion against
        return freq

    def targets(self, step: int) -> Tensor:
        t, s = self._where(step)
        if self._choice is not None:
            if self._freq is None:
                raise RuntimeError("targets() chooses from the step's tables: call tables() first")
            if self._frame is None or self._frame[0] != t:
                self._frame = t, fx.quantize_act(self._choice.latents[:, t])  # (B, H, W, D)
            z = self._frame[1]
            residual = (z - self._q[:, s - 1]).reshape(-1, z.shape[-1])  # slot -1: the zero stage below stage 0
            assert self._norms is not None
            chosen = choose(self._freq, self.precision, residual, self._ints[0][s], self._choice.lams[s],
                            self._norms[s])
            self._freq = None
            return chosen
        if self._known is None:
            raise RuntimeError("targets() needs the indices being encoded")
        return self._known[:, t, ..., s].reshape(-1)

    def push(self, step: int, symbols: Tensor) -> None:
        t, s = self._where(step)
        b, _, h, w, stages = self._shape
        sym = symbols.reshape(b, h, w).long()
        self._out[:, t, ..., s] = sym
        q = self._q[:, s - 1].double() + self._ints[0][s][sym]  # slot -1 is the zero stage below stage 0
        self._q[:, s] = q.clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT)
        if s == stages - 1:  # the frame is complete: it becomes the previous frame
            self._prev.copy_(self._q[:, :stages])

    def result(self) -> Tensor:
        return self._out

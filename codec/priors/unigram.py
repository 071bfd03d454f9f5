"""Factorized prior: one learned histogram per residual stage (the baseline and fallback prior)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vqcodec.config import PriorConfig
from vqcodec.entropy.tables import LOGIT_BITS
from vqcodec.entropy.session import LogitSession
from vqcodec.priors.base import IndexPrior
from vqcodec.priors.tiling import check_shape


class UnigramPrior(IndexPrior):
    """``p(indices) = prod_{positions, s} softmax(theta_s)[index]``: a learned histogram for each stage ``s``.

    All positions of a stage share one frequency table, so the whole grid is coded in ``S`` steps.
    """

    def __init__(self, config: PriorConfig) -> None:
        super().__init__(config)
        self.logits_table = nn.Parameter(torch.zeros(config.num_stages, config.codebook_size))

    def forward(self, indices: Tensor) -> Tensor:
        """Logits ``(B, *grid, S, K)``: the stage histograms broadcast over the grid."""
        return self.logits_table[: indices.shape[-1]].expand(*indices.shape, self.config.codebook_size)

    def integer_logits(self) -> Tensor:
        """Normalized log-probabilities ``(S, K)`` as integers at scale ``2**LOGIT_BITS`` (float64)."""
        log_p = torch.log_softmax(self.logits_table.detach().double(), dim=-1)
        return torch.round(log_p * (1 << LOGIT_BITS)).clamp_(min=-(64 << LOGIT_BITS))

    def open_session(
        self, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
        chunk: int | None = None, indices: Tensor | None = None,
    ) -> LogitSession:
        """One step per stage, all positions i.i.d. (``tile_shape`` and ``chunk`` do not apply)."""
        check_shape(shape, self.config.dims, self.config.num_stages)
        if indices is not None:
            self.check_indices(indices)
        return _UnigramSession(self.integer_logits(), shape, indices, self.config.precision)


class _UnigramSession(LogitSession):
    def __init__(self, table: Tensor, shape: tuple[int, ...], indices: Tensor | None, precision: int) -> None:
        self._table, self.precision = table, precision
        self._known = None if indices is None else indices.long()
        self._out = torch.zeros(shape, dtype=torch.int64)
        self._count = math.prod(shape[:-1])
        self.num_steps = shape[-1]

    def num_symbols(self, step: int) -> int:
        return self._count

    def logits(self, step: int) -> Tensor:
        return self._table[step : step + 1]

    def targets(self, step: int) -> Tensor:
        if self._known is None:
            raise RuntimeError("targets() needs the indices being encoded")
        return self._known[..., step].reshape(-1)

    def push(self, step: int, symbols: Tensor) -> None:
        self._out[..., step] = symbols.reshape(self._out.shape[:-1])

    def result(self) -> Tensor:
        return self._out

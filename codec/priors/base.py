"""The prior contract shared by the factorized and the autoregressive priors.

A prior models index grids ``(B, *grid, S)`` (``S`` residual stages, values in ``[0, K)``):

* ``forward(indices)`` returns float logits ``(B, *grid, S, K)`` for training (teacher forcing);
* ``open_session(...)`` returns a :class:`~vqcodec.entropy.session.LogitSession`, the *only* source of coding
  probabilities. The entropy coder walks its steps in order; the encoder and the decoder run exactly the same steps
  on the same inputs.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import PriorConfig
from vqcodec.entropy.session import EntropyModel, LogitSession


class IndexPrior(nn.Module, EntropyModel):
    """Base class of priors over ``(B, *grid, S)`` index grids with values in ``[0, K)`` (categorical entropy
    models: their sessions turn exact integer logits into the coder's tables)."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def precision(self) -> int:
        return self.config.precision

    @abstractmethod
    def forward(self, indices: Tensor) -> Tensor:
        """Logits ``(B, *grid, S, K)`` of every index given its causal context (teacher forcing)."""

    @abstractmethod
    def open_session(
        self, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
        chunk: int | None = None, indices: Tensor | None = None,
    ) -> LogitSession:
        """A coding session for grids of ``shape = (B, *grid, S)``; pass ``indices`` to encode them."""

    def check_indices(self, indices: Tensor) -> None:
        """Raise ``ValueError`` unless ``indices`` is an integer ``(B, *grid, S)`` grid with values in ``[0, K)``."""
        cfg = self.config
        if indices.dtype not in (torch.int16, torch.int32, torch.int64, torch.uint8):
            raise ValueError(f"indices must be an integer tensor, got {indices.dtype}")
        if indices.dim() != cfg.dims + 2 or not 1 <= indices.shape[-1] <= cfg.num_stages:
            raise ValueError(
                f"indices must be (B, {cfg.dims} grid axes, S<={cfg.num_stages}), got {tuple(indices.shape)}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= cfg.codebook_size):
            raise ValueError(f"indices must lie in [0, {cfg.codebook_size})")

    def nll_bits(self, indices: Tensor) -> Tensor:
        """Cross-entropy in bits per index (a scalar): the training objective."""
        self.check_indices(indices)
        logits = self(indices)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), indices.reshape(-1).long())
        return ce / math.log(2.0)


@torch.no_grad()
def bits_per_index(prior: IndexPrior, dataset: Iterable[Tensor]) -> float:
    """Mean cross-entropy in bits per index of ``prior`` over an iterable of ``(B, *grid, S)`` index grids."""
    total_bits, count = 0.0, 0
    for indices in dataset:
        n = indices.numel()
        total_bits += float(prior.nll_bits(indices)) * n
        count += n
    if count == 0:
        raise ValueError("bits_per_index: the dataset is empty")
    return total_bits / count

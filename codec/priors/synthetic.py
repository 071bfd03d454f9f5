"""A known 2-D Markov random field over indices, for testing and benchmarking priors.

Each index is drawn from a fixed table given its left and upper neighbours (index 0 outside the grid), so the
field's conditional entropy is known exactly and a correct autoregressive prior can reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class MarkovField2d:
    """``p(x_ij | x_i,j-1 = a, x_i-1,j = b) = table[a, b]``; ``table`` is ``(K, K, K)`` and rows sum to 1."""

    table: np.ndarray

    @staticmethod
    def random(codebook_size: int, concentration: float = 0.3, seed: int = 0) -> MarkovField2d:
        """A field whose conditionals are Dirichlet(``concentration``) draws (small = low entropy)."""
        rng = np.random.default_rng(seed)
        k = codebook_size
        return MarkovField2d(rng.dirichlet(np.full(k, concentration), size=(k, k)))

    def sample(self, batch: int, height: int, width: int, seed: int = 0) -> Tensor:
        """``(batch, height, width, 1)`` int64 grids sampled in raster order."""
        rng = np.random.default_rng(seed)
        cdf = np.cumsum(self.table, axis=-1)
        cdf[..., -1] = 1.0
        out = np.zeros((batch, height + 1, width + 1), dtype=np.int64)
        for i in range(1, height + 1):
            for j in range(1, width + 1):
                rows = cdf[out[:, i, j - 1], out[:, i - 1, j]]
                u = rng.random((batch, 1))
                out[:, i, j] = (rows < u).sum(axis=1)
        return torch.from_numpy(out[:, 1:, 1:].copy()).unsqueeze(-1)

    def bits(self, grids: Tensor) -> float:
        """Mean true cross-entropy ``-log2 p`` in bits per index of ``grids (B, H, W, 1)`` under the field."""
        g = np.pad(grids[..., 0].numpy(), ((0, 0), (1, 0), (1, 0)))
        x, left, up = g[:, 1:, 1:], g[:, 1:, :-1], g[:, :-1, 1:]
        return float(-np.log2(self.table[left, up, x]).mean())

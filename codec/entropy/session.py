"""The one interface between entropy models and the range coder: sessions that yield integer frequency tables.

An :class:`EntropyModel` (a categorical prior over VQ indices, a factorized density, a discretized Gaussian) opens a
:class:`TableSession` over the symbols it codes. The session is a fixed schedule of steps; step ``t`` codes
``num_symbols(t)`` symbols, each an integer in ``[0, K)``, under integer frequency tables ``(N, K)`` (or ``(1, K)``
shared by all N) whose rows sum to ``2**precision`` with every entry >= 1. The encoder and the decoder walk the same
steps with the same inputs, so they see the same tables: nothing here assumes how a model makes its tables (K-way
logits, a scale table, ...), only that it makes them with exact integer arithmetic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
from torch import Tensor

from vqcodec.entropy.tables import quantize_logits


class TableSession(ABC):
    """A fixed schedule of coding steps over one set of symbols (see the module docstring).

    ``push(t, symbols)`` records the symbols of step ``t`` (coded by the encoder, decoded by the decoder) before
    step ``t + 1`` asks for its tables; ``targets(t)`` (encoder only) gives the symbols being encoded.
    """

    num_steps: int
    precision: int
    wide: bool = False
    """Its steps are large matrix products: the coder runs them on the caller's torch threads rather than on
    ``CODING_THREADS`` (exact integer arithmetic gives the same tables at any thread count)."""

    @abstractmethod
    def num_symbols(self, step: int) -> int:
        """Symbols coded at ``step``."""

    @abstractmethod
    def tables(self, step: int) -> np.ndarray:
        """int64 frequency tables ``(num_symbols, K)`` or ``(1, K)`` (shared) of ``step``."""

    @abstractmethod
    def targets(self, step: int) -> Tensor:
        """Symbols ``(N,)`` int64 of ``step`` from what is being encoded (encoder side)."""

    @abstractmethod
    def push(self, step: int, symbols: Tensor) -> None:
        """Record the coded symbols ``(N,)`` of ``step``."""

    @abstractmethod
    def result(self) -> Tensor:
        """Everything that was coded, in the model's layout, once every step was pushed."""

    def encoder_blocks(self) -> Iterator[tuple[np.ndarray, Tensor]] | None:
        """Encoder fast path, or None when the session has none (the coder then walks the steps).

        A session that knows every symbol may yield ``(tables (N, K), targets (N,))`` for runs of whole steps,
        concatenated in coding order: the same tables and symbols that ``tables``/``targets`` give step by step,
        so the coded bits are identical. The session is spent afterwards (no ``push``/``result``).
        """
        return None


class LogitSession(TableSession):
    """A session of a categorical model: its tables are ``quantize_logits`` of exact integer logits."""

    @abstractmethod
    def logits(self, step: int) -> Tensor:
        """Integer-valued logits ``(N, K)`` or ``(1, K)`` (shared) for ``step``, at scale ``2**LOGIT_BITS``."""

    def tables(self, step: int) -> np.ndarray:
        return quantize_logits(self.logits(step), self.precision)

    def logit_blocks(self) -> Iterator[tuple[Tensor, Tensor]] | None:
        """Encoder fast path in logits: ``(logits (N, K), targets (N,))`` runs in coding order, or None."""
        return None

    def encoder_blocks(self) -> Iterator[tuple[np.ndarray, Tensor]] | None:
        blocks = self.logit_blocks()
        if blocks is None:
            return None
        return ((quantize_logits(logits, self.precision), targets) for logits, targets in blocks)


class EntropyModel(ABC):
    """A probability model that codes its symbols through :class:`TableSession` objects (how a session is
    opened depends on the model: a prior over an index grid, a density given its hyper-latent, ...).

    ``precision`` is the bit precision of its tables (recorded in the ``.vq`` header).
    """

    @property
    @abstractmethod
    def precision(self) -> int:
        """Bits of the frequency tables (each row sums to ``2**precision``)."""

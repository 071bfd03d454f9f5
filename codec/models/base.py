"""The codec contract every codec kind implements (``vq``, ``gauss``, ...).

::

    forward(x)                       -> <Kind>Output   training: x_hat, losses, rate estimate in bits
    compress(x, quality, tiling)     -> Encoded        real bits: the kind's header section, payload sections, bits
    decompress(encoded, ...)         -> x_hat          (1, C, *grid), still padded
    qualities                        -> the quality levels and what each means

``x`` is ``(1, C, *grid)``, already padded to ``strides`` by a modality adapter (``vqcodec.media.adapters``): a kind
never sees file formats, sample rates or frame rates. ``x`` may be uint8 pixels standing for ``x / 255`` (video),
and ``decompress(..., pixels=True)`` returns uint8 pixels: both converted tile by tile (``vqcodec.media.pixels``).
Everything the range coder sees comes from exact integer entropy models (``vqcodec.entropy``), so ``decompress``
gives the same result in any process, thread count and device; a kind validates a file's section against itself
(``check``) before allocating anything from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from vqcodec.bitstream.fields import KindFields
from vqcodec.media.tiler import Tiling


@dataclass(frozen=True)
class QualityLevel:
    """One quality level of a kind: its number (``--quality``) and what it means."""

    quality: int
    meaning: str


@dataclass(frozen=True)
class Encoded:
    """Real bits of one item: the kind's header section, its payload sections and the ideal code length.

    Attributes:
        fields: the kind section of the header.
        sections: payload sections (the container stores them length-prefixed).
        estimated_bits: ``sum -log2 p`` of every coded symbol under the coder's integer tables.
        precision: bits of those tables.
    """

    fields: KindFields
    sections: tuple[bytes, ...]
    estimated_bits: float
    precision: int


class CodecModel(nn.Module, ABC):
    """Base class of codec kinds (see the module docstring). ``kind`` is the registered name."""

    kind: ClassVar[str]
    config: Any

    @property
    @abstractmethod
    def dims(self) -> int:
        """Grid axes of the media it codes (1 audio, 2 images, 3 video)."""

    @property
    @abstractmethod
    def channels(self) -> int:
        """Channels ``C`` of the coded tensor."""

    @property
    @abstractmethod
    def strides(self) -> tuple[int, ...]:
        """Per grid axis: media sizes must be multiples of this (the adapter pads)."""

    @property
    def sample_rate(self) -> int:
        """Audio models: the sample rate they code (Hz); 0 for other media."""
        return 0

    @property
    @abstractmethod
    def qualities(self) -> tuple[QualityLevel, ...]:
        """The quality levels, lowest rate first."""

    @property
    def can_code(self) -> bool:
        """False while a part needed for real bits (an entropy model) is missing."""
        return True

    def check_quality(self, quality: int) -> None:
        """Raise ``ValueError`` unless ``quality`` is one of :attr:`qualities`."""
        levels = [q.quality for q in self.qualities]
        if quality not in levels:
            raise ValueError(f"quality must be in {levels[0]}..{levels[-1]}, got {quality}")

    @abstractmethod
    def compress(self, x: Tensor, quality: int, tiling: Tiling | None = None, group: int = 0) -> Encoded:
        """Real bits of ``x (1, C, *grid)`` (padded to :attr:`strides`) at ``quality``.

        ``tiling`` bounds the networks' memory (core/margin in media samples); ``group`` the entropy coder's
        (units the kind defines; 0 = everything at once).
        """

    @abstractmethod
    def check(self, fields: KindFields, precision: int, grid: tuple[int, ...], quality: int, group: int) -> None:
        """Raise ``ModelMismatchError``/``CorruptStreamError`` unless a file's kind section fits this model, the
        padded media ``grid``, the header's ``quality`` and the modality's coding ``group`` (checked before
        anything is allocated)."""

    @abstractmethod
    def decompress(self, enc: Encoded, device: torch.device | str = "cpu", tiling: Tiling | None = None,
                   pixels: bool = False) -> Tensor:
        """``x_hat (1, C, *grid)`` (still padded) of ``enc``, float, or with ``pixels`` uint8 pixels on the CPU
        (:func:`~vqcodec.media.pixels.to_pixels` of it); raises the entropy coder's typed errors."""

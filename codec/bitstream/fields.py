"""Kind sections of the ``.vq`` header: each codec kind's own fields, packed compactly and validated.

A kind section is a frozen dataclass of non-negative ints and tuples of ints, registered under the kind's name with
:func:`register_fields`. It is packed field by field in declaration order: an int as a varint (a field whose name
ends in ``_crc`` as 4 little-endian bytes), a tuple as a count byte followed by varints. Every value is bounded by
the class's ``LIMITS`` while it is read, and the whole section by the class's ``validate``, before a decoder
allocates anything from it. A tuple named in ``SAME_LENGTH`` has the length of another field and no count byte.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from vqcodec.bitstream.errors import CorruptStreamError
from vqcodec.bitstream.varint import Reader, encode_varint

MAX_LATENT_INDICES = 1 << 26
"""Most symbols one file may code (bounds the decoder's work and memory)."""
MAX_BATCH = 1 << 10

F = TypeVar("F", bound="KindFields")


def check(ok: bool, message: str) -> None:
    """Raise ``CorruptStreamError("invalid header: ...")`` unless ``ok``."""
    if not ok:
        raise CorruptStreamError(f"invalid header: {message}")


@dataclass(frozen=True)
class KindFields:
    """Base of the kind sections; subclasses declare fields (ints / tuples of ints), ``LIMITS`` and ``validate``."""

    LIMITS: ClassVar[dict[str, int]] = {}
    SAME_LENGTH: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; raise :class:`CorruptStreamError` via :func:`check`."""

    def pack(self) -> bytes:
        out = bytearray()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                count = b"" if f.name in self.SAME_LENGTH else bytes([len(value)])
                out += count + b"".join(encode_varint(v) for v in value)
            elif f.name.endswith("_crc"):
                out += struct.pack("<I", value)
            else:
                out += encode_varint(value)
        return bytes(out)

    @classmethod
    def unpack(cls: type[F], r: Reader) -> F:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            limit = cls.LIMITS.get(f.name, 1 << 32)
            if "tuple" in str(f.type):
                same = cls.SAME_LENGTH.get(f.name)
                count = len(values[same]) if same else r.u8(f"{f.name} count")
                check(count <= 8, f"{f.name} has {count} entries")
                values[f.name] = tuple(r.varint(f.name, limit) for _ in range(count))
            elif f.name.endswith("_crc"):
                values[f.name] = struct.unpack("<I", r.take(4, f.name))[0]
            else:
                values[f.name] = r.varint(f.name, limit)
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, CorruptStreamError):
                raise
            raise CorruptStreamError(f"invalid header: {exc}") from None


FIELDS: dict[str, type[KindFields]] = {}
"""Codec kind name -> its kind-section class."""


def register_fields(kind: str) -> Callable[[type[F]], type[F]]:
    """Class decorator: the kind section of codec kind ``kind``."""

    def deco(cls: type[F]) -> type[F]:
        if FIELDS.get(kind, cls) is not cls:
            raise ValueError(f"a kind section for {kind!r} is registered twice")
        FIELDS[kind] = cls
        return cls

    return deco


@register_fields("vq")
@dataclass(frozen=True)
class VQFields(KindFields):
    """The VQ kind section: the index grid ``(batch, *latent_grid, num_stages)`` and how it was coded.

    Attributes:
        latent_grid: index grid of one item (1-3 axes).
        tile_shape: coding tile of the prior (same length).
        num_stages: residual stages coded.
        codebook_size: K.
        symbol_crc: CRC32 of the indices (``vqcodec.entropy.symbol_checksum``); a decoder that falls out of step
            with the encoder fails it.
        batch: items in the grid.
        tile_group: tiles coded per prior session, one session after another (0 = all tiles in one session).
    """

    latent_grid: tuple[int, ...]
    tile_shape: tuple[int, ...]
    num_stages: int
    codebook_size: int
    symbol_crc: int = 0
    batch: int = 1
    tile_group: int = 0

    LIMITS: ClassVar[dict[str, int]] = {"latent_grid": MAX_LATENT_INDICES, "tile_shape": MAX_LATENT_INDICES,
                                        "num_stages": 64, "codebook_size": 65536, "batch": MAX_BATCH,
                                        "tile_group": MAX_LATENT_INDICES}
    SAME_LENGTH: ClassVar[dict[str, str]] = {"tile_shape": "latent_grid"}

    def validate(self) -> None:
        dims = len(self.latent_grid)
        check(1 <= dims <= 3 and len(self.tile_shape) == dims, "grid dimensionality")
        check(all(g >= 1 for g in self.latent_grid), "latent grid")
        check(all(1 <= t <= g for t, g in zip(self.tile_shape, self.latent_grid)), "tile shape")
        check(1 <= self.batch <= MAX_BATCH and 1 <= self.num_stages <= 64, "batch or stages")
        check(math.prod(self.latent_grid) * self.batch * self.num_stages <= MAX_LATENT_INDICES, "latent grid too large")
        check(2 <= self.codebook_size <= 65536, "codebook size")
        check(0 <= self.symbol_crc < 1 << 32 and self.tile_group >= 0, "symbol crc or tile group")

    @property
    def indices_shape(self) -> tuple[int, ...]:
        """``(B, *latent_grid, S)``."""
        return (self.batch, *self.latent_grid, self.num_stages)

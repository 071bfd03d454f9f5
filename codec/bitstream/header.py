"""The .vq header: a frozen dataclass and its compact binary form (varints, validated field by field).

Binary layout (all integers unsigned; ``v`` = LEB128 varint)::

    u8 len + model name (ASCII) | 4 bytes weights sha256 prefix | u8 modality | u8 codec kind | u8 flags
    u8 n + v[n] original shape | [v sample rate] | [v frame-rate numerator, v denominator]     (flags bit 0 / bit 1)
    u8 dims | v batch | v[dims] latent grid | v[dims] padding | v[dims] tile
    u8 stages | v codebook size | u8 coder | u8 precision | u8 quality | u32 LE symbol CRC32
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from vqcodec.bitstream.errors import CorruptStreamError, UnsupportedVersionError
from vqcodec.bitstream.varint import Reader, encode_varint

MODALITIES: tuple[str, ...] = ("image", "audio", "video", "indices")
CODEC_KINDS: tuple[str, ...] = ("vq", "gaussian")
CODERS: tuple[str, ...] = ("constriction-range-queue-categorical-imperfect",)

MAX_NAME_BYTES = 64
MAX_DIM = 1 << 32
MAX_MEDIA_ELEMENTS = 1 << 36
MAX_LATENT_INDICES = 1 << 26
MAX_SAMPLE_RATE = 1 << 20
MAX_PADDING = 1 << 16
MAX_BATCH = 1 << 10


@dataclass(frozen=True)
class Header:
    """Everything needed to decode a .vq file.

    Attributes:
        model: registry name of the model.
        weights_sha256: first 8 hex digits of the weights file's sha256.
        modality: one of ``MODALITIES``.
        codec_kind: one of ``CODEC_KINDS``.
        shape: original media shape, channels first, e.g. ``(3, H, W)``, ``(C, T)``, ``(3, T, H, W)``.
        latent_grid: index grid ``(*grid,)`` of one item; its length is the grid dimensionality.
        padding: media padding added at the end of each grid axis (same length as ``latent_grid``).
        tile_shape: coding tile (same length as ``latent_grid``).
        num_stages: residual VQ stages S.
        codebook_size: K.
        precision: bits of the frequency tables.
        symbol_crc: CRC32 of the decoded indices (``vqcodec.entropy.symbol_checksum``).
        batch: items B in the grid ``(B, *latent_grid, S)``.
        sample_rate: audio sample rate in Hz (0: none).
        frame_rate: video frame rate as ``(numerator, denominator)`` (``(0, 1)``: none).
        coder: one of ``CODERS``.
        quality: quality level the file was made at.
    """

    model: str
    weights_sha256: str
    modality: str
    codec_kind: str
    shape: tuple[int, ...]
    latent_grid: tuple[int, ...]
    padding: tuple[int, ...]
    tile_shape: tuple[int, ...]
    num_stages: int
    codebook_size: int
    precision: int
    symbol_crc: int = 0
    batch: int = 1
    sample_rate: int = 0
    frame_rate: tuple[int, int] = (0, 1)
    coder: str = CODERS[0]
    quality: int = 0

    def __post_init__(self) -> None:
        validate(self)

    @property
    def indices_shape(self) -> tuple[int, ...]:
        """``(B, *latent_grid, S)``."""
        return (self.batch, *self.latent_grid, self.num_stages)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise CorruptStreamError(f"invalid header: {message}")


def validate(h: Header) -> None:
    """Check every field against its bounds; raises :class:`CorruptStreamError` (a ``ValueError``)."""
    name = h.model.encode("utf-8", "replace")
    _check(0 < len(name) <= MAX_NAME_BYTES and h.model.isascii() and h.model.isprintable(), "model name")
    _check(len(h.weights_sha256) == 8 and all(c in "0123456789abcdef" for c in h.weights_sha256), "weights hash")
    _check(h.modality in MODALITIES and h.codec_kind in CODEC_KINDS, "modality or codec kind")
    if h.coder not in CODERS:
        raise UnsupportedVersionError(f"unsupported coder {h.coder!r}")
    _check(1 <= len(h.shape) <= 5 and all(1 <= s <= MAX_DIM for s in h.shape), "original shape")
    _check(math.prod(h.shape) * h.batch <= MAX_MEDIA_ELEMENTS, "original shape too large")
    dims = len(h.latent_grid)
    _check(1 <= dims <= 3 and len(h.padding) == dims and len(h.tile_shape) == dims, "grid dimensionality")
    _check(all(g >= 1 for g in h.latent_grid) and all(0 <= p <= MAX_PADDING for p in h.padding), "latent grid")
    _check(all(1 <= t <= g for t, g in zip(h.tile_shape, h.latent_grid)), "tile shape")
    _check(1 <= h.batch <= MAX_BATCH and 1 <= h.num_stages <= 64, "batch or stages")
    _check(math.prod(h.latent_grid) * h.batch * h.num_stages <= MAX_LATENT_INDICES, "latent grid too large")
    _check(2 <= h.codebook_size <= 65536 and 12 <= h.precision <= 24, "codebook size or precision")
    _check(h.codebook_size * 4 <= 1 << h.precision, "precision too low for the codebook")
    _check(0 <= h.symbol_crc < 1 << 32 and 0 <= h.quality <= 255, "symbol crc or quality")
    _check(0 <= h.sample_rate <= MAX_SAMPLE_RATE, "sample rate")
    num, den = h.frame_rate
    _check(0 <= num <= MAX_SAMPLE_RATE and 1 <= den <= MAX_SAMPLE_RATE, "frame rate")


def pack(h: Header) -> bytes:
    """Binary form of ``h`` (see the module docstring)."""
    name = h.model.encode("ascii")
    flags = (1 if h.sample_rate else 0) | (2 if h.frame_rate[0] else 0)
    out = bytearray([len(name)]) + name + bytes.fromhex(h.weights_sha256)
    out += bytes([MODALITIES.index(h.modality), CODEC_KINDS.index(h.codec_kind), flags, len(h.shape)])
    out += b"".join(encode_varint(s) for s in h.shape)
    if h.sample_rate:
        out += encode_varint(h.sample_rate)
    if h.frame_rate[0]:
        out += encode_varint(h.frame_rate[0]) + encode_varint(h.frame_rate[1])
    out += bytes([len(h.latent_grid)]) + encode_varint(h.batch)
    for axis_values in (h.latent_grid, h.padding, h.tile_shape):
        out += b"".join(encode_varint(v) for v in axis_values)
    out += bytes([h.num_stages]) + encode_varint(h.codebook_size)
    out += bytes([CODERS.index(h.coder), h.precision, h.quality]) + struct.pack("<I", h.symbol_crc)
    return bytes(out)


def _enum(table: tuple[str, ...], code: int, what: str) -> str:
    if code >= len(table):
        raise CorruptStreamError(f"invalid header: unknown {what} code {code}")
    return table[code]


def unpack(r: Reader) -> Header:
    """Parse a header from ``r``; every count and size is bounded before it is used."""
    name = r.take(r.u8("model name length"), "model name")
    _check(0 < len(name) <= MAX_NAME_BYTES, "model name length")
    try:
        model = name.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CorruptStreamError("invalid header: model name is not ASCII") from exc
    weights = r.take(4, "weights hash").hex()
    modality = _enum(MODALITIES, r.u8("modality"), "modality")
    kind = _enum(CODEC_KINDS, r.u8("codec kind"), "codec kind")
    flags = r.u8("flags")
    _check(flags < 4, "flags")
    ndim = r.u8("shape rank")
    _check(1 <= ndim <= 5, "shape rank")
    shape = tuple(r.varint("shape", MAX_DIM) for _ in range(ndim))
    rate = r.varint("sample rate", MAX_SAMPLE_RATE) if flags & 1 else 0
    fps = (r.varint("frame rate", MAX_SAMPLE_RATE), r.varint("frame rate", MAX_SAMPLE_RATE)) if flags & 2 else (0, 1)
    dims = r.u8("grid rank")
    _check(1 <= dims <= 3, "grid rank")
    batch = r.varint("batch", MAX_BATCH)
    grid = tuple(r.varint("latent grid", MAX_LATENT_INDICES) for _ in range(dims))
    padding = tuple(r.varint("padding", MAX_PADDING) for _ in range(dims))
    tile = tuple(r.varint("tile", MAX_LATENT_INDICES) for _ in range(dims))
    stages, codebook = r.u8("stages"), r.varint("codebook size", 65536)
    coder_code = r.u8("coder")
    if coder_code >= len(CODERS):
        raise UnsupportedVersionError(f"unsupported coder code {coder_code}")
    precision, quality = r.u8("precision"), r.u8("quality")
    (crc,) = struct.unpack("<I", r.take(4, "symbol crc"))
    return Header(model, weights, modality, kind, shape, grid, padding, tile, stages, codebook, precision, crc,
                  batch, rate, fps, CODERS[coder_code], quality)

"""The .vq header (format version 2): common fields for every codec kind, then the kind's own section.

Binary layout (all integers unsigned; ``v`` = LEB128 varint)::

    u8 len + model name (ASCII) | 4 bytes weights sha256 prefix | u8 modality | u8 len + codec kind (ASCII)
    u8 flags | u8 n + v[n] original shape | [v sample rate] | [v frame-rate numerator, v denominator]
    u8 n + v[n] padding | u8 quality | u8 coder | u8 precision | v len + kind section

Flags: bit 0 = a sample rate follows, bit 1 = a frame rate follows, bit 2 = the file's last payload section is an
audio track (video only): a complete audio ``.vq`` file of its own, coded by an audio model. The kind section's
layout belongs to the kind (``vqcodec.bitstream.fields``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vqcodec.bitstream.errors import CorruptStreamError, UnsupportedVersionError
from vqcodec.bitstream.fields import FIELDS, KindFields, check
from vqcodec.bitstream.varint import Reader, encode_varint

MODALITIES: tuple[str, ...] = ("image", "audio", "video", "indices")
CODERS: tuple[str, ...] = ("constriction-range-queue-categorical-imperfect",)

MAX_NAME_BYTES = 64
MAX_DIM = 1 << 32
MAX_MEDIA_ELEMENTS = 1 << 36
MAX_SAMPLE_RATE = 1 << 20
MAX_PADDING = 1 << 16
MAX_KIND_BYTES = 256


@dataclass(frozen=True)
class Header:
    """Everything needed to decode a .vq file.

    Attributes:
        model: registry name of the model.
        weights_sha256: first 8 hex digits of the weights file's sha256.
        modality: one of ``MODALITIES``.
        codec_kind: the codec kind's registered name (``vq``, ``gauss``); ``fields`` is its section.
        shape: original media shape, channels first: ``(3, H, W)`` image, ``(C, T)`` audio (the input's channels and
            samples at ``sample_rate``), ``(3, T, H, W)`` video.
        padding: what the modality padded at the end of each grid axis of the coded tensor.
        quality: quality level the file was made at (what it means is the kind's ``qualities``).
        fields: the kind section.
        sample_rate: audio: the input's sample rate in Hz (0: none).
        frame_rate: video frame rate as ``(numerator, denominator)`` (``(0, 1)``: none).
        coder: one of ``CODERS``.
        precision: bits of the coder's frequency tables.
        audio_track: a video whose last payload section is its audio track (a complete audio ``.vq`` file).
    """

    model: str
    weights_sha256: str
    modality: str
    codec_kind: str
    shape: tuple[int, ...]
    padding: tuple[int, ...]
    quality: int
    fields: KindFields
    sample_rate: int = 0
    frame_rate: tuple[int, int] = (0, 1)
    coder: str = CODERS[0]
    precision: int = 16
    audio_track: bool = False

    def __post_init__(self) -> None:
        validate(self)


def validate(h: Header) -> None:
    """Check every common field against its bounds; raises :class:`CorruptStreamError` (a ``ValueError``)."""
    name = h.model.encode("utf-8", "replace")
    check(0 < len(name) <= MAX_NAME_BYTES and h.model.isascii() and h.model.isprintable(), "model name")
    check(len(h.weights_sha256) == 8 and all(c in "0123456789abcdef" for c in h.weights_sha256), "weights hash")
    check(h.modality in MODALITIES, "modality")
    if h.codec_kind not in FIELDS:
        raise UnsupportedVersionError(f"unknown codec kind {h.codec_kind!r} (this build reads {', '.join(FIELDS)})")
    check(isinstance(h.fields, FIELDS[h.codec_kind]), "kind section does not match the codec kind")
    if h.coder not in CODERS:
        raise UnsupportedVersionError(f"unsupported coder {h.coder!r}")
    check(1 <= len(h.shape) <= 5 and all(1 <= s <= MAX_DIM for s in h.shape), "original shape")
    check(math.prod(h.shape) <= MAX_MEDIA_ELEMENTS, "original shape too large")
    check(1 <= len(h.padding) <= 3 and all(0 <= p <= MAX_PADDING for p in h.padding), "padding")
    check(0 <= h.quality <= 255 and 12 <= h.precision <= 24, "quality or precision")
    check(0 <= h.sample_rate <= MAX_SAMPLE_RATE, "sample rate")
    num, den = h.frame_rate
    check(0 <= num <= MAX_SAMPLE_RATE and 1 <= den <= MAX_SAMPLE_RATE, "frame rate")
    check(not h.audio_track or h.modality == "video", "only a video carries an audio track")


def _ascii(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([len(raw)]) + raw


def pack(h: Header) -> bytes:
    """Binary form of ``h`` (see the module docstring)."""
    flags = (1 if h.sample_rate else 0) | (2 if h.frame_rate[0] else 0) | (4 if h.audio_track else 0)
    out = bytearray(_ascii(h.model)) + bytes.fromhex(h.weights_sha256)
    out += bytes([MODALITIES.index(h.modality)]) + _ascii(h.codec_kind) + bytes([flags, len(h.shape)])
    out += b"".join(encode_varint(s) for s in h.shape)
    if h.sample_rate:
        out += encode_varint(h.sample_rate)
    if h.frame_rate[0]:
        out += encode_varint(h.frame_rate[0]) + encode_varint(h.frame_rate[1])
    out += bytes([len(h.padding)]) + b"".join(encode_varint(p) for p in h.padding)
    out += bytes([h.quality, CODERS.index(h.coder), h.precision])
    section = h.fields.pack()
    return bytes(out + encode_varint(len(section)) + section)


def _read_ascii(r: Reader, what: str, limit: int) -> str:
    raw = r.take(r.u8(f"{what} length"), what)
    check(0 < len(raw) <= limit, f"{what} length")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptStreamError(f"invalid header: {what} is not ASCII") from None


def read_media_fields(r: Reader, track_flag: bool = True) -> tuple[tuple[int, ...], int, tuple[int, int], bool]:
    """``u8 flags | u8 n + v[n] shape | [v sample rate] | [v fps numerator, v denominator]`` (both versions; the
    audio-track flag only where ``track_flag``); returns ``(shape, sample rate, frame rate, audio track)``."""
    flags = r.u8("flags")
    check(flags < (8 if track_flag else 4), "flags")
    rank = r.u8("shape rank")
    check(1 <= rank <= 5, "shape rank")
    shape = tuple(r.varint("shape", MAX_DIM) for _ in range(rank))
    rate = r.varint("sample rate", MAX_SAMPLE_RATE) if flags & 1 else 0
    fps = (r.varint("frame rate", MAX_SAMPLE_RATE), r.varint("frame rate", MAX_SAMPLE_RATE)) if flags & 2 else (0, 1)
    return shape, rate, fps, bool(flags & 4)


def unpack(r: Reader) -> Header:
    """Parse a header from ``r``; every count and size is bounded before it is used."""
    model = _read_ascii(r, "model name", MAX_NAME_BYTES)
    weights = r.take(4, "weights hash").hex()
    code = r.u8("modality")
    check(code < len(MODALITIES), f"unknown modality code {code}")
    kind = _read_ascii(r, "codec kind", MAX_KIND_BYTES)
    if kind not in FIELDS:
        raise UnsupportedVersionError(f"unknown codec kind {kind!r} (this build reads {', '.join(FIELDS)})")
    shape, rate, fps, track = read_media_fields(r)
    axes = r.u8("padding rank")
    check(1 <= axes <= 3, "padding rank")
    padding = tuple(r.varint("padding", MAX_PADDING) for _ in range(axes))
    quality, coder_code, precision = r.u8("quality"), r.u8("coder"), r.u8("precision")
    if coder_code >= len(CODERS):
        raise UnsupportedVersionError(f"unsupported coder code {coder_code}")
    length = r.varint("kind section length", r.remaining)
    section = Reader(r.data, r.pos, r.pos + length)
    r.pos = section.end
    fields = FIELDS[kind].unpack(section)
    check(section.remaining == 0, f"kind section has {section.remaining} unparsed bytes")
    return Header(model, weights, MODALITIES[code], kind, shape, padding, quality, fields, rate, fps,
                  CODERS[coder_code], precision, track)

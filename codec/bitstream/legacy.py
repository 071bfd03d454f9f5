"""Reader of format version 1 ``.vq`` files (vqcodec 0.1 before the kind sections), kept so they still decode.

Version 1 had one header layout, for the VQ kind only::

    u8 len + model name | 4 bytes weights hash | u8 modality | u8 codec kind (0 = vq) | u8 flags
    u8 n + v[n] original shape | [v sample rate] | [v frame-rate numerator, v denominator]
    u8 dims | v batch | v[dims] latent grid | v[dims] padding | v[dims] tile
    u8 stages | v codebook size | u8 coder | u8 precision | u8 quality | u32 LE symbol CRC32

and the same container as version 2 except that no total length follows the version byte. Its header becomes a
version-2 :class:`~vqcodec.bitstream.header.Header` with a :class:`~vqcodec.bitstream.fields.VQFields` section.
"""

from __future__ import annotations

import struct

from vqcodec.bitstream.errors import UnsupportedVersionError
from vqcodec.bitstream.fields import MAX_BATCH, MAX_LATENT_INDICES, VQFields, check
from vqcodec.bitstream.header import CODERS, MAX_NAME_BYTES, MAX_PADDING, MODALITIES, Header, read_media_fields
from vqcodec.bitstream.varint import Reader


def unpack_v1(r: Reader) -> Header:
    """Parse a version-1 header from ``r`` (bounded field by field, as version 2)."""
    name = r.take(r.u8("model name length"), "model name")
    check(0 < len(name) <= MAX_NAME_BYTES and name.isascii(), "model name")
    weights = r.take(4, "weights hash").hex()
    modality = r.u8("modality")
    check(modality < len(MODALITIES), f"unknown modality code {modality}")
    kind = r.u8("codec kind")
    if kind != 0:
        raise UnsupportedVersionError(f"version-1 codec kind code {kind} is not supported")
    shape, rate, fps, _ = read_media_fields(r, track_flag=False)
    dims = r.u8("grid rank")
    check(1 <= dims <= 3, "grid rank")
    batch = r.varint("batch", MAX_BATCH)
    grid = tuple(r.varint("latent grid", MAX_LATENT_INDICES) for _ in range(dims))
    padding = tuple(r.varint("padding", MAX_PADDING) for _ in range(dims))
    tile = tuple(r.varint("tile", MAX_LATENT_INDICES) for _ in range(dims))
    stages, codebook = r.u8("stages"), r.varint("codebook size", 65536)
    coder = r.u8("coder")
    if coder >= len(CODERS):
        raise UnsupportedVersionError(f"unsupported coder code {coder}")
    precision, quality = r.u8("precision"), r.u8("quality")
    (crc,) = struct.unpack("<I", r.take(4, "symbol crc"))
    fields = VQFields(grid, tile, stages, codebook, crc, batch)
    check(codebook * 4 <= 1 << min(precision, 24), "precision too low for the codebook")
    return Header(name.decode("ascii"), weights, MODALITIES[modality], "vq", shape, padding, quality, fields, rate,
                  fps, CODERS[coder], precision)

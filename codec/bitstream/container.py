"""The .vq container: preamble, header, length-prefixed payload sections, CRC32 trailer.

::

    b"VQC" | u8 format version | varint header length | header | u8 section count
    | (varint length | bytes) per section | u32 LE CRC32 of everything before it
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from vqcodec.bitstream.errors import CorruptStreamError, UnsupportedVersionError
from vqcodec.bitstream.header import Header, pack, unpack
from vqcodec.bitstream.varint import Reader, encode_varint

MAGIC = b"VQC"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
MAX_SECTIONS = 16
MAX_HEADER_BYTES = 1024


def write(header: Header, sections: Sequence[bytes]) -> bytes:
    """Serialize ``header`` and payload ``sections`` into a .vq byte string."""
    if len(sections) > MAX_SECTIONS:
        raise ValueError(f"at most {MAX_SECTIONS} payload sections, got {len(sections)}")
    body = pack(header)
    out = bytearray(MAGIC) + bytes([FORMAT_VERSION]) + encode_varint(len(body)) + body + bytes([len(sections)])
    for section in sections:
        out += encode_varint(len(section)) + bytes(section)
    out += struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)
    return bytes(out)


def read(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse and validate a .vq byte string.

    Raises:
        CorruptStreamError: bad magic, CRC mismatch, truncation, trailing bytes or an invalid field.
        UnsupportedVersionError: a format version or coder this build cannot read.
    """
    data = bytes(data)
    if len(data) < len(MAGIC) + 1 + 4 or data[: len(MAGIC)] != MAGIC:
        raise CorruptStreamError("not a .vq stream (bad magic or too short)")
    version = data[len(MAGIC)]
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(
            f".vq format version {version} is not supported (this build reads {SUPPORTED_VERSIONS})")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != crc:
        raise CorruptStreamError("CRC32 mismatch: the file is corrupt")
    r = Reader(data, len(MAGIC) + 1, len(data) - 4)
    header_len = r.varint("header length", MAX_HEADER_BYTES)
    if header_len > r.remaining:
        raise CorruptStreamError("truncated stream: header")
    hr = Reader(data, r.pos, r.pos + header_len)
    header = unpack(hr)
    if hr.remaining:
        raise CorruptStreamError(f"header has {hr.remaining} unparsed bytes")
    r.pos += header_len
    count = r.u8("section count")
    if count > MAX_SECTIONS:
        raise CorruptStreamError(f"{count} sections (at most {MAX_SECTIONS})")
    sections = [r.take(r.varint("section length", r.remaining), "section") for _ in range(count)]
    if r.remaining:
        raise CorruptStreamError(f"{r.remaining} trailing bytes after the last section")
    return header, sections

"""The .vq container: preamble, header, length-prefixed payload sections, CRC32 trailer.

Format version 2 (written)::

    b"VQC" | u8 format version | varint total file length | varint header length | header | varint section count
    | (varint length | bytes) per section but the last | the last section's bytes (up to the CRC)
    | u32 LE CRC32 of everything before it

Version 1 files (no total length, the version-1 header of ``vqcodec.bitstream.legacy``) are still read. Because
the length comes first, a cut-off file is reported as truncated (``N of M bytes``) rather than as a checksum
failure; for version 1 the expected length is worked out from the section lengths.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence

from vqcodec.bitstream.errors import CorruptStreamError, UnsupportedVersionError
from vqcodec.bitstream.header import Header, pack, unpack
from vqcodec.bitstream.legacy import unpack_v1
from vqcodec.bitstream.varint import Reader, encode_varint

MAGIC = b"VQC"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS: tuple[int, ...] = (1, 2)
MAX_SECTIONS = 1 << 12
MAX_HEADER_BYTES = 1024
MAX_FILE_BYTES = 1 << 40


def write(header: Header, sections: Sequence[bytes]) -> bytes:
    """Serialize ``header`` and payload ``sections`` into a version-2 .vq byte string."""
    if len(sections) > MAX_SECTIONS:
        raise ValueError(f"at most {MAX_SECTIONS} payload sections, got {len(sections)}")
    body = pack(header)
    rest = bytearray(encode_varint(len(body)) + body + encode_varint(len(sections)))
    for i, section in enumerate(sections):
        rest += (encode_varint(len(section)) if i + 1 < len(sections) else b"") + bytes(section)
    head = MAGIC + bytes([FORMAT_VERSION])
    total = len(head) + len(rest) + 4
    while len(head) + len(encode_varint(total)) + len(rest) + 4 != total:
        total = len(head) + len(encode_varint(total)) + len(rest) + 4
    out = head + encode_varint(total) + bytes(rest)
    return out + struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)


def read(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse and validate a .vq byte string (version 1 or 2).

    Raises:
        CorruptStreamError: bad magic, truncation (with the byte counts), trailing bytes, CRC mismatch or an
            invalid field.
        UnsupportedVersionError: a format version, codec kind or coder this build cannot read.
    """
    data = bytes(data)
    if len(data) < len(MAGIC) + 1 or data[: len(MAGIC)] != MAGIC:
        raise CorruptStreamError("not a .vq stream (bad magic or too short)")
    version = data[len(MAGIC)]
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(
            f".vq format version {version} is not supported (this build reads {SUPPORTED_VERSIONS})")
    start = len(MAGIC) + 1
    if version == 2:
        reader = Reader(data, start)
        total = reader.varint("file length", MAX_FILE_BYTES)
        if reader.pos - start != len(encode_varint(total)):
            raise CorruptStreamError("invalid .vq preamble: the file length is not written in its shortest form")
        start = reader.pos
    else:
        claimed = _v1_length(data, start)
        if claimed is None:
            raise CorruptStreamError(f"truncated .vq file ({len(data)} bytes; it ends inside its section lengths)")
        total = claimed
    if len(data) < total:
        raise CorruptStreamError(f"truncated .vq file ({len(data)} of {total} bytes)")
    if len(data) > total:
        raise CorruptStreamError(f"{len(data) - total} trailing bytes after the end of the .vq file")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != crc:
        raise CorruptStreamError("CRC32 mismatch: the file is corrupt")
    return _parse(data, start, unpack if version == 2 else unpack_v1, last_implied=version == 2)


def _parse(data: bytes, start: int, parse_header: Callable[[Reader], Header],
           last_implied: bool) -> tuple[Header, list[bytes]]:
    r = Reader(data, start, len(data) - 4)
    header_len = r.varint("header length", MAX_HEADER_BYTES)
    if header_len > r.remaining:
        raise CorruptStreamError("truncated stream: header")
    hr = Reader(data, r.pos, r.pos + header_len)
    header = parse_header(hr)
    if hr.remaining:
        raise CorruptStreamError(f"header has {hr.remaining} unparsed bytes")
    r.pos += header_len
    count = r.varint("section count", MAX_SECTIONS) if last_implied else r.u8("section count")
    if not last_implied and count > 16:
        raise CorruptStreamError(f"{count} sections (version 1 files hold at most 16)")
    sections = []
    for i in range(count):
        length = r.remaining if last_implied and i + 1 == count else r.varint("section length", r.remaining)
        sections.append(r.take(length, "section"))
    if r.remaining:
        raise CorruptStreamError(f"{r.remaining} trailing bytes after the last section")
    return header, sections


def _v1_length(data: bytes, start: int) -> int | None:
    """The length a version-1 file claims through its header and section lengths (it has no total length), or
    None when the file ends before those lengths do."""
    r = Reader(data, start)
    try:
        skip = r.varint("header length", MAX_HEADER_BYTES)
        r.pos += skip
        for _ in range(r.u8("section count")):
            skip = r.varint("section length", MAX_FILE_BYTES)
            r.pos += skip
    except CorruptStreamError:
        return None
    return r.pos + 4

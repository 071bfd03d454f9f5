"""Bounded little-endian base-128 varints and an exact-length byte reader for the .vq container."""

from __future__ import annotations

from vqcodec.bitstream.errors import CorruptStreamError

_MAX_VARINT_BYTES = 10


def encode_varint(value: int) -> bytes:
    """LEB128 encoding of a non-negative integer below ``2**64``."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class Reader:
    """Reads fields from ``data[start:end]``; every read is checked against the bytes that remain."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, start, len(data) if end is None else end

    @property
    def remaining(self) -> int:
        """Bytes left before ``end``."""
        return self.end - self.pos

    def take(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes, or :class:`CorruptStreamError`."""
        if n < 0 or n > self.remaining:
            raise CorruptStreamError(f"truncated stream: {what} needs {n} bytes, {self.remaining} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        """One unsigned byte."""
        return self.take(1, what)[0]

    def varint(self, what: str, limit: int) -> int:
        """A varint no larger than ``limit`` (checked before use)."""
        value = 0
        for i in range(_MAX_VARINT_BYTES):
            byte = self.u8(what)
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if value > limit:
                    raise CorruptStreamError(f"{what} = {value} exceeds the limit {limit}")
                return value
        raise CorruptStreamError(f"{what}: varint longer than {_MAX_VARINT_BYTES} bytes")

"""The .vq container: header, payload sections, CRC, typed errors."""

from vqcodec.bitstream.container import FORMAT_VERSION, MAGIC, read, write
from vqcodec.bitstream.errors import (
    CorruptStreamError,
    DesyncError,
    ModelMismatchError,
    UnsupportedVersionError,
    VQCodecError,
)
from vqcodec.bitstream.header import Header

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "CorruptStreamError",
    "DesyncError",
    "Header",
    "ModelMismatchError",
    "UnsupportedVersionError",
    "VQCodecError",
    "read",
    "write",
]

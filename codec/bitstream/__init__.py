"""The .vq container: header, payload sections, CRC, typed errors."""

from vqcodec.bitstream.container import FORMAT_VERSION, MAGIC, read, write
from vqcodec.bitstream.errors import (
    CorruptStreamError,
    DesyncError,
    ModelMismatchError,
    UnsupportedVersionError,
    VQCodecError,
)
from vqcodec.bitstream.fields import FIELDS, KindFields, VQFields, register_fields
from vqcodec.bitstream.header import Header

__all__ = [
    "FIELDS",
    "FORMAT_VERSION",
    "KindFields",
    "VQFields",
    "register_fields",
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

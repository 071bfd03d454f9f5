"""Typed errors of the .vq container and of the entropy decoder. All are ``ValueError`` subclasses."""

from __future__ import annotations


class VQCodecError(ValueError):
    """Base class of every error raised for a bad or incompatible .vq stream."""


class CorruptStreamError(VQCodecError):
    """The stream is truncated, extended, fails its CRC, or holds an invalid field."""


class UnsupportedVersionError(VQCodecError):
    """The stream's format version (or coder) is not one this build can read."""


class ModelMismatchError(VQCodecError):
    """The stream was made with another model (name, weights hash or configuration differ)."""


class DesyncError(VQCodecError):
    """The decoded symbols fail their checksum: the decoder fell out of step with the encoder."""

"""Index grids <-> complete .vq byte strings: entropy coding plus the container, with every check wired in."""

from __future__ import annotations

import dataclasses
import math

from torch import Tensor

from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.header import Header
from vqcodec.entropy.coder import decode_indices, encode_indices
from vqcodec.priors.base import IndexPrior


def compress_indices(indices: Tensor, prior: IndexPrior, header: Header, chunk: int | None = None) -> bytes:
    """Encode ``indices (B, *grid, S)`` with ``prior`` into a .vq file.

    ``header`` supplies the media fields (model, weights hash, modality, original shape, padding, quality, ...);
    the grid, tile, stages, codebook size, precision and symbol CRC are filled in from the encoding. The tile is
    ``header.tile_shape`` (shrunk to the grid where larger).
    """
    prior.check_indices(indices)
    enc = encode_indices(indices, prior, header.tile_shape, chunk)
    cfg = prior.config
    full = dataclasses.replace(
        header, latent_grid=tuple(indices.shape[1:-1]), batch=int(indices.shape[0]),
        tile_shape=enc.tile_shape or tuple(indices.shape[1:-1]), num_stages=int(indices.shape[-1]),
        codebook_size=cfg.codebook_size, precision=cfg.precision, symbol_crc=enc.checksum,
    )
    return container.write(full, [enc.payload])


def check_compatible(
    header: Header, prior: IndexPrior, model: str | None = None, weights_sha256: str | None = None
) -> None:
    """Raise :class:`ModelMismatchError` unless ``header`` was made for ``prior`` (and ``model``/weights if given)."""
    cfg = prior.config
    if model is not None and header.model != model:
        raise ModelMismatchError(f"file was made with model {header.model!r}, not {model!r}")
    if weights_sha256 is not None and header.weights_sha256 != weights_sha256[:8]:
        raise ModelMismatchError(f"file was made with weights {header.weights_sha256}, not {weights_sha256[:8]}")
    theirs = (len(header.latent_grid), header.codebook_size, header.precision)
    ours = (cfg.dims, cfg.codebook_size, cfg.precision)
    if theirs != ours or header.num_stages > cfg.num_stages:
        raise ModelMismatchError(f"file needs (dims, codebook, precision) = {theirs} and {header.num_stages} stages, "
                                 f"the prior has {ours} and {cfg.num_stages} stages")


def decompress_indices(
    data: bytes, prior: IndexPrior, model: str | None = None, weights_sha256: str | None = None,
    chunk: int | None = None, max_indices: int | None = None,
) -> tuple[Header, Tensor]:
    """Read a .vq file made by :func:`compress_indices`: ``(header, indices (B, *grid, S))``.

    ``max_indices`` bounds the work an untrusted file can ask for (the container already caps it at
    ``MAX_LATENT_INDICES``); callers that know the expected media size should pass it.

    Raises:
        CorruptStreamError, UnsupportedVersionError: from the container or the range decoder.
        ModelMismatchError: the file was made for another model or prior configuration.
        DesyncError: the decoded indices fail the header's symbol CRC.
    """
    header, sections = container.read(data)
    check_compatible(header, prior, model, weights_sha256)
    if max_indices is not None and math.prod(header.indices_shape) > max_indices:
        raise CorruptStreamError(f"file claims {math.prod(header.indices_shape)} indices, the limit is {max_indices}")
    if len(sections) != 1:
        raise CorruptStreamError(f"expected 1 payload section, found {len(sections)}")
    indices = decode_indices(sections[0], prior, header.indices_shape, header.tile_shape, chunk, header.symbol_crc)
    return header, indices

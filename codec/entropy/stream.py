"""Index grids <-> complete .vq byte strings: entropy coding plus the container, with every check wired in.

The ``indices`` modality: a file that holds an index grid ``(B, *grid, S)`` coded under a prior, without media
(the VQ kind's bitstream, for tests, tools and other front ends).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from torch import Tensor

from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.fields import VQFields
from vqcodec.bitstream.header import Header
from vqcodec.entropy.coder import decode_indices, encode_indices

if TYPE_CHECKING:
    from vqcodec.priors.base import IndexPrior


def compress_indices(indices: Tensor, prior: IndexPrior, header: Header, chunk: int | None = None) -> bytes:
    """Encode ``indices (B, *grid, S)`` with ``prior`` into a .vq file.

    ``header`` supplies the common fields (model, weights hash, modality, original shape, padding, quality, ...)
    and, in its VQ section, the coding tile (shrunk to the grid where larger); the section's grid, stages,
    codebook size and symbol CRC are filled in from the encoding.
    """
    prior.check_indices(indices)
    tile = header.fields.tile_shape if isinstance(header.fields, VQFields) else None
    enc = encode_indices(indices, prior, tile, chunk)
    fields = VQFields(tuple(indices.shape[1:-1]), enc.tile_shape or tuple(indices.shape[1:-1]), int(indices.shape[-1]),
                      prior.config.codebook_size, enc.checksum, int(indices.shape[0]))
    full = dataclasses.replace(header, codec_kind="vq", fields=fields, precision=prior.config.precision)
    return container.write(full, [enc.payload])


def check_compatible(
    header: Header, prior: IndexPrior, model: str | None = None, weights_sha256: str | None = None
) -> VQFields:
    """The VQ section of ``header``; :class:`ModelMismatchError` unless it was made for ``prior`` (and
    ``model``/weights if given)."""
    cfg = prior.config
    if model is not None and header.model != model:
        raise ModelMismatchError(f"file was made with model {header.model!r}, not {model!r}")
    if weights_sha256 is not None and header.weights_sha256 != weights_sha256[:8]:
        raise ModelMismatchError(f"file was made with weights {header.weights_sha256}, not {weights_sha256[:8]}")
    f = header.fields
    if not isinstance(f, VQFields):
        raise ModelMismatchError(f"file holds a {header.codec_kind} codec stream, not VQ indices")
    theirs = (len(f.latent_grid), f.codebook_size, header.precision)
    ours = (cfg.dims, cfg.codebook_size, cfg.precision)
    if theirs != ours or f.num_stages > cfg.num_stages:
        raise ModelMismatchError(f"file needs (dims, codebook, precision) = {theirs} and {f.num_stages} stages, "
                                 f"the prior has {ours} and {cfg.num_stages} stages")
    return f


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
    f = check_compatible(header, prior, model, weights_sha256)
    if max_indices is not None and math.prod(f.indices_shape) > max_indices:
        raise CorruptStreamError(f"file claims {math.prod(f.indices_shape)} indices, the limit is {max_indices}")
    if len(sections) != 1:
        raise CorruptStreamError(f"expected 1 payload section, found {len(sections)}")
    indices = decode_indices(sections[0], prior, f.indices_shape, f.tile_shape, chunk, f.symbol_crc, f.tile_group)
    return header, indices

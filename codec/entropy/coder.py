"""Range coding of index grids with a prior's coding session (constriction queue coder).

Encoder and decoder run :func:`_run` over the same :class:`~vqcodec.priors.base.CodingSession` schedule (or the
encoder takes the session's ``encoder_blocks``: the same logits and symbols in the same order, many steps per call);
every frequency table comes from :func:`~vqcodec.entropy.tables.quantize_logits` only. Symbols are coded with
``constriction.stream.queue.RangeEncoder``/``RangeDecoder`` and the ``Categorical(perfect=False)`` model family
(Bamler, "Understanding Entropy Coding With Asymmetric Numeral Systems (ANS): a Statistician's Perspective", 2022);
compressed words are stored little-endian uint32.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import constriction
import numpy as np
import torch
from torch import Tensor

from vqcodec.bitstream.errors import CorruptStreamError, DesyncError
from vqcodec.entropy.tables import quantize_logits
from vqcodec.priors.base import CodingSession, IndexPrior
from vqcodec.threads import torch_threads

CODING_THREADS = 1
"""Torch threads of the prior's coding path: its per-step matrices are small, and on 2 cores one thread measured
2.4x faster than two (``bench/results/prior_speed``); the integer arithmetic makes the bits the same either way."""

CODER_NAME = "constriction-range-queue-categorical-imperfect"
"""Identifies the coder semantics (recorded in the .vq header as coder id 0)."""


@dataclass(frozen=True)
class EncodedIndices:
    """Result of :func:`encode_indices`.

    Attributes:
        payload: compressed words, little-endian uint32 bytes.
        estimated_bits: ideal code length ``sum -log2 p`` under the quantized tables.
        checksum: :func:`symbol_checksum` of the encoded grid.
        tile_shape: the tile actually used (the requested one shrunk to the grid).
        num_symbols: number of coded indices.
    """

    payload: bytes
    estimated_bits: float
    checksum: int
    tile_shape: tuple[int, ...]
    num_symbols: int


def symbol_checksum(indices: Tensor) -> int:
    """CRC32 of ``indices`` flattened in C order as little-endian int32."""
    return zlib.crc32(indices.detach().cpu().to(torch.int32).numpy().astype("<i4").tobytes()) & 0xFFFFFFFF


def _run(session: CodingSession, precision: int, code: Callable[[int, np.ndarray], Tensor]) -> None:
    """Walk every step: integer logits -> frequency tables -> ``code(step, freq)`` -> push the symbols (int64)."""
    for step in range(session.num_steps):
        logits = session.logits(step)
        if session.num_symbols(step) == 0:
            session.push(step, torch.zeros(0, dtype=torch.int64))
            continue
        session.push(step, code(step, quantize_logits(logits, precision)))


def _coder_args(freq: np.ndarray, count: int) -> tuple[object, ...]:
    """constriction model arguments: a shared concrete model for i.i.d. steps, else the model family + tables."""
    probs = freq.astype(np.float64)
    if probs.shape[0] == 1 and count != 1:
        return (constriction.stream.model.Categorical(probs[0], perfect=False),)
    return (constriction.stream.model.Categorical(perfect=False), probs)


def encode_indices(
    indices: Tensor, prior: IndexPrior, tile_shape: tuple[int, ...] | None = None, chunk: int | None = None
) -> EncodedIndices:
    """Entropy-code an index grid.

    Args:
        indices: ``(B, *grid, S)`` integer indices in ``[0, K)``.
        prior: the prior (its coding session supplies every probability).
        tile_shape: coding tile (prior default if None); the decoder must use the returned ``tile_shape``.
        chunk: tiles per network call; affects speed and memory only.

    Returns:
        :class:`EncodedIndices` with the payload bytes and the estimated bits.
    """
    precision = prior.config.precision
    encoder = constriction.stream.queue.RangeEncoder()
    picked = np.ones(indices.numel(), dtype=np.float64)  # the table entry of every coded symbol
    filled = 0

    def put(target: Tensor, freq: np.ndarray) -> Tensor:
        """Encode ``target (N,)`` under ``freq`` (``(N, K)``, or ``(1, K)`` shared by all N)."""
        nonlocal filled
        symbols = target.to(torch.int32).numpy()
        count = symbols.shape[0]
        encoder.encode(symbols, *_coder_args(freq, count))
        picked[filled : filled + count] = freq[np.arange(count) if freq.shape[0] == count else 0, symbols]
        filled += count
        return target

    with torch.no_grad(), torch_threads(CODING_THREADS):
        session = prior.open_session(tuple(indices.shape), tile_shape, chunk, indices)
        blocks = session.encoder_blocks()
        if blocks is None:
            _run(session, precision, lambda step, freq: put(session.targets(step), freq))
        else:  # the same tables and symbols in the same order, many steps per call
            for logits, target in blocks:
                put(target, quantize_logits(logits, precision))
    bits = float(precision * indices.numel() - np.log2(picked).sum())
    payload = encoder.get_compressed().astype("<u4").tobytes()
    tile = tuple(getattr(session, "tile_shape", ()))
    return EncodedIndices(payload, bits, symbol_checksum(indices), tile, int(indices.numel()))


def decode_indices(
    payload: bytes, prior: IndexPrior, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
    chunk: int | None = None, checksum: int | None = None,
) -> Tensor:
    """Decode an index grid written by :func:`encode_indices`.

    Args:
        payload: the compressed words (little-endian uint32 bytes).
        prior: the same prior (same weights) the encoder used.
        shape: ``(B, *grid, S)`` of the grid.
        tile_shape: the encoder's ``tile_shape``.
        chunk: tiles per network call (free to differ from the encoder's).
        checksum: the encoder's :func:`symbol_checksum`; checked when given.

    Returns:
        ``(B, *grid, S)`` int64 indices.

    Raises:
        CorruptStreamError: the payload is malformed, or does not end with the last symbol (truncated or extended).
        DesyncError: the decoded symbols fail ``checksum``.
    """
    if len(payload) % 4:
        raise CorruptStreamError(f"payload of {len(payload)} bytes is not a whole number of 32-bit words")
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    with torch_threads(CODING_THREADS):
        session = prior.open_session(tuple(shape), tile_shape, chunk, None)
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
    except (ValueError, RuntimeError) as exc:
        raise CorruptStreamError(f"invalid range-coder payload: {exc}") from exc

    def code(step: int, freq: np.ndarray) -> Tensor:
        count = session.num_symbols(step)
        args = _coder_args(freq, count)
        try:
            out = decoder.decode(args[0], count) if len(args) == 1 else decoder.decode(*args)
        except (ValueError, RuntimeError, AssertionError) as exc:
            raise CorruptStreamError(f"range decoding failed at step {step}: {exc}") from exc
        return torch.from_numpy(np.asarray(out, dtype=np.int64).reshape(count))

    with torch.no_grad(), torch_threads(CODING_THREADS):
        _run(session, prior.config.precision, code)
    if not decoder.maybe_exhausted():
        raise CorruptStreamError("payload does not end where the last symbol does (truncated or corrupted)")
    result = session.result()
    if checksum is not None and symbol_checksum(result) != checksum:
        raise DesyncError("decoded indices fail the symbol checksum (corrupt payload or encoder/decoder desync)")
    return result

"""Range coding of any :class:`~vqcodec.entropy.session.TableSession` (constriction queue coder), and of index
grids under a prior.

Encoder and decoder walk the same session schedule (or the encoder takes the session's ``encoder_blocks``: the
same tables and symbols in the same order, many steps per call); every table comes from the session. Symbols are
coded with ``constriction.stream.queue.RangeEncoder``/``RangeDecoder`` and the ``Categorical(perfect=False)`` model
family (Bamler, "Understanding Entropy Coding With Asymmetric Numeral Systems (ANS): a Statistician's Perspective",
2022); compressed words are stored little-endian uint32.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import constriction
import numpy as np
import torch
from torch import Tensor

from vqcodec import progress
from vqcodec.bitstream.errors import CorruptStreamError, DesyncError
from vqcodec.entropy.session import TableSession
from vqcodec.priors.tiling import clamp_tile
from vqcodec.threads import torch_threads

if TYPE_CHECKING:
    from vqcodec.priors.base import IndexPrior

CODING_THREADS = 1
"""Torch threads of the prior's coding path: its per-step matrices are small, and on 2 cores one thread measured
2.4x faster than two (``bench/results/prior_speed``); the integer arithmetic makes the bits the same either way.
A ``wide`` session (large products per step: the video codeword prior) runs on the caller's threads instead."""

CODER_NAME = "constriction-range-queue-categorical-imperfect"
"""Identifies the coder semantics (recorded in the .vq header as coder id 0)."""


@dataclass(frozen=True)
class EncodedSymbols:
    """Compressed words (little-endian uint32 bytes) and the ideal code length ``sum -log2 p`` in bits."""

    payload: bytes
    estimated_bits: float


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


def symbol_checksum(indices: Tensor, start: int = 0) -> int:
    """CRC32 of ``indices`` flattened in C order as little-endian int32 (continuing ``start``: the checksum of
    parts in order is that of their concatenation)."""
    return zlib.crc32(indices.detach().cpu().to(torch.int32).numpy().astype("<i4").tobytes(), start) & 0xFFFFFFFF


def _coder_args(freq: np.ndarray, count: int) -> tuple[object, ...]:
    """constriction model arguments: a shared concrete model for i.i.d. steps, else the model family + tables."""
    probs = freq.astype(np.float64)
    if probs.shape[0] == 1 and count != 1:
        return (constriction.stream.model.Categorical(probs[0], perfect=False),)
    return (constriction.stream.model.Categorical(perfect=False), probs)


def encode_session(sessions: TableSession | Iterable[TableSession], total: int) -> EncodedSymbols:
    """Encode the ``total`` symbols of one encoder session, or of several one after another into one stream
    (sessions made lazily by an iterator are opened one at a time, so only one is in memory)."""
    encoder = constriction.stream.queue.RangeEncoder()
    picked = np.ones(total, dtype=np.float64)  # the table entry of every coded symbol
    filled, precision = 0, 16

    def put(target: Tensor, freq: np.ndarray) -> None:
        nonlocal filled
        symbols = target.to(torch.int32).numpy()
        count = symbols.shape[0]
        if count == 0:
            return
        if filled + count > total:
            raise ValueError(f"the session codes more than the {total} symbols announced")
        encoder.encode(symbols, *_coder_args(freq, count))
        picked[filled : filled + count] = freq[np.arange(count) if freq.shape[0] == count else 0, symbols]
        filled += count

    caller = torch.get_num_threads()
    with torch.no_grad(), torch_threads(CODING_THREADS):
        for session in [sessions] if isinstance(sessions, TableSession) else sessions:
            precision = session.precision
            with torch_threads(caller if session.wide else CODING_THREADS):
                blocks = session.encoder_blocks()
                if blocks is None:
                    for step in range(session.num_steps):
                        freq = session.tables(step)
                        target = session.targets(step)
                        put(target, freq)
                        session.push(step, target)
                else:  # the same tables and symbols in the same order, many steps per call
                    for freq, target in blocks:
                        put(target, freq)
            del session, blocks  # before the next session is made: one session's caches in memory at a time
    if filled != total:
        raise ValueError(f"the session coded {filled} symbols, {total} were announced")
    bits = float(precision * total - np.log2(picked).sum())
    return EncodedSymbols(encoder.get_compressed().astype("<u4").tobytes(), bits)


SLACK_BITS = 96
"""What a range-coded payload may hold beyond the information of its symbols (the coder's final flush)."""


def decode_session(payload: bytes, sessions: TableSession | Iterable[TableSession], task: str | None = None,
                   count: int = 1, sink: Callable[[int, Tensor], None] | None = None) -> list[Tensor]:
    """Decode a payload written by :func:`encode_session` with decoder sessions of the same schedules, in the same
    order; returns each session's result, or hands it to ``sink(i, result)`` as soon as session ``i`` is done and
    returns nothing (the caller keeps what it needs, not every session's result at once). ``task``: report progress
    under this name (``vqcodec.progress``), the sessions being ``count`` equal parts of the work.

    The information of the decoded symbols (``sum -log2 p``) can never exceed the payload's bits: decoding stops
    with an error as soon as it does, so a short or forged payload cannot make the decoder run through a large
    claimed grid.

    Raises:
        CorruptStreamError: the payload is malformed, ran out before the last symbol, or does not end with it.
    """
    if len(payload) % 4:
        raise CorruptStreamError(f"payload of {len(payload)} bytes is not a whole number of 32-bit words")
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
    except (ValueError, RuntimeError) as exc:
        raise CorruptStreamError(f"invalid range-coder payload: {exc}") from exc
    budget = [8.0 * len(payload) + SLACK_BITS]
    results: list[Tensor] = []
    caller = torch.get_num_threads()
    with torch.no_grad(), torch_threads(CODING_THREADS):
        for done, session in enumerate([sessions] if isinstance(sessions, TableSession) else sessions):
            tick = None if task is None or not progress.active() else (
                lambda part: progress.report(task, (done + part) / max(count, done + 1)))
            with torch_threads(caller if session.wide else CODING_THREADS):
                _decode_steps(decoder, session, budget, tick)
            if sink is None:
                results.append(session.result())
            else:
                sink(done, session.result())
            if task is not None:
                progress.report(task, (done + 1) / max(count, done + 1))
            del session  # before the next session is made: one session's caches in memory at a time
    if not decoder.maybe_exhausted():
        raise CorruptStreamError("payload does not end where the last symbol does (truncated or corrupted)")
    return results


def _decode_steps(decoder: constriction.stream.queue.RangeDecoder, session: TableSession, budget: list[float],
                  tick: Callable[[float], None] | None = None) -> None:
    every = max(1, session.num_steps // 64)
    for step in range(session.num_steps):
        if tick is not None and step % every == 0:
            tick(step / session.num_steps)
        freq = session.tables(step)
        count = session.num_symbols(step)
        if count == 0:
            session.push(step, torch.zeros(0, dtype=torch.int64))
            continue
        args = _coder_args(freq, count)
        try:
            out = np.asarray(decoder.decode(args[0], count) if len(args) == 1 else decoder.decode(*args),
                             dtype=np.int64).reshape(count)
        except (ValueError, RuntimeError, AssertionError) as exc:
            raise CorruptStreamError(f"range decoding failed at step {step}: {exc}") from exc
        picked = freq[np.arange(count) if freq.shape[0] == count else 0, out]
        budget[0] -= float(session.precision * count - np.log2(picked.astype(np.float64)).sum())
        if budget[0] < 0:
            raise CorruptStreamError("the payload ran out before the last symbol (truncated or corrupted)")
        session.push(step, torch.from_numpy(out))


def slabs(length: int, tile: int, group: int) -> list[tuple[int, int]]:
    """Spans along the first grid axis coded by one session each: ``group`` tiles of ``tile`` (0 = one span)."""
    if group <= 0:
        return [(0, length)]
    size = group * tile
    return [(lo, min(lo + size, length)) for lo in range(0, length, size)]


def encode_indices(
    indices: Tensor, prior: IndexPrior, tile_shape: tuple[int, ...] | None = None, chunk: int | None = None,
    group: int = 0,
) -> EncodedIndices:
    """Entropy-code an index grid.

    Args:
        indices: ``(B, *grid, S)`` integer indices in ``[0, K)``.
        prior: the prior (its coding session supplies every probability).
        tile_shape: coding tile (prior default if None); the decoder must use the returned ``tile_shape``.
        chunk: tiles per network call; affects speed and memory only.
        group: code the grid in spans of ``group`` tiles along its first axis, one prior session after another
            (bounded memory for long grids); 0 = one session. The decoder must use the same value.

    Returns:
        :class:`EncodedIndices` with the payload bytes and the estimated bits.
    """
    prior.check_indices(indices)
    tile = clamp_tile(tuple(indices.shape[1:-1]), tuple(tile_shape or prior.config.tile_shape))

    spans = slabs(indices.shape[1], tile[0], group)

    def sessions() -> Iterator[TableSession]:
        for i, (lo, hi) in enumerate(spans):
            part = indices[:, lo:hi]
            with torch_threads(CODING_THREADS):
                yield prior.open_session(tuple(part.shape), tile, chunk, part)
            progress.report("prior", (i + 1) / len(spans))

    enc = encode_session(sessions(), int(indices.numel()))
    return EncodedIndices(enc.payload, enc.estimated_bits, symbol_checksum(indices), tile, int(indices.numel()))


def encode_chosen(sessions: Iterator[TableSession], shape: tuple[int, ...], tile_shape: tuple[int, ...]
                  ) -> EncodedIndices:
    """Entropy-code the indices that encoder sessions choose themselves as they go (a rate-distortion choice,
    :mod:`vqcodec.priors.rd_choice`), for a ``(B, *grid, S)`` grid coded in spans of its first axis, one session
    each, in order (``encode_indices``'s layout with ``B = 1``). The checksum is that of the sessions' results, so
    the decoder checks the indices that were coded."""
    if shape[0] != 1:
        raise ValueError("chosen indices are coded for one item (B = 1) at a time")
    crc = [0]

    def checked() -> Iterator[TableSession]:
        for session in sessions:
            yield session
            crc[0] = symbol_checksum(session.result(), crc[0])  # the session has coded every step by now
            del session

    enc = encode_session(checked(), math.prod(shape))
    return EncodedIndices(enc.payload, enc.estimated_bits, crc[0], tile_shape, math.prod(shape))


def decode_indices(
    payload: bytes, prior: IndexPrior, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
    chunk: int | None = None, checksum: int | None = None, group: int = 0,
) -> Tensor:
    """Decode an index grid written by :func:`encode_indices`.

    Args:
        payload: the compressed words (little-endian uint32 bytes).
        prior: the same prior (same weights) the encoder used.
        shape: ``(B, *grid, S)`` of the grid.
        tile_shape: the encoder's ``tile_shape``.
        chunk: tiles per network call (free to differ from the encoder's).
        checksum: the encoder's :func:`symbol_checksum`; checked when given.
        group: the encoder's ``group``.

    Returns:
        ``(B, *grid, S)`` int64 indices.

    Raises:
        CorruptStreamError: the payload is malformed, or does not end with the last symbol (truncated or extended).
        DesyncError: the decoded symbols fail ``checksum``.
    """
    if len(payload) % 4:
        raise CorruptStreamError(f"payload of {len(payload)} bytes is not a whole number of 32-bit words")
    cfg = prior.config
    floor_bits = -math.log2((2**cfg.precision - cfg.codebook_size + 1) / 2**cfg.precision)  # the likeliest symbol
    if math.prod(shape) * floor_bits > 8 * len(payload) + SLACK_BITS:  # before any session allocates its caches
        raise CorruptStreamError(f"a payload of {len(payload)} bytes cannot hold {math.prod(shape)} symbols "
                                 "(truncated or corrupted)")
    tile = clamp_tile(tuple(shape[1:-1]), tuple(tile_shape or cfg.tile_shape))
    spans = slabs(shape[1], tile[0], group)

    def sessions() -> Iterator[TableSession]:
        for lo, hi in spans:
            with torch_threads(CODING_THREADS):
                yield prior.open_session((shape[0], hi - lo, *shape[2:]), tile, chunk, None)

    result = torch.empty(shape, dtype=torch.int64)

    def keep(i: int, part: Tensor) -> None:  # into its place: no list of parts and their concatenation at once
        result[:, spans[i][0]: spans[i][1]] = part

    decode_session(payload, sessions(), "prior", len(spans), keep)
    if checksum is not None and symbol_checksum(result) != checksum:
        raise DesyncError("decoded indices fail the symbol checksum (corrupt payload or encoder/decoder desync)")
    return result

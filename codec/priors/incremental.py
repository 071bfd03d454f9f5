"""Tiled, incremental, exact-integer coding path of the gated PixelCNN.

The grid is cut into equal tiles (``vqcodec.priors.tiling``) that are coded independently and advance in lockstep,
so one network call serves one position of every tile. Inside a tile, cached activations make each step cheap:

* stack ``d < D - 1`` (frames, rows) is computed for a whole hyperplane once the hyperplane is fully coded;
* the last stack (columns) and the head are computed for the single new position at every step.

Nothing is ever recomputed for old positions. All arithmetic is exact integer arithmetic in float64
(``vqcodec.entropy.fixed_point``), so the logits of a tile do not depend on the thread count or on how tiles are
grouped into network calls (``chunk``). The encoder, which knows every symbol, computes the same integers for
whole tiles at once (``fill``) and hands the coder the logits of many steps per block (``logit_blocks``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.session import LogitSession
from vqcodec.entropy.integer import IntLinear, to_integer
from vqcodec.priors.pixelcnn import GatedPixelCNN, IntStackLayer
from vqcodec.priors.tiling import check_shape, clamp_tile, from_tiles, to_tiles


BLOCK_ENTRIES = 1 << 18
"""Table entries (symbols x K) per block of the encoder's fast path: 2 MB int64 arrays stay in cache (measured on
2 cores, 96x64 grid, 8 stages, K = 256: 0.30 s at 1024 rows, 0.31 s at 4096, 0.41 s at 256, 0.76 s step by step)."""

FILL_GROUP = 4
"""Tiles per step of the encoder's whole-tile computation: small groups keep the unfolded windows in cache
(measured on 2 cores, K = 1024, 128x192 grid: 2-4 tiles 0.31 s, 64 tiles 0.38 s at C = 32)."""


@dataclass(frozen=True)
class _Layer:
    """Integer weights of one stack layer, pre-arranged for channels-last matmuls (all transposed: ``(in, out)``).

    ``region_w`` multiplies unfolded windows (order ``C, *kernel``); ``point_w`` multiplies one position's window
    flattened as ``(*kernel, C)`` followed by the link input (last stack only).
    """

    region_w: Tensor
    point_w: Tensor
    conv_b: Tensor
    link_w: Tensor | None
    out_w: Tensor
    out_b: Tensor

    @staticmethod
    def of(layer: IntStackLayer) -> _Layer:
        """Arrange the integer weights of a stack layer for the session's matmuls (same integers, transposed)."""
        w = layer.conv_weight
        point = w.movedim(1, -1).reshape(w.shape[0], -1)
        if layer.link is not None:
            point = torch.cat([point, layer.link.weight_t.T], dim=1)
        return _Layer(w.reshape(w.shape[0], -1).T.contiguous(), point.T.contiguous(), layer.conv_bias,
                      None if layer.link is None else layer.link.weight_t, layer.out.weight_t, layer.out.bias)


@dataclass(frozen=True)
class FixedPointNet:
    """Integer weights of a :class:`GatedPixelCNN` (float64 tensors holding exact integers)."""

    layers: tuple[tuple[_Layer, ...], ...]  # [layer][stack]
    embed: Tensor  # (S, K, C) activation scale
    head_in_w: Tensor  # (C, C) transposed
    head_in_b: Tensor
    cond: Tensor  # (S, K, C) activation scale
    head_out_w: Tensor  # (S, C, K) transposed
    head_out_b: Tensor  # (S, K)

    def stage_logits(self, base: Tensor, cond: Tensor, stage: int) -> Tensor:
        """Integer logits ``(..., K)`` of ``stage`` from the head input ``base`` and the embeddings of the stages
        already coded at the same position, ``cond`` (both ``(..., C)``): the one head computation of the coder."""
        z = (base + cond).clamp_(0, fx.ACT_LIMIT)
        return fx.rescale(torch.matmul(z, self.head_out_w[stage]).add_(self.head_out_b[stage]))

    @staticmethod
    def from_model(model: GatedPixelCNN) -> FixedPointNet:
        """The integer form of ``model``: each stack layer through its registered converter (masks applied, the
        unused causal half of each kernel dropped), the embeddings and head quantized as activations and linear
        layers, then arranged for the session's channels-last matmuls."""
        layers = tuple(tuple(_Layer.of(to_integer(block)) for block in layer) for layer in model.layers)  # type: ignore[arg-type]
        h = model.head_params()
        head_in = IntLinear.of(h.head_in_weight, h.head_in_bias)
        out_w = torch.stack([IntLinear.of(w, None).weight_t for w in h.out_weight])
        return FixedPointNet(layers, fx.quantize_act(h.embed), head_in.weight_t, head_in.bias, fx.quantize_act(h.cond),
                             out_w, fx.quantize_bias(h.out_bias))


CACHE_DTYPE = torch.float32
"""Storage of cached activations (exact: integers within ``ACT_LIMIT``); arithmetic stays float64."""


def _wide(t: Tensor) -> Tensor:
    """Cached activations as float64 for the exact matmuls."""
    return t.to(torch.float64)


class _TileBatch:
    """Activation caches of ``n`` tiles, channels last: ``acts[d][l]`` is stack ``d`` after ``l`` layers,
    ``(n, *padded tile, C)`` with a zero margin around the tile. An ``encoder`` batch keeps no caches: its
    :meth:`fill` computes everything up front, a few tiles at a time."""

    def __init__(self, net: FixedPointNet, n: int, tile: tuple[int, ...], kernel: int, encoder: bool = False) -> None:
        self.net, self.tile, self.half = net, tile, kernel // 2
        self.margin = max(1, self.half)
        channels, dims = net.embed.shape[-1], len(tile)
        self.acts = self._buffers(0 if encoder else n)
        self.kernels = [(1,) * d + (self.half + 1,) + (kernel,) * (dims - d - 1) for d in range(dims)]
        self.offset = fx.gate_offset(channels)
        self.base = torch.zeros((n, channels), dtype=torch.float64)
        self.cond = torch.zeros_like(self.base)
        self.symbols: list[Tensor] = []
        self.base_all: Tensor | None = None  # (n, *tile, C) once fill() has run

    def _buffers(self, n: int) -> list[list[Tensor]]:
        """Zeroed activation buffers ``[stack][layer]`` of ``n`` tiles, ``(n, *padded tile, C)`` each, float32: every
        stored activation is an integer within ``ACT_LIMIT`` (2**16), exact in float32 at half the memory of float64
        (a 720p video slab's caches are 0.7 GB instead of 1.3 GB); reads are widened to float64 for the matmuls."""
        padded = tuple(t + 2 * self.margin for t in self.tile)
        x = torch.zeros((n, *padded, self.net.embed.shape[-1]), dtype=CACHE_DTYPE)
        return [[x] + [torch.zeros_like(x) for _ in self.net.layers] for _ in self.tile]

    def _index(self, pos: tuple[int, ...], window: bool, offset: int = 0) -> tuple[slice, ...]:
        """Buffer index for the region ``pos`` (fixed leading axes); the last fixed axis may be a causal window."""
        m, fixed, idx = self.margin, len(pos), [slice(None)]
        for a, t in enumerate(self.tile):
            if a < fixed:
                p = pos[a] + m + (offset if a == fixed - 2 else 0)
                lo = p - self.half if (window and a == fixed - 1) else p
                idx.append(slice(lo, p + 1))
            else:
                lo = m - (self.half if window else 0)
                idx.append(slice(lo, m + t + (self.half if window else 0)))
        return tuple(idx)

    def _finish(self, acc: Tensor, layer: _Layer, residual: Tensor | None) -> Tensor:
        """Gate, 1x1 output convolution and residual on the accumulator ``acc (..., 2C)``."""
        gated = fx.gate(fx.rescale(acc, clamp=False), self.offset)
        out = fx.rescale(torch.matmul(gated, layer.out_w).add_(layer.out_b), clamp=False)
        if residual is not None:
            out += residual
        return out.clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT)

    def stack_region(self, stack: int, pos: tuple[int, ...]) -> None:
        """Compute every layer of stack ``stack < D - 1`` on the hyperplane region fixed by ``pos``."""
        acts, prev = self.acts[stack], self.acts[stack - 1] if stack else None
        win, here = self._index(pos, window=True), self._index(pos, window=False)
        link_idx = self._index(pos, window=False, offset=-1) if stack else None
        for depth, layer in enumerate(self.net.layers, start=1):
            p = layer[stack]
            x = _wide(acts[depth - 1][win])
            for a, k in enumerate(self.kernels[stack]):
                x = x.unfold(1 + a, k, 1)
            acc = torch.matmul(x.reshape(*x.shape[: 1 + len(self.tile)], -1), p.region_w).add_(p.conv_b)
            if p.link_w is not None and prev is not None:
                acc += torch.matmul(_wide(prev[depth][link_idx]), p.link_w)
            acts[depth][here] = self._finish(acc, p, acts[depth - 1][here])

    def fill(self, symbols: Tensor, group: int = FILL_GROUP) -> None:
        """Encoder side: compute every activation of the tile batch at once from its known ``symbols (n, *tile, S')``.

        Each output is the same exact-integer sum that the incremental schedule computes, so the logits are
        identical bit for bit (the last stack's first layer has no residual, and its mask already hides the
        position being coded, whose embedding the decoder writes only after all its stages are decoded).
        Tiles are processed ``group`` at a time in buffers of that size; only the head input ``(n, *tile, C)``
        is kept.
        """
        n, channels = symbols.shape[0], self.base.shape[1]
        base_all = torch.zeros((n, *self.tile, channels), dtype=torch.float64)
        for lo in range(0, n, group):
            base_all[lo : lo + group] = self._fill_tiles(symbols[lo : lo + group])
        self.base_all = base_all

    def _fill_tiles(self, symbols: Tensor) -> Tensor:
        """Head input ``(g, *tile, C)`` of ``g`` tiles with known ``symbols (g, *tile, S')``."""
        all_acts = self._buffers(symbols.shape[0])
        x = self.net.embed[0][symbols[..., 0]]
        for s in range(1, symbols.shape[-1]):
            x = x + self.net.embed[s][symbols[..., s]]
        interior = self._all(shift=None)
        all_acts[0][0][interior] = x.clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT)
        dims = len(self.tile)
        for stack in range(dims):
            acts, prev = all_acts[stack], all_acts[stack - 1] if stack else None
            link = self._all(shift=stack - 1) if stack else None
            for depth, layer in enumerate(self.net.layers, start=1):
                p, last_first = layer[stack], stack == dims - 1 and depth == 1
                windows = _wide(acts[depth - 1][self._windows(stack)])
                for a, k in enumerate(self.kernels[stack]):
                    windows = windows.unfold(1 + a, k, 1)
                acc = torch.matmul(windows.reshape(*windows.shape[: 1 + dims], -1), p.region_w).add_(p.conv_b)
                if p.link_w is not None and prev is not None and link is not None:
                    acc += torch.matmul(_wide(prev[depth][link]), p.link_w)
                acts[depth][interior] = self._finish(acc, p, None if last_first else acts[depth - 1][interior])
        return fx.rescale(torch.matmul(_wide(all_acts[-1][-1][interior]), self.net.head_in_w).add_(self.net.head_in_b))

    def _all(self, shift: int | None) -> tuple[slice, ...]:
        """Buffer index of every tile position, moved back by one along axis ``shift`` (the link input) if given."""
        m = self.margin
        return (slice(None), *(slice(m - (a == shift), m - (a == shift) + t) for a, t in enumerate(self.tile)))

    def _windows(self, stack: int) -> tuple[slice, ...]:
        """Buffer region whose unfolding gives the causal window of stack ``stack`` at every tile position."""
        m, h = self.margin, self.half
        return (slice(None), *(slice(m, m + t) if a < stack else slice(m - h, m + t + (h if a > stack else 0))
                         for a, t in enumerate(self.tile)))

    def start_position(self, pos: tuple[int, ...]) -> None:
        """Run the last stack at ``pos`` (one matmul per layer) and the shared part of the head."""
        self.cond = torch.zeros_like(self.base)
        self.symbols = []
        if self.base_all is not None:  # encoder: everything was computed by fill()
            index: tuple[slice | int, ...] = (slice(None), *pos)
            self.base = self.base_all[index]
            return
        last, n = len(self.tile) - 1, self.base.shape[0]
        win, here = self._index(pos, window=True), self._index(pos, window=False)
        link_idx = self._index(pos, window=False, offset=-1) if last else None
        acts, prev = self.acts[last], self.acts[last - 1] if last else None
        for depth, layer in enumerate(self.net.layers, start=1):
            p = layer[last]
            cols = _wide(acts[depth - 1][win].reshape(n, -1))
            if prev is not None and link_idx is not None:
                cols = torch.cat([cols, _wide(prev[depth][link_idx].reshape(n, -1))], dim=1)
            residual = None if depth == 1 else acts[depth - 1][here].reshape(n, -1)
            acts[depth][here] = self._finish(torch.addmm(p.conv_b, cols, p.point_w), p, residual).view(
                acts[depth][here].shape)
        u = _wide(acts[-1][here].reshape(n, -1))
        self.base = fx.rescale(torch.addmm(self.net.head_in_b, u, self.net.head_in_w))

    def stage_logits(self, stage: int) -> Tensor:
        """Integer logits ``(n, K)`` of ``stage`` at the current position."""
        return self.net.stage_logits(self.base, self.cond, stage)

    def push(self, pos: tuple[int, ...], stage: int, symbols: Tensor, last: bool) -> None:
        """Record ``symbols (n,)`` of ``stage``; after the ``last`` coded stage, write the position's embedding."""
        self.symbols.append(symbols)
        if not last:
            self.cond = self.cond + self.net.cond[stage][symbols]
            return
        if self.base_all is not None:
            return
        x = self.net.embed[0][self.symbols[0]]
        for s in range(1, len(self.symbols)):
            x = x + self.net.embed[s][self.symbols[s]]
        x = x.clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT).reshape(x.shape[0], *[1] * len(self.tile), x.shape[1])
        self.acts[0][0][self._index(pos, window=False)] = x


class PixelCNNSession(LogitSession):
    """Coding schedule of a :class:`GatedPixelCNN`: step ``t`` codes stage ``t % S`` at position ``t // S`` (raster
    order inside the tile) of every tile, in canonical tile order.

    Args:
        model: the prior.
        shape: ``(B, *grid, S)``.
        tile_shape: coding tile; shrunk to the grid along axes where the grid is smaller.
        chunk: tiles per network call (None: all at once). Changes the compute layout, never the bits.
        indices: the grid being encoded (None when decoding).
    """

    def __init__(
        self, model: GatedPixelCNN, shape: tuple[int, ...], tile_shape: tuple[int, ...],
        chunk: int | None, indices: Tensor | None,
    ) -> None:
        cfg = model.config
        check_shape(shape, cfg.dims, cfg.num_stages)
        if len(tile_shape) != cfg.dims or any(int(t) < 1 for t in tile_shape):
            raise ValueError(f"tile_shape must have {cfg.dims} positive entries, got {tile_shape}")
        if chunk is not None and chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.shape, self.tile_shape = tuple(shape), clamp_tile(tuple(shape[1:-1]), tuple(tile_shape))
        self.stages = int(shape[-1])  # the first S' <= S stages are coded (variable rate)
        self.precision = cfg.precision
        self._out = to_tiles(torch.zeros(self.shape, dtype=torch.int64), self.tile_shape)
        n_tiles = self._out.shape[0]
        valid = to_tiles(torch.ones(self.shape, dtype=torch.bool), self.tile_shape)[..., 0]
        self._masks = valid.reshape(n_tiles, -1).T.contiguous()  # (positions, tiles)
        self._counts = self._masks.sum(dim=1).tolist()
        self._whole = [c == n_tiles for c in self._counts]  # positions inside every tile: no masking needed
        self._known = None
        if indices is not None:  # (positions, S, tiles): targets of every step, ready in coding order
            self._known = to_tiles(indices.long(), self.tile_shape).reshape(n_tiles, -1, self.stages).permute(1, 2, 0)
        n = self._out.shape[0]
        size = n if chunk is None else min(chunk, n)
        net = to_integer(model)
        assert isinstance(net, FixedPointNet)
        self._bounds = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
        self._batches = [_TileBatch(net, hi - lo, self.tile_shape, cfg.kernel_size, encoder=indices is not None)
                         for lo, hi in self._bounds]
        if indices is not None:  # the encoder knows every symbol: all activations at once, same integers
            tiles = to_tiles(indices.long(), self.tile_shape)
            for (lo, hi), batch in zip(self._bounds, self._batches):
                batch.fill(tiles[lo:hi])
        self.num_steps = math.prod(self.tile_shape) * self.stages
        self._next = 0

    def _pos(self, step: int) -> tuple[int, ...]:
        flat, pos = step // self.stages, []
        for t in reversed(self.tile_shape):
            pos.append(flat % t)
            flat //= t
        return tuple(reversed(pos))

    def num_symbols(self, step: int) -> int:
        return int(self._counts[step // self.stages])

    def _mask(self, step: int) -> Tensor:
        """Tiles whose position at ``step`` lies inside the grid (edge tiles are padded; padding is not coded)."""
        return self._masks[step // self.stages]

    def logits(self, step: int) -> Tensor:
        if step != self._next:
            raise RuntimeError(f"coding steps must run in order: expected {self._next}, got {step}")
        stage = step % self.stages
        if stage == 0:
            for batch in self._batches:
                batch.start_position(self._pos(step))
        logits = torch.cat([batch.stage_logits(stage) for batch in self._batches])
        return logits if self._whole[step // self.stages] else logits[self._mask(step)]

    def targets(self, step: int) -> Tensor:
        if self._known is None:
            raise RuntimeError("targets() needs the indices being encoded")
        row = self._known[step // self.stages, step % self.stages]
        return row if self._whole[step // self.stages] else row[self._mask(step)]

    def push(self, step: int, symbols: Tensor) -> None:
        pos, stage = self._pos(step), step % self.stages
        if not self._whole[step // self.stages]:
            full = torch.zeros(self._out.shape[0], dtype=torch.int64)
            full[self._mask(step)] = symbols.long()
            symbols = full
        self._out[(slice(None), *pos, stage)] = symbols
        for (lo, hi), batch in zip(self._bounds, self._batches):
            batch.push(pos, stage, symbols[lo:hi], last=stage == self.stages - 1)
        self._next = step + 1
        if stage == self.stages - 1 and self._known is None:
            self._finish_hyperplanes(pos)

    def logit_blocks(self, rows: int | None = None) -> Iterator[tuple[Tensor, Tensor]] | None:
        """Encoder: the logits of a few positions of every tile at a time, all stages in one matmul each.

        Yields ``(logits (N, K), targets (N,))`` in step order (position, then stage, then tile; tiles whose
        position lies in the padding are left out), about ``rows`` rows at a time (default: ``BLOCK_ENTRIES / K``).
        Each logit is the same exact integer :meth:`logits` computes for its step. None when decoding.
        """
        if self._known is None:
            return None
        k = self._batches[0].net.head_out_b.shape[-1]
        return self._blocks(self._known, rows or max(1, BLOCK_ENTRIES // k))

    def _blocks(self, known: Tensor, rows: int) -> Iterator[tuple[Tensor, Tensor]]:
        net, stages = self._batches[0].net, self.stages
        parts = [b.base_all for b in self._batches if b.base_all is not None]
        base = torch.cat(parts).flatten(1, -2).transpose(0, 1)  # (positions, tiles, C)
        step = max(1, rows // (stages * base.shape[1]))
        for lo in range(0, base.shape[0], step):
            here, symbols = base[lo : lo + step], known[lo : lo + step]  # (m, n, C), (m, S', n)
            cond = torch.zeros_like(here)
            logits = []
            for stage in range(stages):
                logits.append(net.stage_logits(here, cond, stage))
                if stage + 1 < stages:
                    cond = cond + net.cond[stage][symbols[:, stage]]
            keep = self._masks[lo : lo + step, None, :].expand(-1, stages, -1)  # (m, S', n)
            yield torch.stack(logits, dim=1)[keep], symbols[keep]

    def _finish_hyperplanes(self, pos: tuple[int, ...]) -> None:
        """After the last position of a hyperplane of stack ``d < D - 1`` is coded, compute that hyperplane."""
        dims = len(self.tile_shape)
        for d in range(dims - 2, -1, -1):
            if all(pos[a] == self.tile_shape[a] - 1 for a in range(d + 1, dims)):
                for batch in self._batches:
                    batch.stack_region(d, pos[: d + 1])

    def result(self) -> Tensor:
        return from_tiles(self._out, self.shape)

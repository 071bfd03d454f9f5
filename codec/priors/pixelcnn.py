"""Gated PixelCNN over 1-D, 2-D and 3-D index grids.

van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu, "Conditional Image Generation with PixelCNN
Decoders", NeurIPS 2016. One stack per grid axis generalises the vertical + horizontal stacks without a blind spot::

    indices (B, *grid, S) -> sum_s embed_s -> x (B, C, *grid)
    for each layer l:                                    (D = 2 shown; D = 3 adds a frame stack before them)
        v_l = v_{l-1} + out(gate(conv_v(v_{l-1})))                          conv_v: rows <= i, cols i-k/2..i+k/2
        h_l = h_{l-1} + out(gate(conv_h(h_{l-1}) + link(shift_down(v_l))))  conv_h: cols <= j (cols < j if l = 1)
    h_L -> head -> logits of stage s given stages < s at the same position -> (B, *grid, S, K)

Stack ``d`` convolves with a kernel of size 1 along axes ``< d``, masked to offsets ``<= 0`` along axis ``d`` and
centred along axes ``> d``; it receives stack ``d - 1`` shifted by one along axis ``d - 1``. The last stack's first
layer is masked to offsets ``< 0`` (type A), so the logits at a position see only earlier positions in raster order
(time-major for audio, row-major for images, frame-row-major for video). Masks multiply the weights on the fly
(``F.conv2d(x, w * mask)``); weights are never mutated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import PriorConfig
from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.integer import IntLinear, integer_form
from vqcodec.entropy.session import LogitSession
from vqcodec.priors.base import IndexPrior

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv_nd(x: Tensor, w: Tensor, b: Tensor | None, padding: tuple[int, ...]) -> Tensor:
    """``dims``-D convolution of ``x (N, C_in, *grid)`` with ``w (C_out, C_in, *kernel)``, ``dims = x.dim() - 2``."""
    return _CONV[x.dim() - 2](x, w, b, padding=padding)


def pointwise(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """1x1 convolution of ``x (N, C_in, *grid)`` with a matrix ``w (C_out, C_in)``."""
    return conv_nd(x, w.reshape(*w.shape, *[1] * (x.dim() - 2)), b, (0,) * (x.dim() - 2))


def shift(x: Tensor, axis: int) -> Tensor:
    """Shift ``x (N, C, *grid)`` by one along grid axis ``axis`` (zeros enter at the start)."""
    dim = axis + 2
    zeros = x.new_zeros(x.shape[:dim] + (1,) + x.shape[dim + 1 :])
    return torch.cat([zeros, x.narrow(dim, 0, x.shape[dim] - 1)], dim=dim)


def stack_kernel(dims: int, stack: int, k: int) -> tuple[int, ...]:
    """Kernel shape of stack ``stack``: 1 along earlier axes, ``k`` along its own and later axes."""
    return (1,) * stack + (k,) * (dims - stack)


def stack_mask(dims: int, stack: int, k: int, type_a: bool) -> Tensor:
    """Mask ``(*kernel,)``: keeps offsets ``<= 0`` (``< 0`` when ``type_a``) along axis ``stack``."""
    shape = stack_kernel(dims, stack, k)
    mask = torch.ones(shape)
    keep = k // 2 if type_a else k // 2 + 1
    mask.narrow(stack, keep, k - keep).zero_()
    return mask


class StackLayer(nn.Module):
    """One gated layer of stack ``stack``: masked conv (+ link from the previous stack) -> gate -> 1x1 -> residual."""

    def __init__(self, dims: int, stack: int, channels: int, k: int, type_a: bool) -> None:
        super().__init__()
        kernel = stack_kernel(dims, stack, k)
        self.dims, self.stack, self.type_a = dims, stack, type_a
        self.padding = tuple(0 if a < stack else k // 2 for a in range(dims))
        mask = stack_mask(dims, stack, k, type_a)
        self.register_buffer("mask", mask, persistent=False)
        fan_in = channels * int(mask.sum())
        self.conv_weight = nn.Parameter(torch.randn(2 * channels, channels, *kernel) / math.sqrt(max(fan_in, 1)))
        self.conv_bias = nn.Parameter(torch.zeros(2 * channels))
        self.link_weight = nn.Parameter(torch.randn(2 * channels, channels) / math.sqrt(channels)) if stack else None
        self.out_weight = nn.Parameter(torch.randn(channels, channels) / math.sqrt(channels))
        self.out_bias = nn.Parameter(torch.zeros(channels))

    @property
    def residual(self) -> bool:
        """False only for the type-A layer, whose input contains the current position."""
        return not self.type_a

    mask: Tensor

    def forward(self, x: Tensor, prev_stack: Tensor | None) -> Tensor:
        """``x (B, C, *grid)`` (this stack, previous layer), ``prev_stack`` (stack - 1, this layer) -> same shape."""
        pre = conv_nd(x, self.conv_weight * self.mask, self.conv_bias, self.padding)
        if self.link_weight is not None and prev_stack is not None:
            pre = pre + pointwise(shift(prev_stack, self.stack - 1), self.link_weight)
        a, b = pre.chunk(2, dim=1)
        out = pointwise(torch.tanh(a) * torch.sigmoid(b), self.out_weight, self.out_bias)
        return out + x if self.residual else out


@dataclass(frozen=True)
class IntStackLayer:
    """Exact integer form of a :class:`StackLayer`: the masked kernel with its causal half dropped (offsets
    ``<= 0`` along the stack's axis), the link from the previous stack and the output 1x1 convolution."""

    conv_weight: Tensor  # (2C, C, *kernel with only k // 2 + 1 taps along the stack axis), weight scale
    conv_bias: Tensor  # (2C,) accumulator scale
    link: IntLinear | None
    out: IntLinear
    residual: bool


@integer_form(StackLayer)
def _stack_layer(block: StackLayer) -> IntStackLayer:
    k = block.conv_weight.shape[-1]
    w = fx.quantize_weight((block.conv_weight * block.mask).narrow(2 + block.stack, 0, k // 2 + 1))
    link = None if block.link_weight is None else IntLinear.of(block.link_weight, None)
    return IntStackLayer(w, fx.quantize_bias(block.conv_bias), link, IntLinear.of(block.out_weight, block.out_bias),
                         block.residual)


@dataclass(frozen=True)
class _HeadParams:
    embed: Tensor
    head_in_weight: Tensor
    head_in_bias: Tensor
    cond: Tensor
    out_weight: Tensor
    out_bias: Tensor


class GatedPixelCNN(IndexPrior):
    """Autoregressive prior ``p(i_t | i_<t)`` over ``(B, *grid, S)`` index grids, ``dims`` = 1, 2 or 3.

    Residual stages: the logits of stage ``s`` at a position add embeddings of the stages ``< s`` already coded
    there to the context features before the output head, so one network pass serves all ``S`` stages.
    """

    def __init__(self, config: PriorConfig) -> None:
        super().__init__(config)
        c, k, d, n = config.channels, config.kernel_size, config.dims, config.num_stages
        kk = config.codebook_size
        self.embed = nn.Parameter(torch.randn(n, kk, c) / math.sqrt(n))
        self.layers = nn.ModuleList(
            nn.ModuleList(StackLayer(d, st, c, k, type_a=(layer == 0 and st == d - 1)) for st in range(d))
            for layer in range(config.num_layers)
        )
        self.head_in = nn.Linear(c, c)
        self.cond = nn.Parameter(torch.randn(n, kk, c) * 0.1)
        self.head_out_weight = nn.Parameter(torch.randn(n, kk, c) / math.sqrt(c))
        self.head_out_bias = nn.Parameter(torch.zeros(n, kk))

    def context(self, indices: Tensor) -> Tensor:
        """Causal context features ``(B, C, *grid)`` of every position (the last stack's output)."""
        x = self._embed_grid(indices.long())
        cur = [x] * self.config.dims
        for layer in self.layers:
            new: list[Tensor] = []
            for st, block in enumerate(layer):  # type: ignore[arg-type,var-annotated]
                new.append(block(cur[st], new[st - 1] if st else None))
            cur = new
        return cur[-1]

    def forward(self, indices: Tensor) -> Tensor:
        """Logits ``(B, *grid, S, K)`` under teacher forcing."""
        idx = indices.long()
        base = self.head_in(self.context(idx).movedim(1, -1))
        cond = torch.zeros_like(base)
        logits = []
        for s in range(idx.shape[-1]):
            z = torch.relu(base + cond)
            logits.append(z @ self.head_out_weight[s].T + self.head_out_bias[s])
            cond = cond + self.cond[s][idx[..., s]]
        return torch.stack(logits, dim=-2)

    def _embed_grid(self, idx: Tensor) -> Tensor:
        x = sum(self.embed[s][idx[..., s]] for s in range(idx.shape[-1]))
        return x.movedim(-1, 1)  # type: ignore[union-attr]

    def head_params(self) -> _HeadParams:
        """The embedding and head parameters (detached) for the fixed-point coding path."""
        return _HeadParams(
            self.embed.detach(), self.head_in.weight.detach(), self.head_in.bias.detach(),
            self.cond.detach(), self.head_out_weight.detach(), self.head_out_bias.detach(),
        )

    def open_session(
        self, shape: tuple[int, ...], tile_shape: tuple[int, ...] | None = None,
        chunk: int | None = None, indices: Tensor | None = None,
    ) -> LogitSession:
        """A tiled, incremental, exact-integer coding session (see ``vqcodec.priors.incremental``).

        Args:
            shape: ``(B, *grid, S)`` of the grid to code.
            tile_shape: coding tile (defaults to ``config.tile_shape``; shrunk to the grid where larger).
            chunk: tiles per network call (compute layout only: the coded bits do not depend on it).
            indices: the grid to encode, or None to decode.
        """
        from vqcodec.priors.incremental import PixelCNNSession

        if indices is not None:
            self.check_indices(indices)
        return PixelCNNSession(self, shape, tile_shape or self.config.tile_shape, chunk, indices)


@integer_form(GatedPixelCNN)
def _pixelcnn(model: GatedPixelCNN) -> object:
    """The integer form of the whole prior, arranged for its incremental coding session."""
    from vqcodec.priors.incremental import FixedPointNet

    return FixedPointNet.from_model(model)


def inflated_state(target: GatedPixelCNN, state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The state of a ``dims - 1``-D prior (e.g. an image prior) laid into ``target``, a ``dims``-D prior of the same
    channels, layers, kernel, codebook and stages, so that ``target`` starts out as the smaller prior applied to
    every slice along the new first axis (every frame of a video).

    Stack ``s`` of the smaller prior becomes stack ``s + 1`` (its kernel gains a size-1 axis in front); the new
    stack 0 (the one that looks at earlier frames) keeps ``target``'s own initialisation, and its link into stack 1
    starts at zero, so training lets the earlier frames in from there.
    """
    out = {k: v.clone() for k, v in target.state_dict().items()}
    d = target.config.dims
    for key, value in state.items():
        if not key.startswith("layers."):
            if out[key].shape != value.shape:
                raise ValueError(f"prior parameter {key}: {tuple(value.shape)} does not fit {tuple(out[key].shape)}")
            out[key] = value.clone()
            continue
        _, layer, stack, name = key.split(".", 3)
        new_key = f"layers.{layer}.{int(stack) + 1}.{name}"
        v = value.unsqueeze(2) if name == "conv_weight" else value
        if new_key not in out or out[new_key].shape != v.shape:
            raise ValueError(f"prior parameter {key} does not fit a {d}-D prior of this shape")
        out[new_key] = v.clone()
    for i in range(target.config.num_layers):
        out[f"layers.{i}.1.link_weight"].zero_()
    return out

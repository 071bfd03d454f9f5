"""Exact integer forms of network layers, converted by layer type.

Every network that produces coding probabilities (the PixelCNN prior, a hyper-decoder) runs, when coding, as
integer arithmetic carried exactly in float64 (``vqcodec.entropy.fixed_point``): weights at ``2**WEIGHT_BITS``,
activations at ``2**ACT_BITS``, rescaled by a floor after each layer, non-linearities as lookup tables or clamps.
:func:`to_integer` converts a float module into that form by looking up a converter for its type (convolutions of
any dimension, transposed convolutions, linear layers, ReLU, containers; model-specific layers such as the
PixelCNN's masked gated stack layers register their own with :func:`integer_form`), so a new network made of
known layers gets its exact form without a hand-written copy.

    net = to_integer(hyper_decoder)            # IntSequential of IntConv / IntReLU ...
    y = net(fx.quantize_act(z))                # exact integers: the same bits on every machine and thread count
"""

from __future__ import annotations

import itertools
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.entropy import fixed_point as fx

M = TypeVar("M", bound=nn.Module)

_CONVERTERS: dict[type, Callable[[nn.Module], object]] = {}


def integer_form(*types: type[nn.Module]) -> Callable[[Callable[[M], object]], Callable[[M], object]]:
    """Decorator registering ``fn(module) -> integer layer`` as the converter of the given module types."""

    def deco(fn: Callable[[M], object]) -> Callable[[M], object]:
        for t in types:
            _CONVERTERS[t] = fn  # type: ignore[assignment]
        return fn

    return deco


_CACHE: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, object]] = weakref.WeakKeyDictionary()


def _fingerprint(module: nn.Module) -> tuple:
    """What the integer form depends on: every parameter and buffer, by storage and in-place version (an
    optimizer step, ``load_state_dict`` or ``.to()`` changes one of them)."""
    return tuple((t.data_ptr(), t._version, t.dtype, t.device, tuple(t.shape))
                 for t in itertools.chain(module.parameters(), module.buffers()))


def to_integer(module: nn.Module) -> object:
    """The exact integer form of ``module`` (the converter of its type, or of its nearest registered base class).

    The form is cached per module until one of its tensors changes, so coding many files with one loaded model
    converts it once (the conversion is deterministic: a cached form equals a fresh one).

    Raises:
        TypeError: no converter is registered for the module's type.
    """
    key = _fingerprint(module)
    hit = _CACHE.get(module)
    if hit is not None and hit[0] == key:
        return hit[1]
    for cls in type(module).__mro__:
        if cls in _CONVERTERS:
            out = _CONVERTERS[cls](module)
            _CACHE[module] = (key, out)
            return out
    raise TypeError(f"{type(module).__name__} has no exact integer form (register one with @integer_form)")


class IntLayer(ABC):
    """An exact integer layer: integer activations in (float64 tensors), integer activations out."""

    @abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """Apply the layer to integer activations at scale ``2**ACT_BITS``."""


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@dataclass(frozen=True)
class IntConv(IntLayer):
    """A convolution ``(N, C_in, *grid) -> (N, C_out, *grid')`` with integer weights and bias (transposed if
    ``transposed``). ``weight`` is ``(C_out, C_in, *kernel)`` (``(C_in, C_out, *kernel)`` when transposed)."""

    weight: Tensor
    bias: Tensor
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    def accumulate(self, x: Tensor) -> Tensor:
        """The accumulator at scale ``2**(ACT_BITS + WEIGHT_BITS)``, bias included (exact integers)."""
        dims = self.weight.dim() - 2
        if self.transposed:
            return _CONV_T[dims](x, self.weight, self.bias, self.stride, self.padding, self.output_padding or 0,
                                 1, self.dilation)
        return _CONV[dims](x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def __call__(self, x: Tensor) -> Tensor:
        return fx.rescale(self.accumulate(x))


@dataclass(frozen=True)
class IntLinear(IntLayer):
    """``x (..., in) -> (..., out)`` on channels-last activations; ``weight_t`` is the transposed ``(in, out)``."""

    weight_t: Tensor
    bias: Tensor

    @staticmethod
    def of(weight: Tensor, bias: Tensor | None) -> IntLinear:
        """From a float ``weight (out, in)`` and ``bias (out,)`` (zeros when None)."""
        b = torch.zeros(weight.shape[0]) if bias is None else bias
        return IntLinear(fx.quantize_weight(weight).T.contiguous(), fx.quantize_bias(b))

    def accumulate(self, x: Tensor) -> Tensor:
        """``x @ W^T + b`` at accumulator scale (exact integers)."""
        return torch.matmul(x, self.weight_t).add_(self.bias)

    def __call__(self, x: Tensor) -> Tensor:
        return fx.rescale(self.accumulate(x))


class IntReLU(IntLayer):
    """``max(x, 0)`` (activations stay within the fixed-point range)."""

    def __call__(self, x: Tensor) -> Tensor:
        return x.clamp(0, fx.ACT_LIMIT)


@dataclass(frozen=True)
class IntSequential(IntLayer):
    """Integer layers applied in order."""

    layers: tuple[IntLayer, ...]

    def __call__(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class IntIdentity(IntLayer):
    def __call__(self, x: Tensor) -> Tensor:
        return x


def _tuple(v: int | tuple[int, ...], dims: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, tuple) else (v,) * dims


@integer_form(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(m: nn.Conv1d | nn.Conv2d | nn.Conv3d) -> IntConv:
    if m.groups != 1 or not isinstance(m.padding, tuple) or m.padding_mode != "zeros":
        raise TypeError("only ungrouped, zero-padded convolutions with explicit padding have an integer form")
    dims = m.weight.dim() - 2
    bias = m.bias if m.bias is not None else torch.zeros(m.out_channels)
    return IntConv(fx.quantize_weight(m.weight), fx.quantize_bias(bias), _tuple(m.stride, dims),
                   _tuple(m.padding, dims), _tuple(m.dilation, dims))


@integer_form(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_t(m: nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d) -> IntConv:
    if m.groups != 1 or not isinstance(m.padding, tuple):
        raise TypeError("only ungrouped transposed convolutions have an integer form")
    dims = m.weight.dim() - 2
    bias = m.bias if m.bias is not None else torch.zeros(m.out_channels)
    # the weight is (C_in, C_out, *k); quantized as (C_out, C_in, *k) so the fan-in check counts C_in * prod(k)
    weight = fx.quantize_weight(m.weight.transpose(0, 1)).transpose(0, 1).contiguous()
    return IntConv(weight, fx.quantize_bias(bias), _tuple(m.stride, dims), _tuple(m.padding, dims),
                   _tuple(m.dilation, dims), True, _tuple(m.output_padding, dims))


@integer_form(nn.Linear)
def _linear(m: nn.Linear) -> IntLinear:
    return IntLinear.of(m.weight, m.bias)


@integer_form(nn.ReLU)
def _relu(m: nn.ReLU) -> IntReLU:
    return IntReLU()


@integer_form(nn.Identity)
def _identity(m: nn.Identity) -> IntIdentity:
    return IntIdentity()


@integer_form(nn.Sequential)
def _sequential(m: nn.Sequential) -> IntSequential:
    layers = [to_integer(child) for child in m]
    if not all(isinstance(layer, IntLayer) for layer in layers):
        raise TypeError("a Sequential converts only when all its layers are plain integer layers")
    return IntSequential(tuple(layers))  # type: ignore[arg-type]

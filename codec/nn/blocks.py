"""Dimension-generic convolutional building blocks (``dims`` = 1, 2 or 3 picks Conv1d/2d/3d)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from vqcodec.config import NetConfig

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
FRAME_BATCH = 4
FRAME_BATCH_PIXELS = 409_600
"""Frames per call of a frame-wise network: ``FRAME_BATCH``, fewer for frames above ``FRAME_BATCH_PIXELS / 4``
pixels (one 640x640 tile of a 720p frame at a time: its full-resolution activations are 65 MB per frame)."""
"""Frames a frame-wise network runs on per call."""
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def conv(dims: int, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Module:
    """A ``dims``-D convolution with 'same' padding for odd kernels (stride 1)."""
    return _CONV[dims](c_in, c_out, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation)


def downsample(dims: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Strided convolution dividing every grid axis by ``stride`` exactly (kernel ``s + 2*(s//2)``)."""
    pad = stride // 2
    return _CONV[dims](c_in, c_out, stride + 2 * pad, stride=stride, padding=pad)


def upsample(dims: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Transposed convolution multiplying every grid axis by ``stride`` exactly."""
    pad = stride // 2
    return _CONV_T[dims](c_in, c_out, stride + 2 * pad, stride=stride, padding=pad)


class ResBlock(nn.Module):
    """``x + conv1x1(act(conv_k(act(x))))`` on ``(B, C, *grid)`` (``k = kernel``, dilated by ``dilation``);
    ``zero_init`` starts it as the identity."""

    def __init__(self, dims: int, channels: int, zero_init: bool = False, kernel: int = 3, dilation: int = 1) -> None:
        super().__init__()
        last = conv(dims, channels, channels, 1)
        if zero_init:
            for p in last.parameters():
                nn.init.zeros_(p)
        self.body = nn.Sequential(nn.GELU(), conv(dims, channels, channels, kernel, dilation=dilation), nn.GELU(),
                                  last)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def level_blocks(net: NetConfig, channels: int, count: int, zero_init: bool) -> list[nn.Module]:
    """``count`` residual blocks of one level, the ``j``-th dilated by ``net.dilation_base ** j``."""
    return [ResBlock(net.network_dims, channels, zero_init, net.res_kernel, net.dilation_base**j) for j in range(count)]


def _inference_layout(fn: Callable[[Tensor], Tensor], x: Tensor, training: bool) -> Tensor:
    """``fn(x)`` for a 2-D ``x (B, C, H, W)`` in inference computed channels-last (oneDNN's faster convolution
    layout on CPUs: 1.5-2x for these networks), returned in the usual contiguous layout; training, other ranks and
    other devices run as they are. The values agree with the other layout to float rounding. Decoding does not
    depend on it (the symbols are in the file and the tables come from the integer networks), and an encoder's
    float output was never bit-exact across processors anyway (see tests/test_kodak_payloads.py)."""
    if training or x.dim() != 4 or x.device.type != "cpu":
        return fn(x)
    return fn(x.contiguous(memory_format=torch.channels_last)).contiguous()


def per_frame(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """A 2-D network ``fn`` on every frame of ``x (B, C, T, H, W)`` -> ``(B, C', T, H', W')``, ``FRAME_BATCH``
    frames per call or fewer for large frames (the activations of a whole tile of frames at once would not fit the
    memory bound)."""
    b, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)
    batch = max(1, min(FRAME_BATCH, FRAME_BATCH_PIXELS // (h * w)))
    y = torch.cat([fn(frames[i: i + batch]) for i in range(0, b * t, batch)])
    return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)


class Encoder(nn.Module):
    """``x (B, in_channels, *grid)`` -> ``(B, out_channels, *grid / total_stride)``.

    stem conv -> [GELU, strided conv, ``encoder_level_blocks`` residual blocks] per stride -> residual blocks
    -> GELU -> 1x1 conv
    """

    def __init__(self, net: NetConfig, out_channels: int) -> None:
        super().__init__()
        d = net.network_dims
        self.frame_wise = net.frame_wise
        layers: list[nn.Module] = [conv(d, net.in_channels, net.channels(0), net.kernel_size)]
        for level, s in enumerate(net.strides):
            layers += [nn.GELU(), downsample(d, net.channels(level), net.channels(level + 1), s)]
            layers += level_blocks(net, net.channels(level + 1), net.encoder_level_blocks, zero_init=False)
        top = net.channels(len(net.strides))
        layers += [ResBlock(d, top, kernel=net.res_kernel) for _ in range(net.num_res_blocks)]
        layers += [nn.GELU(), conv(d, top, out_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.frame_wise:
            return per_frame(self._run, x)
        return self._run(x)

    def _run(self, x: Tensor) -> Tensor:
        return _inference_layout(self.net, x, self.training)


class Decoder(nn.Module):
    """``z (B, in_channels, *latent_grid)`` -> ``(B, out_channels, *latent_grid * total_stride)``.

    conv -> residual blocks -> [GELU, transposed conv, ``decoder_level_blocks`` residual blocks] per stride
    (reversed) -> GELU -> conv. The level blocks (``self.levels[i]`` after the i-th upsampling) start as the
    identity: their last convolution is zero, so adding them to trained weights changes no output.
    """

    def __init__(self, net: NetConfig, in_channels: int) -> None:
        super().__init__()
        d = net.network_dims
        self.frame_wise = net.frame_wise
        top = net.channels(len(net.strides))
        layers: list[nn.Module] = [conv(d, in_channels, top, 3)]
        layers += [ResBlock(d, top, kernel=net.res_kernel) for _ in range(net.num_res_blocks)]
        n = net.decoder_level_blocks
        self.levels = nn.ModuleList()
        self._level_after: dict[int, int] = {}  # index in ``net`` of an upsampling -> its entry in ``levels``
        for level in reversed(range(len(net.strides))):
            layers += [nn.GELU(), upsample(d, net.channels(level + 1), net.channels(level), net.strides[level])]
            if n:
                self._level_after[len(layers) - 1] = len(self.levels)
                self.levels.append(nn.Sequential(*level_blocks(net, net.channels(level), n, zero_init=True)))
        layers += [nn.GELU(), conv(d, net.channels(0), net.in_channels, net.kernel_size)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        if self.frame_wise:
            return per_frame(self._run, z)
        return self._run(z)

    def _run(self, z: Tensor) -> Tensor:
        return _inference_layout(self._layers, z, self.training)

    def _layers(self, z: Tensor) -> Tensor:
        if not self._level_after:
            return self.net(z)
        for i, layer in enumerate(self.net):
            z = layer(z)
            if i in self._level_after:
                z = self.levels[self._level_after[i]](z)
        return z

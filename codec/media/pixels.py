"""8-bit pixels and the floats the networks see: ``uint8 p`` <-> ``float p / 255`` in [0, 1].

A video is handed to a codec kind as uint8 pixels (a 720p clip of 300 frames is 0.8 GB as bytes, 3.3 GB as floats)
and comes back as uint8 pixels, both converted tile by tile; images and sound stay floats.
"""

from __future__ import annotations

import torch
from torch import Tensor


def as_float(x: Tensor) -> Tensor:
    """``x`` as float32 in [0, 1] when it holds uint8 pixels (``x / 255``); any float tensor unchanged."""
    return x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x


def to_pixels(x: Tensor) -> Tensor:
    """Float ``x`` (any shape, any device) -> uint8 on the CPU: NaN -> 0, clamped to [0, 1], times 255, rounded."""
    x = torch.nan_to_num(x.detach().to("cpu", torch.float32), nan=0.0)
    return x.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)

"""Bench adapter for vqcodec's own VQ image codecs: ``vq`` (the default model) or ``vq:NAME_OR_PATH``."""

from __future__ import annotations

import numpy as np
import torch

from vqcodec.api import compress_image, decompress_image
from vqcodec.bench.codecs import Codec, Setting, register_codec
from vqcodec.registry import default_image_model, load_model


@register_codec("vq")
class VQImageCodec(Codec):
    """A VQ-VAE + prior codec swept over its quality levels (residual stages coded)."""

    description = "vqcodec VQ-VAE + PixelCNN prior + range coder (quality = residual stages)"

    def __init__(self, model: str, device: str = "cpu") -> None:
        self.model = load_model(model)
        self.device = device
        self.settings = tuple(range(1, self.model.module.num_stages + 1))  # type: ignore[operator]
        self.description = f"vqcodec {self.model.name} (sha256 {self.model.sha256[:8]}), quality = stages coded"
        self._last_bits: float | None = None

    @classmethod
    def from_spec(cls, arg: str | None, device: str = "cpu") -> Codec:
        return cls(arg or default_image_model().name, device)

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        pixels = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
        out = compress_image(pixels, self.model, int(setting), self.device)
        self._last_bits = out.estimated_bits
        return out.data

    def decode(self, data: bytes) -> np.ndarray:
        return decompress_image(data, self.model, self.device).pixels.permute(1, 2, 0).numpy()

    def estimated_bits(self, x: np.ndarray, setting: Setting) -> float | None:
        return self._last_bits

    def synchronize(self) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

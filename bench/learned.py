"""Bench adapter for vqcodec's own learned codecs, one spec per codec kind: ``vq`` (the modality's built-in VQ
model) or ``vq:NAME_OR_PATH``; a kind registered later (``gauss``) plugs in by its name the same way.

The adapter codes through the functional API (``vqcodec.encode``/``decode``), so what the bench measures is what
a user's ``.vq`` file costs, header included; its settings are the model's quality levels.
"""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

import numpy as np
import torch

from vqcodec.api import decode, encode, resolve
from vqcodec.bench.codecs import Codec, Setting, register_codec
from vqcodec.bitstream.errors import ModelMismatchError
from vqcodec.kinds import all_kinds
from vqcodec.media.types import Audio, Image, Media, Video
from vqcodec.registry import BUILTIN, DEFAULT_MODELS

_BENCH_TO_MEDIA = {"image": "image", "speech": "audio", "video": "video"}


class LearnedCodec(Codec):
    """A vqcodec model swept over its quality levels."""

    kind: ClassVar[str] = ""
    description = "vqcodec learned codec"

    def __init__(self, model: str, device: str = "cpu", modality: str = "image") -> None:
        self.model = resolve(model, _BENCH_TO_MEDIA.get(modality, modality))
        if self.model.kind != self.kind:
            raise ModelMismatchError(f"{model} is a {self.model.kind} model, not a {self.kind} codec "
                                     f"(use {self.model.kind}:{model} if it is a codec kind)")
        module = self.model.module
        if not getattr(module, "can_code", False):
            raise ModelMismatchError(f"{model} cannot code files yet (a {self.model.kind} model without its "
                                     "entropy model)")
        self.device, self.bench_modality = device, modality
        self.settings = tuple(q.quality for q in module.qualities)  # type: ignore[union-attr]
        meaning = module.qualities[0].meaning.split(" ", 1)[-1] if module.qualities else ""  # type: ignore[union-attr]
        self.description = (f"vqcodec {self.model.name} ({self.kind}, sha256 {self.model.sha256[:8]}); "
                            f"quality = {meaning}")
        self._last_bits: float | None = None

    @classmethod
    def from_spec(cls, arg: str | None, device: str = "cpu", modality: str = "image") -> Codec:
        if arg:
            return cls(arg, device, modality)
        media = _BENCH_TO_MEDIA.get(modality, modality)
        name = DEFAULT_MODELS.get(media)
        if name is None or BUILTIN[name].kind != cls.kind:
            builtins = [m.name for m in BUILTIN.values() if m.kind == cls.kind and m.modality == media]
            if not builtins:
                raise ValueError(f"no built-in {cls.kind} model for {media}; give one as {cls.kind}:PATH")
            name = builtins[0]
        return cls(name, device, modality)

    def _media(self, x: np.ndarray) -> Media:
        if self.bench_modality == "image":
            return Image(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))))
        if self.bench_modality == "speech":
            return Audio(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None], 16000)
        if self.bench_modality == "video":  # (T, H, W, 3) clips at a nominal 30 fps (rate is per pixel and frame)
            return Video(torch.from_numpy(np.ascontiguousarray(x.transpose(3, 0, 1, 2))), Fraction(30))
        raise ValueError(f"the {self.kind} adapter does not bench {self.bench_modality}")

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        out = encode(self._media(x), self.model, int(setting), self.device)
        self._last_bits = out.estimated_bits
        return out.data

    def decode(self, data: bytes) -> np.ndarray:
        rate = 16000 if self.bench_modality == "speech" else None  # the bench scores speech at 16 kHz
        media = decode(data, self.model, self.device, rate).media
        if isinstance(media, Image):
            return media.pixels.permute(1, 2, 0).numpy()
        if isinstance(media, Video):
            return media.frames.permute(1, 2, 3, 0).numpy()
        assert isinstance(media, Audio)
        return media.samples[0].numpy()

    def estimated_bits(self, x: np.ndarray, setting: Setting) -> float | None:
        return self._last_bits

    def synchronize(self) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()


for _spec in all_kinds():  # one adapter per codec kind, under the kind's bench name
    if _spec.bench is not None:
        register_codec(_spec.bench)(type(f"{_spec.name.title()}Codec", (LearnedCodec,), {"kind": _spec.name}))

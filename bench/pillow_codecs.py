"""Classical image baselines through Pillow: JPEG (4:2:0 and 4:4:4), WebP, AVIF, JPEG 2000.

Each is swept over its quality knob to cover roughly 0.05-2 bpp on Kodak (JPEG cannot go below about 0.15 bpp;
WebP not below about 0.1). Encoders run single-threaded where the library has a knob for it.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features
from vqcodec.bench.codecs import Codec, Setting, register_codec


def _lib(feature: str) -> str:
    return f"{feature} {features.version(feature) or '?'}"


class PillowCodec(Codec):
    """A Pillow format saved with fixed options plus one swept option.

    The spec ``NAME:S1/S2/...`` (e.g. ``jpeg:10/50/90``) replaces the default sweep by the given settings.
    """

    format: ClassVar[str] = ""

    def __init__(self, settings: tuple[Setting, ...] | None = None) -> None:
        if settings is not None:
            if not settings:
                raise ValueError(f"{self.name}: empty settings list")
            self.settings = tuple(settings)

    @classmethod
    def from_spec(cls, arg: str | None, device: str = "cpu", modality: str = "image") -> Codec:
        if arg is None:
            return cls()
        try:
            values = tuple(float(v) if "." in v else int(v) for v in arg.split("/"))
        except ValueError:
            raise ValueError(f"{cls.name}: settings must be numbers separated by '/', got {arg!r}") from None
        return cls(values)

    def save_options(self, setting: Setting) -> dict[str, Any]:
        """Keyword arguments for ``Image.save`` at this setting."""
        raise NotImplementedError

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{self.name}: expected an (H, W, 3) uint8 image, got {x.dtype} {x.shape}")
        buf = io.BytesIO()
        Image.fromarray(x, "RGB").save(buf, format=self.format, **self.save_options(setting))
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))


_JPEG_Q = (1, 3, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90)


@register_codec("jpeg")
class JPEG(PillowCodec):
    """Baseline JPEG, 4:2:0 chroma subsampling, standard tables, no Huffman optimisation."""

    name = "jpeg"
    format = "JPEG"
    description = f"JPEG 4:2:0 (Pillow, {_lib('libjpeg_turbo')}), quality 1-90"
    settings = _JPEG_Q
    subsampling: ClassVar[int] = 2  # Pillow: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0

    def save_options(self, setting: Setting) -> dict[str, Any]:
        return {"quality": int(setting), "subsampling": self.subsampling}


@register_codec("jpeg444")
class JPEG444(JPEG):
    """Baseline JPEG without chroma subsampling."""

    name = "jpeg444"
    description = f"JPEG 4:4:4 (Pillow, {_lib('libjpeg_turbo')}), quality 1-90"
    subsampling = 0


@register_codec("webp")
class WebP(PillowCodec):
    """Lossy WebP (VP8 intra), slowest/best method 6."""

    name = "webp"
    format = "WEBP"
    description = f"WebP lossy (Pillow, libwebp {features.version('webp') or '?'}), method 6, quality 0-90"
    settings = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90)

    def save_options(self, setting: Setting) -> dict[str, Any]:
        return {"quality": int(setting), "method": 6}


@register_codec("avif")
class AVIF(PillowCodec):
    """AVIF (AV1 intra) 4:2:0, libavif default speed 6, one encoder thread."""

    name = "avif"
    format = "AVIF"
    description = f"AVIF 4:2:0 (Pillow, {_lib('avif')}), speed 6, 1 thread, quality 0-80"
    settings = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80)

    def save_options(self, setting: Setting) -> dict[str, Any]:
        return {"quality": int(setting), "speed": 6, "subsampling": "4:2:0", "max_threads": 1}


@register_codec("jpeg2000")
class JPEG2000(PillowCodec):
    """JPEG 2000 (OpenJPEG), irreversible 9/7 wavelet with the colour transform, rate-controlled to a target bpp.

    ``mct=1`` applies the irreversible YCbCr transform; Pillow's default ``mct=0`` codes RGB planes separately
    and loses about 3 dB. The target is given as a compression ratio ``24 / bpp`` with ``quality_mode="rates"``.
    """

    name = "jpeg2000"
    format = "JPEG2000"
    setting_name = "target_bpp"
    description = f"JPEG 2000 .jp2 (Pillow, {_lib('jpg_2000')}), 9/7 irreversible, mct=1, rate-controlled"
    settings = (0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0)

    def save_options(self, setting: Setting) -> dict[str, Any]:
        return {
            "quality_mode": "rates",
            "quality_layers": [24.0 / float(setting)],
            "irreversible": True,
            "mct": 1,
            "no_jp2": False,
        }

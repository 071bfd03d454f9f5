"""Video codec adapters for the bench: x264, x265, SVT-AV1 and MJPEG through PyAV, and any image model per frame.

Every adapter takes and returns ``(T, H, W, 3)`` uint8 RGB clips. The PyAV ones write a bare stream (H.264 /
HEVC Annex-B, AV1 in IVF, MJPEG) at a nominal 30 fps (CRF rate control does not depend on it), without the
encoders' option-string metadata (x264's SEI is dropped by a bitstream filter, x265 runs with ``info=0``); odd sizes are
padded to even by repeating the last row/column (4:2:0 needs even sizes) and cropped back on decode.
"""

from __future__ import annotations

import io
import os
import struct
from typing import Any, ClassVar

import numpy as np

from vqcodec.bench.codecs import Codec, Setting, register_codec

FPS = 30


def _pad_even(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[1:3]
    return np.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else x


class PyAVVideoCodec(Codec):
    """A libavcodec encoder swept over one rate option (``crf``, or the fixed MJPEG quantizer)."""

    modality: ClassVar[str] = "video"
    encoder: ClassVar[str] = ""
    fmt: ClassVar[str] = ""
    pix_fmt: ClassVar[str] = "yuv420p"
    options: ClassVar[dict[str, str]] = {}
    bsf: ClassVar[str] = ""
    """A bitstream filter applied to the encoder's packets (x264: drop its SEI, a ~700-byte options string)."""

    def __init__(self) -> None:
        import av

        self._shape: tuple[int, ...] | None = None
        self.description = (f"{self.encoder} via PyAV {av.__version__} (FFmpeg), {self.fmt} stream, {self.pix_fmt}, "
                            f"options {self.options}{', bitstream filter ' + self.bsf if self.bsf else ''}, "
                            f"swept over {self.setting_name}")

    def _stream_options(self, setting: Setting) -> dict[str, str]:
        return {**self.options, self.setting_name: str(setting)}

    def _configure(self, stream: Any, setting: Setting) -> None:
        """Hook for settings that are codec-context fields rather than options."""

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        import av
        from av.bitstream import BitStreamFilterContext

        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration otherwise
        self._shape = x.shape
        frames = _pad_even(x)
        buf = io.BytesIO()
        with av.open(buf, "w", format=self.fmt) as out:
            stream = out.add_stream(self.encoder, rate=FPS, options=self._stream_options(setting))
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], self.pix_fmt
            self._configure(stream, setting)
            bsf = BitStreamFilterContext(self.bsf, stream) if self.bsf else None
            for f in [*frames, None]:
                packets = stream.encode(None if f is None else av.VideoFrame.from_ndarray(f, format="rgb24"))
                for p in packets:
                    out.mux(bsf.filter(p) if bsf else p)
            if bsf:
                out.mux(bsf.filter(None))
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        import av

        with av.open(io.BytesIO(data), "r", format=self.fmt) as c:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        if self._shape is not None:  # the runner decodes right after encoding the same clip
            frames = frames[:, : self._shape[1], : self._shape[2]]
        return frames


@register_codec("x264")
class X264Codec(PyAVVideoCodec):
    """H.264 (libx264, preset medium), CRF sweep."""

    encoder, fmt, setting_name = "libx264", "h264", "crf"
    options = {"preset": "medium"}
    bsf = "filter_units=remove_types=6"
    settings = (45, 40, 35, 30, 25, 20)


@register_codec("x264-veryfast")
class X264VeryfastCodec(X264Codec):
    """H.264 (libx264, preset veryfast), CRF sweep."""

    options = {"preset": "veryfast"}


@register_codec("x265")
class X265Codec(PyAVVideoCodec):
    """HEVC (libx265, preset medium), CRF sweep."""

    encoder, fmt, setting_name = "libx265", "hevc", "crf"
    options = {"preset": "medium", "x265-params": "log-level=error:info=0"}
    settings = (45, 40, 35, 30, 25, 20)


@register_codec("av1")
class SvtAv1Codec(PyAVVideoCodec):
    """AV1 (SVT-AV1, preset 8) in IVF, CRF sweep."""

    encoder, fmt, setting_name = "libsvtav1", "ivf", "crf"
    options = {"preset": "8"}
    settings = (63, 56, 48, 40, 32, 24)


@register_codec("mjpeg")
class MJPEGCodec(PyAVVideoCodec):
    """Motion JPEG (FFmpeg's mjpeg, yuvj420p), a fixed quantizer per run (qmin = qmax = q)."""

    encoder, fmt, pix_fmt, setting_name = "mjpeg", "mjpeg", "yuvj420p", "q"
    settings = (31, 20, 12, 8, 5, 3)

    def _stream_options(self, setting: Setting) -> dict[str, str]:
        return dict(self.options)

    def _configure(self, stream: Any, setting: Setting) -> None:
        stream.codec_context.qmin = stream.codec_context.qmax = int(setting)


@register_codec("vq-image")
class PerFrameCodec(Codec):
    """Every frame coded on its own with an image model (``vq-image`` by default, ``vq-image:MODEL`` for another):
    the file is the frames' ``.vq`` files, each after its 4-byte length. It shows what a 3-D latent and a temporal
    prior buy over intra-only coding."""

    modality: ClassVar[str] = "video"

    def __init__(self, model: str | None = None, device: str = "cpu") -> None:
        from vqcodec.api import resolve

        self.model = resolve(model, "image")
        self.device = device
        self.settings = tuple(q.quality for q in self.model.module.qualities)  # type: ignore[union-attr]
        self.description = (f"each frame with vqcodec {self.model.name} ({self.model.kind}, sha256 "
                            f"{self.model.sha256[:8]}), one .vq file per frame; quality = its quality level")
        self._bits = 0.0

    @classmethod
    def from_spec(cls, arg: str | None, device: str = "cpu") -> Codec:
        return cls(arg, device)

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        import torch

        from vqcodec.api import encode
        from vqcodec.media.types import Image

        parts, self._bits = [], 0.0
        for frame in x:
            out = encode(Image(torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))), self.model,
                         int(setting), self.device)
            parts += [struct.pack("<I", len(out.data)), out.data]
            self._bits += out.estimated_bits
        return b"".join(parts)

    def decode(self, data: bytes) -> np.ndarray:
        from vqcodec.api import decode
        from vqcodec.media.types import Image

        frames, pos = [], 0
        while pos < len(data):
            (n,) = struct.unpack_from("<I", data, pos)
            media = decode(data[pos + 4 : pos + 4 + n], self.model, self.device).media
            assert isinstance(media, Image)
            frames.append(media.pixels.permute(1, 2, 0).numpy())
            pos += 4 + n
        return np.stack(frames)

    def estimated_bits(self, x: np.ndarray, setting: Setting) -> float | None:
        return self._bits

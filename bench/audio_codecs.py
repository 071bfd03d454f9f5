"""Classical speech baselines: Opus and MP3 through PyAV (libopus, LAME), Codec2 through ``pycodec2``.

Items are 16 kHz mono float32 ``(T,)``; every codec returns a decodable file and decodes back to 16 kHz mono.

* ``opus`` (libopus, ``application=voip``, 20 ms frames) at 6, 8, 12, 16, 24 kbps in Ogg; its rate counts the
  Opus packets only (what a real-time transport carries), ``opus-ogg`` the whole Ogg file.
* ``codec2`` at 3200, 2400, 1600, 1300 and 700 (700C) bps: narrowband, so the input is resampled to 8 kHz and the
  output back to 16 kHz (soxr HQ); the file is the raw frames, each in whole bytes as libcodec2 packs them.
* ``mp3`` (LAME, MPEG-2 layer III at 16 kHz) at 8, 16, 24, 32 kbps, the lowest rates it offers there.
"""

from __future__ import annotations

import io
from typing import ClassVar

import numpy as np

from vqcodec.bench.codecs import Codec, Setting, register_codec

RATE = 16000


def _av():  # type: ignore[no-untyped-def]
    import av

    return av


def _encode_av(x: np.ndarray, codec: str, fmt: str, bit_rate: int, options: dict[str, str]) -> bytes:
    av = _av()
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=RATE, options=options)
        stream.bit_rate = bit_rate
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x, dtype=np.float32)[None], format="flt",
                                           layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def _decode_av(data: bytes) -> np.ndarray:
    av = _av()
    out = []
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def _packet_bytes(data: bytes) -> int:
    """Sum of the audio packet sizes of a container (no container framing, no header packets)."""
    av = _av()
    with av.open(io.BytesIO(data)) as container:
        return sum(p.size for p in container.demux(audio=0) if p.size)


class _AVCodec(Codec):
    codec_name: ClassVar[str] = ""
    fmt: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}
    modality = "speech"
    setting_name = "kbps"

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        return _encode_av(x, self.codec_name, self.fmt, int(float(setting) * 1000), self.options)

    def decode(self, data: bytes) -> np.ndarray:
        return _decode_av(data)


@register_codec("opus")
class OpusCodec(_AVCodec):
    name = "opus"
    description = "Opus (libopus via PyAV, application=voip, 20 ms frames) in Ogg; rate = Opus packet bytes"
    settings = (6, 8, 12, 16, 24)
    codec_name, fmt, options = "libopus", "ogg", {"application": "voip", "frame_duration": "20"}

    def counted_bytes(self, data: bytes) -> int:
        return _packet_bytes(data)


@register_codec("opus-ogg")
class OpusOggCodec(OpusCodec):
    name = "opus-ogg"
    description = "Opus as opus, but rate = the whole Ogg file (headers and pages)"

    def counted_bytes(self, data: bytes) -> int:
        return len(data)


@register_codec("mp3")
class MP3Codec(_AVCodec):
    name = "mp3"
    description = "MP3 (LAME via PyAV, MPEG-2 layer III, 16 kHz mono, CBR); rate = the file's bytes"
    settings = (8, 16, 24, 32)
    codec_name, fmt = "libmp3lame", "mp3"


@register_codec("codec2")
class Codec2Codec(Codec):
    name = "codec2"
    description = "Codec2 (libcodec2 via pycodec2), narrowband: 8 kHz in and out, resampled (soxr HQ) from/to 16 kHz"
    settings = (700, 1300, 1600, 2400, 3200)
    setting_name = "mode_bps"
    modality = "speech"

    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        import pycodec2
        import soxr

        codec = pycodec2.Codec2(int(setting))
        n = codec.samples_per_frame()
        narrow = soxr.resample(x.astype(np.float32), RATE, 8000, quality="HQ")
        pcm = np.clip(np.round(narrow * 32767), -32768, 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, -len(pcm) % n))
        mode = int(setting).to_bytes(2, "little")  # which mode made the frames: 2 bytes, counted in the rate
        return mode + b"".join(codec.encode(pcm[i : i + n]) for i in range(0, len(pcm), n))

    def decode(self, data: bytes) -> np.ndarray:
        import pycodec2
        import soxr

        codec = pycodec2.Codec2(int.from_bytes(data[:2], "little"))
        size = codec.bytes_per_frame()
        frames = [codec.decode(data[i : i + size]) for i in range(2, len(data), size)]
        narrow = np.concatenate(frames).astype(np.float32) / 32768.0
        return soxr.resample(narrow, 8000, RATE, quality="HQ").astype(np.float32)

"""Modality adapters: the geometry between media and the tensors a codec kind codes.

A codec kind sees only ``x (1, C, *grid)`` floats padded to its stride along every axis; the adapter of the
media's modality makes that tensor, the header's common fields (original shape, sample or frame rate, padding)
and the tiling plan for bounded memory, and turns a decoded tensor back into media:

=========  =====================  ==================================================================
modality   media                  coded tensor
=========  =====================  ==================================================================
image      uint8 ``(3, H, W)``    ``(1, 3, H', W')`` in [0, 1], edge-replicated to the stride
audio      float ``(C, T)`` @ r   ``(1, 1, T')``: **downmixed to mono**, resampled (soxr HQ) to the
                                  model's rate, zero-padded to the stride
video      uint8 ``(3, T, H, W)`` ``(1, 3, T', H', W')`` in [0, 1], edge-replicated to the stride
=========  =====================  ==================================================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import torch
from torch import Tensor

from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.header import Header
from vqcodec.media.audio import resample
from vqcodec.media.image import DEFAULT_MAX_PIXELS, from_tensor, to_tensor
from vqcodec.media.pad import Padding, crop, pad_to_multiple
from vqcodec.media.tiler import Tiling
from vqcodec.media.types import Audio, Image, Media, Video

MAX_AUDIO_SECONDS = 12 * 3600
"""Longest sound a file may hold (bounds the decoder's allocation: 12 h of 16 kHz float samples is 2.8 GB)."""
MAX_AUDIO_CHANNELS = 64
MAX_VIDEO_ELEMENTS = 1 << 31
"""Most samples (3 x frames x height x width) a video file may hold."""
MAX_RATE = 1 << 20
NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))


@dataclass(frozen=True)
class Prepared:
    """A coded tensor and the header fields that describe its media."""

    x: Tensor
    shape: tuple[int, ...]
    padding: tuple[int, ...]
    sample_rate: int = 0
    frame_rate: tuple[int, int] = (0, 1)


@dataclass(frozen=True)
class Geometry:
    """What a model tells the adapter: grid axes, channels, stride per axis, audio sample rate (0 if none)."""

    dims: int
    channels: int
    strides: tuple[int, ...]
    sample_rate: int = 0


def _check_padding(grid: Sequence[int], padding: Sequence[int], strides: Sequence[int]) -> None:
    """Each padded axis is the smallest multiple of its stride that holds the media (checked before allocating)."""
    if len(padding) != len(grid) or any(not 0 <= p < s or (n + p) % s for n, p, s in zip(grid, padding, strides)):
        raise CorruptStreamError("invalid header: padding does not match the media size and the model stride")


class ModalityAdapter(ABC):
    """Geometry of one modality (see the module docstring)."""

    name: ClassVar[str]
    dims: ClassVar[int]
    media_type: ClassVar[type]
    tiling: ClassVar[Tiling]
    """Core and margin of the kind's network tiles, in media samples."""
    prior_group: ClassVar[int] = 0
    """Slabs of prior tiles (along the first axis) per coding session, bounding the decoder's memory (0 = all)."""
    pixels: ClassVar[bool] = False
    """The coded tensor is uint8 pixels (standing for ``x / 255``) and the kind decodes to uint8 pixels, tile by
    tile (``vqcodec.media.pixels``), so media too long to hold as floats are never converted whole."""

    @abstractmethod
    def prepare(self, media: Media, geo: Geometry) -> Prepared:
        """The coded tensor and header fields of ``media``."""

    @abstractmethod
    def coded_grid(self, header: Header, geo: Geometry) -> tuple[int, ...]:
        """The unpadded grid a file codes, from its header (validated: no allocation yet)."""

    @abstractmethod
    def restore(self, x_hat: Tensor, header: Header, geo: Geometry) -> Media:
        """Media from the decoded, still padded tensor ``x_hat (1, C, *grid)``."""

    def plan(self, strides: Sequence[int]) -> Tiling:
        """The tiling plan for a model of ``strides``: the modality's core and margin rounded up to whole strides."""
        def whole(values: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(-(-n // st) * st for n, st in zip(values, strides))

        return Tiling(whole(self.tiling.core), whole(self.tiling.margin))

    def check_header(self, header: Header, geo: Geometry) -> tuple[int, ...]:
        """Validate the header's geometry against the model; returns the padded grid the kind must decode."""
        if header.modality != self.name:
            raise ModelMismatchError(f"this is a {header.modality} file, the model codes {self.name}")
        grid = self.coded_grid(header, geo)
        _check_padding(grid, header.padding, geo.strides)
        return tuple(n + p for n, p in zip(grid, header.padding))

    def units(self, header: Header) -> tuple[float, str]:
        """``(count, unit)`` that rates are per: pixels (bpp), seconds (kbps over 1000), pixels x frames."""
        return float(math.prod(header.shape[1:])), "bpp"

    def rate(self, bits: float, header: Header) -> tuple[float, str]:
        """Rate of ``bits`` for the file's media: bits per pixel, or kbps for audio."""
        count, unit = self.units(header)
        return bits / count, unit


class ImageAdapter(ModalityAdapter):
    name, dims, media_type = "image", 2, Image
    tiling = Tiling((512, 512), (64, 64))

    def prepare(self, media: Media, geo: Geometry) -> Prepared:
        assert isinstance(media, Image)
        _, h, w = media.pixels.shape
        if h * w > DEFAULT_MAX_PIXELS:
            raise ValueError(f"{w}x{h} pixels is above the {DEFAULT_MAX_PIXELS // 1_000_000} MP a .vq file may hold")
        x, padding = pad_to_multiple(to_tensor(media.pixels), geo.strides, mode="replicate")
        return Prepared(x, tuple(media.pixels.shape), padding.amounts)

    def coded_grid(self, header: Header, geo: Geometry) -> tuple[int, ...]:
        s = header.shape
        if len(s) != 3 or s[0] != 3:
            raise CorruptStreamError(f"invalid header: an image has shape (3, height, width), not {s}")
        if s[1] * s[2] > DEFAULT_MAX_PIXELS:
            raise CorruptStreamError(f"invalid header: {s[2]}x{s[1]} pixels is above the "
                                     f"{DEFAULT_MAX_PIXELS // 1_000_000} MP limit")
        return s[1], s[2]

    def restore(self, x_hat: Tensor, header: Header, geo: Geometry) -> Media:
        grid = header.shape[1:]
        padded = tuple(n + p for n, p in zip(grid, header.padding))
        return Image(from_tensor(crop(x_hat, Padding(original=tuple(grid), padded=padded))))


def exact_fps(fps: Fraction) -> Fraction:
    """``fps`` as a rational a header can hold (terms below 2**20); rates within 0.01 of an NTSC rate become it."""
    for ntsc in NTSC_RATES:
        if abs(fps - ntsc) < Fraction(1, 100):
            return ntsc
    exact = fps.limit_denominator(1001)
    if not 0 < exact.numerator < MAX_RATE:
        raise ValueError(f"frame rate {float(fps):g} fps is not one a .vq file can hold")
    return exact


def coded_samples(samples: int, rate: int, model_rate: int) -> int:
    """Samples of a ``samples``-long sound at ``rate`` once resampled to ``model_rate`` (rounded, at least 1)."""
    return max(1, (2 * samples * model_rate + rate) // (2 * rate))


class AudioAdapter(ModalityAdapter):
    name, dims, media_type = "audio", 1, Audio
    tiling = Tiling((480_000,), (16_000,))
    prior_group = 256

    def prepare(self, media: Media, geo: Geometry) -> Prepared:
        assert isinstance(media, Audio)
        if geo.sample_rate <= 0:
            raise ModelMismatchError("the model does not say its sample rate: it is not an audio model")
        channels, length = media.samples.shape
        if channels > MAX_AUDIO_CHANNELS or length > MAX_AUDIO_SECONDS * media.sample_rate:
            raise ValueError(f"a .vq file holds at most {MAX_AUDIO_CHANNELS} channels and "
                             f"{MAX_AUDIO_SECONDS // 3600} h of audio, not {channels} channels of "
                             f"{length / media.sample_rate:.0f} s")
        mono = media.samples.to(torch.float32).mean(dim=0, keepdim=True)
        coded = coded_samples(length, media.sample_rate, geo.sample_rate)
        mono = resample(mono, media.sample_rate, geo.sample_rate)[:, :coded]
        mono = torch.nn.functional.pad(mono, (0, coded - mono.shape[1]))
        stride = geo.strides[0]
        padded = -(-coded // stride) * stride
        x = torch.nn.functional.pad(mono, (0, padded - coded))[None]
        return Prepared(x, (channels, length), (padded - coded,), sample_rate=media.sample_rate)

    def coded_grid(self, header: Header, geo: Geometry) -> tuple[int, ...]:
        s, rate = header.shape, header.sample_rate
        if len(s) != 2 or not 1 <= s[0] <= MAX_AUDIO_CHANNELS or rate < 1:
            raise CorruptStreamError(f"invalid header: audio has shape (channels, samples) and a sample rate, not {s}")
        if s[1] > MAX_AUDIO_SECONDS * rate:
            raise CorruptStreamError(f"invalid header: {s[1] / rate:.0f} s of audio is above the limit")
        return (coded_samples(s[1], rate, geo.sample_rate),)

    def restore(self, x_hat: Tensor, header: Header, geo: Geometry) -> Media:
        coded = self.coded_grid(header, geo)[0]
        return Audio(x_hat[0, :, :coded].detach().to("cpu", torch.float32).clamp(-1.0, 1.0).contiguous(),
                     geo.sample_rate)

    def units(self, header: Header) -> tuple[float, str]:
        return 1000.0 * header.shape[1] / header.sample_rate, "kbps"

    @staticmethod
    def at_rate(audio: Audio, header: Header, rate: int | str) -> Audio:
        """The decoded sound resampled to ``rate`` Hz, or with ``"input"`` to the input's rate and exact length."""
        target = header.sample_rate if rate == "input" else int(rate)
        if not 1000 <= target <= MAX_RATE:
            raise ValueError(f"cannot resample to {rate!r} (1000..{MAX_RATE} Hz or 'input')")
        samples = resample(audio.samples, audio.sample_rate, target)
        if rate == "input":  # exactly the input's length at its own rate
            length = header.shape[1]
            samples = torch.nn.functional.pad(samples[:, :length], (0, max(0, length - samples.shape[1])))
        return Audio(samples.contiguous(), target)


class VideoAdapter(ModalityAdapter):
    name, dims, media_type = "video", 3, Video
    tiling = Tiling((8, 512, 512), (16, 64, 64))
    """8 frames a tile: a frame-wise network's batches of frames are the same in any tiling whose core is a
    multiple of ``FRAME_BATCH`` (4), so the tiles change no output; they bound the memory of a 720p clip."""
    prior_group = 1
    """One slab of prior tiles along time (a group of frames) per coding session, so decoding memory does not grow
    with the clip's length."""
    pixels = True

    def prepare(self, media: Media, geo: Geometry) -> Prepared:
        assert isinstance(media, Video)
        if media.frames.numel() > MAX_VIDEO_ELEMENTS:
            raise ValueError(f"a .vq file holds at most {MAX_VIDEO_ELEMENTS} video samples (3 x frames x height x "
                             f"width), not {media.frames.numel()}")
        fps = exact_fps(media.fps)
        x, padding = pad_to_multiple(media.frames[None], geo.strides, mode="replicate")  # uint8: see ``pixels``
        return Prepared(x, tuple(media.frames.shape), padding.amounts, frame_rate=(fps.numerator, fps.denominator))

    def coded_grid(self, header: Header, geo: Geometry) -> tuple[int, ...]:
        s = header.shape
        if len(s) != 4 or s[0] != 3 or header.frame_rate[0] < 1:
            raise CorruptStreamError(f"invalid header: a video has shape (3, frames, height, width), not {s}")
        if math.prod(s) > MAX_VIDEO_ELEMENTS:
            raise CorruptStreamError("invalid header: the video is above the size limit")
        return s[1], s[2], s[3]

    def restore(self, x_hat: Tensor, header: Header, geo: Geometry) -> Media:
        grid = header.shape[1:]
        padded = tuple(n + p for n, p in zip(grid, header.padding))
        frames = crop(x_hat, Padding(original=tuple(grid), padded=padded))[0]  # uint8: see ``pixels``
        return Video(frames.contiguous(), Fraction(*header.frame_rate))

    def units(self, header: Header) -> tuple[float, str]:
        return float(math.prod(header.shape[1:])), "bpp"


ADAPTERS: dict[str, ModalityAdapter] = {a.name: a for a in (ImageAdapter(), AudioAdapter(), VideoAdapter())}
"""Modality name -> its adapter."""
DIMS_TO_MODALITY: dict[int, str] = {a.dims: a.name for a in ADAPTERS.values()}


def adapter_for(media: Media) -> ModalityAdapter:
    """The adapter of ``media``'s type."""
    for a in ADAPTERS.values():
        if isinstance(media, a.media_type):
            return a
    raise TypeError(f"expected an Image, Audio or Video, got {type(media).__name__}")

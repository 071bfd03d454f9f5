"""What the functional API codes: an image, a sound or a video, each a tensor plus its geometry.

    Image(pixels)              uint8 RGB (3, H, W)
    Audio(samples, rate)       float32 (C, T) in [-1, 1] at ``sample_rate`` Hz
    Video(frames, fps, audio)  uint8 RGB (3, T, H, W) at ``fps`` frames per second (a Fraction), and its sound
                               track (an Audio) if it has one
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import Tensor


@dataclass(frozen=True)
class Image:
    """An 8-bit RGB image ``pixels (3, H, W)`` uint8."""

    pixels: Tensor

    def __post_init__(self) -> None:
        p = self.pixels
        if p.dtype != torch.uint8 or p.dim() != 3 or p.shape[0] != 3 or min(p.shape) < 1:
            raise ValueError(f"an Image holds uint8 (3, H, W) pixels, got {p.dtype} {tuple(p.shape)}")

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return int(self.pixels.shape[2]), int(self.pixels.shape[1])


@dataclass(frozen=True)
class Audio:
    """A sound: ``samples (C, T)`` float32 in [-1, 1] at ``sample_rate`` Hz."""

    samples: Tensor
    sample_rate: int

    def __post_init__(self) -> None:
        s = self.samples
        if not s.is_floating_point() or s.dim() != 2 or s.shape[0] < 1 or s.shape[1] < 1:
            raise ValueError(f"an Audio holds float (C, T) samples with C, T >= 1, got {s.dtype} {tuple(s.shape)}")
        if not 1 <= int(self.sample_rate) <= 1 << 20:
            raise ValueError(f"sample rate must be 1..{1 << 20} Hz, got {self.sample_rate}")

    @property
    def duration(self) -> float:
        """Seconds."""
        return int(self.samples.shape[1]) / self.sample_rate


@dataclass(frozen=True)
class Video:
    """A video: ``frames (3, T, H, W)`` uint8 RGB at ``fps`` frames per second, and its ``audio`` track (None: a
    silent video, or one whose track is not wanted)."""

    frames: Tensor
    fps: Fraction
    audio: Audio | None = None

    def __post_init__(self) -> None:
        f = self.frames
        if f.dtype != torch.uint8 or f.dim() != 4 or f.shape[0] != 3 or min(f.shape) < 1:
            raise ValueError(f"a Video holds uint8 (3, T, H, W) frames, got {f.dtype} {tuple(f.shape)}")
        if not isinstance(self.fps, Fraction) or self.fps <= 0:
            raise ValueError(f"fps must be a positive Fraction, got {self.fps!r}")
        if self.audio is not None and not isinstance(self.audio, Audio):
            raise ValueError(f"a Video's audio track is an Audio, got {type(self.audio).__name__}")

    @property
    def duration(self) -> float:
        """Seconds of video (frames / fps)."""
        return int(self.frames.shape[1]) / float(self.fps)


Media = Image | Audio | Video

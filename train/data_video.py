"""Video datasets: random clips of ``T`` frames with random crops, from videos, PNG-frame folders and still images.

A folder may hold video files (anything PyAV reads; raw ``.yuv`` with its size in the name, e.g.
``cars_320x240.yuv``), sub-folders of PNG frames, and still images. A still image becomes a clip by a pan: the crop
window moves by a random whole-pixel velocity per frame, so stills teach the temporal prior what motion looks like.
Sample ``i`` is a pure function of ``(seed, i)`` as for images.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from vqcodec.media import MediaError, load_video

from vqcodec.train.data import IMAGE_SUFFIXES, DataError, _fit, _load_rgb, epoch_permutation

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".h264", ".264", ".hevc", ".265", ".y4m",
                            ".yuv"})
MAX_FRAMES = 300
"""Frames read from the start of each video (the dataset keeps them decoded in memory)."""
MAX_PAN = 4
"""Largest pan velocity (pixels per frame) of a clip made from a still image."""


def list_videos(folder: str | Path) -> list[Path]:
    """Videos, PNG-frame folders and still images directly in ``folder``, sorted by name."""
    root = Path(folder)
    if not str(folder) or not root.is_dir():
        raise DataError(f"data folder not found: {folder or '(none given)'}")
    items = sorted(p for p in root.iterdir() if _is_item(p))
    if not items:
        raise DataError(f"no videos, PNG-frame folders or images in {root}")
    return items


def _is_item(p: Path) -> bool:
    if p.is_dir():
        return any(c.suffix.lower() == ".png" for c in p.iterdir())
    return p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES


def _is_still(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES


@lru_cache(maxsize=64)
def load_frames(path: Path) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames of a video or PNG folder (the first :data:`MAX_FRAMES`), cached."""
    size = None
    if path.suffix.lower() == ".yuv":
        found = re.search(r"(\d+)x(\d+)", path.name)
        if not found:
            raise DataError(f"{path}: a raw .yuv needs its size in the name (e.g. clip_352x288.yuv)")
        size = f"{found.group(1)}x{found.group(2)}"
    try:
        frames = load_video(path, max_frames=MAX_FRAMES, size=size).frames
    except MediaError as exc:
        raise DataError(str(exc)) from None
    return frames.permute(1, 2, 3, 0).numpy()


def _pad_frames(frames: np.ndarray, crop: int) -> np.ndarray:
    """Reflect-pad frames smaller than ``crop`` on either side."""
    h, w = frames.shape[1:3]
    if h >= crop and w >= crop:
        return frames
    return np.pad(frames, ((0, 0), (0, max(0, crop - h)), (0, max(0, crop - w)), (0, 0)), mode="symmetric")


def _clip_tensor(frames: np.ndarray) -> Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(3, T, H, W)`` float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float() / 255.0


def _pan(image: np.ndarray, frames: int, crop: int, rng: np.random.Generator) -> np.ndarray:
    """A clip ``(frames, crop, crop, 3)`` panning over ``image`` at a random velocity."""
    img = _fit(image, crop + 2 * MAX_PAN * frames)
    h, w = img.shape[:2]
    vy, vx = (int(v) for v in rng.integers(-MAX_PAN, MAX_PAN + 1, size=2))
    span_y, span_x = abs(vy) * (frames - 1), abs(vx) * (frames - 1)
    top = int(rng.integers(0, h - crop - span_y + 1)) + (span_y if vy < 0 else 0)
    left = int(rng.integers(0, w - crop - span_x + 1)) + (span_x if vx < 0 else 0)
    return np.stack([img[top + t * vy : top + t * vy + crop, left + t * vx : left + t * vx + crop]
                     for t in range(frames)])


class RandomClips(Dataset[Tensor]):
    """Sample id -> a random clip ``(3, frames, crop, crop)`` in [0, 1] (videos: random start, crop and flip)."""

    def __init__(self, files: list[Path], crop: int, frames: int, seed: int) -> None:
        self.files, self.crop, self.frames, self.seed = files, crop, frames, seed

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, sample_id: int) -> Tensor:
        epoch, pos = divmod(int(sample_id), len(self.files))
        path = self.files[int(epoch_permutation(self.seed, epoch, len(self.files))[pos])]
        rng = np.random.default_rng([self.seed, int(sample_id), 2])
        if _is_still(path):
            clip = _pan(_load_rgb(path), self.frames, self.crop, rng)
        else:
            video = _pad_frames(load_frames(path), self.crop)
            t, h, w = video.shape[:3]
            start = int(rng.integers(0, max(1, t - self.frames + 1)))
            index = np.minimum(np.arange(start, start + self.frames), t - 1)  # short videos repeat the last frame
            top, left = int(rng.integers(0, h - self.crop + 1)), int(rng.integers(0, w - self.crop + 1))
            clip = video[index, top : top + self.crop, left : left + self.crop]
        if rng.random() < 0.5:
            clip = clip[:, :, ::-1]
        return _clip_tensor(clip)


class CenterClips(Dataset[Tensor]):
    """Validation: the first ``frames`` frames of each item, centre-cropped to ``crop`` (stills: a still clip)."""

    def __init__(self, files: list[Path], crop: int, frames: int) -> None:
        self.files, self.crop, self.frames = files, crop, frames

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        path = self.files[i]
        if _is_still(path):
            video = np.repeat(_fit(_load_rgb(path), self.crop)[None], self.frames, axis=0)
        else:
            video = _pad_frames(load_frames(path), self.crop)
        index = np.minimum(np.arange(self.frames), video.shape[0] - 1)
        h, w = video.shape[1:3]
        top, left = (h - self.crop) // 2, (w - self.crop) // 2
        return _clip_tensor(video[index, top : top + self.crop, left : left + self.crop])

"""Which datasets a modality trains on: one entry per modality, used by the training loop.

``crop`` and ``val_crop`` are pixels for images and video and samples for audio; both are rounded down to a
multiple of the model stride (at least one stride) for validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset

from vqcodec.train.data import CenterCrops, RandomCrops, list_images
from vqcodec.train.data_audio import CenterSegments, RandomSegments, list_audio
from vqcodec.train.data_video import CenterClips, RandomClips, list_videos


@dataclass(frozen=True)
class ModalityData:
    """How a modality lists its training files and builds its training and validation datasets."""

    name: str
    dims: int
    list_files: Callable[[str], list[Path]]
    train: Callable[[list[Path], Any], Dataset[Tensor]]
    val: Callable[[list[Path], Any, int], Dataset[Tensor]]


def _val_length(cfg: Any, stride: int) -> int:
    return max(stride, cfg.val_crop // stride * stride)


DATA: dict[str, ModalityData] = {
    "image": ModalityData(
        "image", 2, list_images,
        lambda files, cfg: RandomCrops(files, cfg.crop, cfg.seed),
        lambda files, cfg, stride: CenterCrops(files, _val_length(cfg, stride))),
    "audio": ModalityData(
        "audio", 1, list_audio,
        lambda files, cfg: RandomSegments(files, cfg.crop, cfg.seed, cfg.sample_rate, tuple(cfg.gain_db)),
        lambda files, cfg, stride: CenterSegments(files, _val_length(cfg, stride), cfg.sample_rate)),
    "video": ModalityData(
        "video", 3, list_videos,
        lambda files, cfg: RandomClips(files, cfg.crop, cfg.clip_frames, cfg.seed),
        lambda files, cfg, stride: CenterClips(files, _val_length(cfg, stride), cfg.clip_frames)),
}

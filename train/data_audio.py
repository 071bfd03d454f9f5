"""Audio-folder datasets: random segments with gain augmentation for training, centre segments for validation.

Files are found recursively (speech corpora keep one folder per speaker), decoded with soundfile, averaged to mono
and resampled with soxr to the model's rate. Sample ``i`` is a pure function of ``(seed, i)`` as for images, so
resumed and distributed runs see the data order of an uninterrupted single-process run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import Tensor
from torch.utils.data import Dataset

from vqcodec.media.audio import resample

from vqcodec.train.data import DataError, epoch_permutation

AUDIO_SUFFIXES = frozenset({".flac", ".wav", ".ogg", ".mp3"})


def list_audio(folder: str | Path) -> list[Path]:
    """Audio files under ``folder`` (recursive, sorted by path); every header is checked so bad files fail early."""
    root = Path(folder)
    if not str(folder) or not root.is_dir():
        raise DataError(f"data folder not found: {folder or '(none given)'}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {root}")
    for p in files:
        try:
            sf.info(str(p))
        except (sf.SoundFileError, RuntimeError, OSError) as exc:
            raise DataError(f"unreadable audio file {p}: {' '.join(str(exc).split())}") from None
    return files


@lru_cache(maxsize=2048)
def load_mono(path: Path, sample_rate: int) -> np.ndarray:
    """``(T,)`` float32 samples of ``path``, averaged to mono and resampled to ``sample_rate`` (cached)."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise DataError(f"unreadable audio file {path}: {' '.join(str(exc).split())}") from None
    mono = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))[None]
    return resample(mono, int(rate), sample_rate)[0].numpy()


def _segment(wave: np.ndarray, length: int, start: int) -> np.ndarray:
    """``wave[start : start + length]``, zero-padded at the end when the file is shorter."""
    out = np.zeros(length, dtype=np.float32)
    piece = wave[start : start + length]
    out[: piece.shape[0]] = piece
    return out


class RandomSegments(Dataset[Tensor]):
    """Sample id -> a random ``length``-sample segment ``(1, length)`` at a random gain.

    The gain is drawn uniformly in ``gain_db`` (dB) and lowered where it would push the segment's peak above
    0.99, so augmentation never clips.
    """

    def __init__(self, files: list[Path], length: int, seed: int, sample_rate: int,
                 gain_db: tuple[float, float] = (-12.0, 6.0)) -> None:
        self.files, self.length, self.seed, self.rate, self.gain_db = files, length, seed, sample_rate, gain_db

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, sample_id: int) -> Tensor:
        epoch, pos = divmod(int(sample_id), len(self.files))
        wave = load_mono(self.files[int(epoch_permutation(self.seed, epoch, len(self.files))[pos])], self.rate)
        rng = np.random.default_rng([self.seed, int(sample_id), 2])
        start = int(rng.integers(0, max(1, wave.shape[0] - self.length + 1)))
        seg = _segment(wave, self.length, start)
        gain = 10.0 ** (rng.uniform(*self.gain_db) / 20.0)
        peak = float(np.abs(seg).max())
        if peak > 0:
            gain = min(gain, 0.99 / peak)
        return torch.from_numpy(seg * np.float32(gain))[None]


class CenterSegments(Dataset[Tensor]):
    """Validation: the centre ``length`` samples ``(1, length)`` of each file (shorter files are zero-padded)."""

    def __init__(self, files: list[Path], length: int, sample_rate: int) -> None:
        self.files, self.length, self.rate = files, length, sample_rate

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        wave = load_mono(self.files[i], self.rate)
        return torch.from_numpy(_segment(wave, self.length, max(0, (wave.shape[0] - self.length) // 2)))[None]

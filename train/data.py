"""Image-folder datasets (random crops + flips for training, centre crops for validation) and what every
modality's datasets share: the held-out split, the per-epoch permutation and the step sampler.

Sample ``i`` of a run is a pure function of ``(seed, i)``: the file comes from a seeded permutation of the folder
for epoch ``i // n`` and the crop/flip from ``default_rng([seed, i])``. A resumed or distributed run therefore sees
exactly the data order of an uninterrupted single-process run, whatever the number of DataLoader workers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset, Sampler

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm"})


class DataError(ValueError):
    """A training data folder is missing, empty or unreadable."""


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files in ``folder`` (non-recursive); each header is checked so bad files fail early."""
    root = Path(folder)
    if not str(folder) or not root.is_dir():
        raise DataError(f"data folder not found: {folder or '(none given)'}")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {root}")
    for p in files:
        try:
            with Image.open(p) as im:
                im.size  # noqa: B018 - header parse only
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"unreadable image {p}: {exc}") from None
    return files


def split_files(files: list[Path], every_nth: int) -> tuple[list[Path], list[Path]]:
    """Hold out every ``every_nth`` file (deterministic) as validation; the rest trains."""
    if every_nth < 2 or len(files) < 2:
        return files, files[:1]
    val = files[::every_nth]
    return [f for i, f in enumerate(files) if i % every_nth], val


@lru_cache(maxsize=8)
def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n`` files (a pure function of its arguments)."""
    return np.random.default_rng([seed, epoch, 1]).permutation(n)


def _load_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"unreadable image {path}: {exc}") from None


def _to_tensor(arr: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float() / 255.0


def _fit(arr: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an image smaller than ``size`` on either side."""
    h, w = arr.shape[:2]
    if h >= size and w >= size:
        return arr
    ph, pw = max(0, size - h), max(0, size - w)
    return np.pad(arr, ((0, ph), (0, pw), (0, 0)), mode="symmetric")


class RandomCrops(Dataset[Tensor]):
    """Sample id -> random ``crop x crop`` RGB crop ``(3, crop, crop)`` in [0, 1], randomly flipped."""

    def __init__(self, files: list[Path], crop: int, seed: int) -> None:
        self.files, self.crop, self.seed = files, crop, seed

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, sample_id: int) -> Tensor:
        epoch, pos = divmod(int(sample_id), len(self.files))
        arr = _fit(_load_rgb(self.files[int(epoch_permutation(self.seed, epoch, len(self.files))[pos])]), self.crop)
        rng = np.random.default_rng([self.seed, int(sample_id), 2])
        h, w = arr.shape[:2]
        top, left = int(rng.integers(0, h - self.crop + 1)), int(rng.integers(0, w - self.crop + 1))
        arr = arr[top : top + self.crop, left : left + self.crop]
        if rng.random() < 0.5:
            arr = arr[:, ::-1]
        return _to_tensor(arr)


class CenterCrops(Dataset[Tensor]):
    """Validation: the centre ``crop x crop`` of each file (smaller images are reflect-padded)."""

    def __init__(self, files: list[Path], crop: int) -> None:
        self.files, self.crop = files, crop

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        arr = _fit(_load_rgb(self.files[i]), self.crop)
        h, w = arr.shape[:2]
        top, left = (h - self.crop) // 2, (w - self.crop) // 2
        return _to_tensor(arr[top : top + self.crop, left : left + self.crop])


class StepBatches(Sampler[list[int]]):
    """Batches of sample ids for steps ``start .. steps-1`` of rank ``rank`` in a world of ``world``.

    Step ``s`` of rank ``r`` draws ids ``((s * world + r) * batch + j)`` for ``j < batch``.
    """

    def __init__(self, start: int, steps: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.steps, self.batch, self.rank, self.world = start, steps, batch, rank, world

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for s in range(self.start, self.steps):
            base = (s * self.world + self.rank) * self.batch
            yield list(range(base, base + self.batch))

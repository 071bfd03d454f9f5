"""Shared fixtures: seeds, bundled samples, the optional ../shared/data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "codec" / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def image_crops() -> torch.Tensor:
    """The two bundled 128x128 crops as ``(2, 3, 128, 128)`` floats in [0, 1]."""
    arrs = [np.asarray(Image.open(SAMPLES / f"crop_{c}.png").convert("RGB")) for c in "ab"]
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 255.0


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA

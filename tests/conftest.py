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


@pytest.fixture(scope="session")
def tiny_codec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised (untrained) image VQ codec exported like a real one: VQ-VAE + PixelCNN prior."""
    from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
    from vqcodec.config import PriorConfig
    from vqcodec.priors import build_prior
    from vqcodec.weights_io import save_weights

    torch.manual_seed(0)
    net = NetConfig(dims=2, in_channels=3, hidden=8, max_hidden=16, strides=(2, 2), num_res_blocks=1)
    vq = VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, num_stages=2, kmeans_init=False))
    prior_cfg = PriorConfig(dims=2, codebook_size=16, num_stages=2, channels=8, num_layers=2, tile_shape=(8, 8))
    path = tmp_path_factory.mktemp("weights") / "tiny-codec.safetensors"
    save_weights(path, "vqcodec", {"model": vq.to_dict(), "prior": prior_cfg.to_dict()},
                 {"model": VQVAE(vq).state_dict(), "prior": build_prior(prior_cfg).state_dict()})
    return path

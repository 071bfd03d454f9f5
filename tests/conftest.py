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


def make_tiny_codec(path: Path, dims: int = 2, kind: str = "vq", stages: int = 2,
                    frame_wise: bool = False, prior_kind: str = "pixelcnn") -> Path:
    """A randomly initialised (untrained) VQ codec exported like a real one: VQ-VAE + PixelCNN prior.

    ``dims`` 1 is an audio model (mono, 16 kHz, stride 16), 2 an image model (RGB, stride 4), 3 a video model (RGB,
    stride 2 along time, height and width; with ``frame_wise`` a 2-D stride-4 network per frame)."""
    from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
    from vqcodec.config import PriorConfig
    from vqcodec.priors import build_prior
    from vqcodec.weights_io import save_weights

    torch.manual_seed(0)
    channels, strides, tile = {1: (1, (4, 4), (16,)), 2: (3, (2, 2), (8, 8)), 3: (3, (2,), (2, 4, 4))}[dims]
    if frame_wise:
        strides = (2, 2)
    net = NetConfig(dims=dims, in_channels=channels, hidden=8, max_hidden=16, strides=strides, num_res_blocks=1,
                    frame_wise=frame_wise)
    vq = VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, num_stages=stages, kmeans_init=False),
                     sample_rate=16000 if dims == 1 else 0)
    prior_cfg = PriorConfig(dims=dims, codebook_size=16, num_stages=stages, channels=8, num_layers=2, tile_shape=tile)
    model = VQVAE(vq)
    prior = build_prior(prior_cfg)
    if prior_kind == "codeword":  # random codewords and predictors, so the context matters
        prior_cfg = PriorConfig(kind="codeword", dims=dims, codebook_size=16, num_stages=stages, channels=4,
                                kernel_size=3, tile_shape=tile)
        prior = build_prior(prior_cfg)
        with torch.no_grad():
            for stage in model.quantizer.core.stages:
                stage.codebook.embed.normal_()  # loading gives the prior these codewords
            prior.weight.normal_(std=0.2)
            if dims == 3:
                prior.copy_weight.fill_(2.0)
    save_weights(path, kind, {"model": vq.to_dict(), "prior": prior_cfg.to_dict()},
                 {"model": model.state_dict(), "prior": prior.state_dict()})
    return path


@pytest.fixture(scope="session")
def tiny_codec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random image VQ codec (see :func:`make_tiny_codec`)."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-codec.safetensors", 2)


@pytest.fixture(scope="session")
def tiny_audio_codec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 16 kHz audio VQ codec."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-audio.safetensors", 1)


@pytest.fixture(scope="session")
def tiny_audio_codeword_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 16 kHz audio VQ codec with a codeword-predictive prior."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-audio-cw.safetensors", 1,
                           prior_kind="codeword")


@pytest.fixture(scope="session")
def tiny_video_codec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random video VQ codec."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-video.safetensors", 3)


@pytest.fixture(scope="session")
def tiny_framewise_codec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random frame-wise video VQ codec (2-D networks per frame, 3-D prior)."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-framewise.safetensors", 3, frame_wise=True)


@pytest.fixture(scope="session")
def tiny_framewise_codeword_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random frame-wise video VQ codec with a codeword-predictive prior (spans of 2 latent frames)."""
    return make_tiny_codec(tmp_path_factory.mktemp("weights") / "tiny-framewise-cw.safetensors", 3, frame_wise=True,
                           prior_kind="codeword")

"""Named built-in models and loading by name or path, hash-checked, from local files only.

Built-in weights live in ``codec/weights/NAME.safetensors`` (package data) with a model card ``NAME.md``; the
table ``BUILTIN`` pins each file's sha256 prefix so a swapped or corrupted file is an error, not a silent change.
Model kinds (``vqvae``, ``gaussian``, ``vqcodec``) are built by functions registered with ``@register_kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from vqcodec.weights_io import WeightsError, WeightsFile, load_weights

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ModelInfo:
    """A built-in model: stable ``name``, ``modality``, pinned ``sha256`` prefix, description, quality levels."""

    name: str
    modality: str
    sha256: str
    description: str
    default_quality: int = 1
    rates: tuple[tuple[int, float, float, float], ...] = ()
    """Measured on Kodak with ``vqcodec bench``: ``(quality, bpp, PSNR dB, MS-SSIM)`` per quality level."""

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.safetensors"


BUILTIN: dict[str, ModelInfo] = {}

_KINDS: dict[str, Callable[[WeightsFile], nn.Module]] = {}


def register_kind(kind: str) -> Callable[[Callable[[WeightsFile], nn.Module]], Callable[[WeightsFile], nn.Module]]:
    """Decorator: ``@register_kind("vqvae")`` on a function building that kind of model from a weights file."""

    def deco(fn: Callable[[WeightsFile], nn.Module]) -> Callable[[WeightsFile], nn.Module]:
        _KINDS[kind] = fn
        return fn

    return deco


def register_builtin(info: ModelInfo) -> ModelInfo:
    BUILTIN[info.name] = info
    return info


def models() -> list[ModelInfo]:
    """The built-in models, by modality then quality."""
    return sorted(BUILTIN.values(), key=lambda m: (m.modality, m.name))


DEFAULT_IMAGE_MODEL = "vq-image"

register_builtin(ModelInfo(
    name="vq-image",
    modality="image",
    sha256="84dcca0c",
    description=("2-D VQ-VAE (3.0 M parameters, stride 8, 8-stage residual VQ, K=256) + gated PixelCNN prior; "
                 "quality = stages coded"),
    default_quality=3,
    rates=((1, 0.0811, 24.12, 0.8802), (2, 0.1806, 26.3, 0.9351), (3, 0.2833, 27.31, 0.9554),
           (4, 0.3885, 27.82, 0.9651), (5, 0.4949, 28.11, 0.9699), (6, 0.6051, 28.26, 0.9724),
           (7, 0.7186, 28.34, 0.9738), (8, 0.8341, 28.38, 0.9745)),
))


def default_image_model() -> ModelInfo:
    """The built-in image model ``vqcodec encode`` uses when no ``--model`` is given."""
    if DEFAULT_IMAGE_MODEL not in BUILTIN or not BUILTIN[DEFAULT_IMAGE_MODEL].path.is_file():
        raise WeightsError(f"the default model {DEFAULT_IMAGE_MODEL!r} is not installed; pass --model PATH")
    return BUILTIN[DEFAULT_IMAGE_MODEL]


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to code: the module (eval mode), its name as written in bitstreams, and its sha256."""

    name: str
    module: nn.Module
    sha256: str
    kind: str
    training: dict[str, Any]


def default_quality(model: LoadedModel) -> int:
    """The quality ``encode`` uses when none is given: the built-in's ``default_quality`` when ``model`` has a
    built-in's weights (by sha256, whatever its file is called), else the model's highest quality (all stages)."""
    for info in BUILTIN.values():
        if info.sha256 and model.sha256.startswith(info.sha256):
            return info.default_quality
    return int(getattr(model.module, "num_stages", 1))


def load_model(name_or_path: str | Path) -> LoadedModel:
    """Load a built-in model by name (hash-checked) or any exported ``.safetensors`` file by path."""
    text = str(name_or_path)
    if text in BUILTIN:
        info = BUILTIN[text]
        wf = load_weights(info.path, expect_sha256_prefix=info.sha256)
        name = info.name
    elif text.endswith(".safetensors") or Path(text).is_file():
        wf = load_weights(text)
        name = Path(text).stem
    else:
        known = ", ".join(sorted(BUILTIN)) or "none"
        raise WeightsError(f"unknown model {text!r} (built-in: {known}; or give a path to a .safetensors file)")
    if wf.kind not in _KINDS:
        raise WeightsError(f"{name}: model kind {wf.kind!r} is not supported by this vqcodec version")
    module = _KINDS[wf.kind](wf).eval()
    return LoadedModel(name=name, module=module, sha256=wf.sha256, kind=wf.kind, training=wf.training)


@register_kind("vqvae")
def _build_vqvae(wf: WeightsFile) -> nn.Module:
    from vqcodec.config import VQVAEConfig
    from vqcodec.models import VQVAE
    from vqcodec.weights_io import load_state

    model = VQVAE(VQVAEConfig.from_dict(wf.config["model"]))
    load_state(model, wf.tensors["model"], "vqvae")
    return model


@register_kind("gaussian")
def _build_gaussian(wf: WeightsFile) -> nn.Module:
    from vqcodec.config import GaussianVAEConfig
    from vqcodec.models import GaussianVAE
    from vqcodec.weights_io import load_state

    model = GaussianVAE(GaussianVAEConfig.from_dict(wf.config["model"]))
    load_state(model, wf.tensors["model"], "gaussian")
    return model


@register_kind("vqcodec")
def _build_vqcodec(wf: WeightsFile) -> nn.Module:
    from vqcodec.config import PriorConfig, VQVAEConfig
    from vqcodec.models import VQVAE
    from vqcodec.models.vq_codec import VQCodec
    from vqcodec.priors import build_prior
    from vqcodec.weights_io import load_state

    vqvae = VQVAE(VQVAEConfig.from_dict(wf.config["model"]))
    load_state(vqvae, wf.tensors["model"], "vqcodec model")
    prior = build_prior(PriorConfig.from_dict(wf.config["prior"]))
    load_state(prior, wf.tensors["prior"], "vqcodec prior")
    return VQCodec(vqvae, prior)

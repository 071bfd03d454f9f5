"""Named built-in models and loading by name or path, hash-checked, from local files only.

Built-in weights live in ``codec/weights/NAME.safetensors`` (package data) with a model card ``NAME.md``; each
:class:`ModelInfo` pins its file's sha256 prefix (a swapped or corrupted file is an error, not a silent change) and
carries the rates and quality measured with ``vqcodec bench`` at every quality level. Which class builds a model
comes from its weights file's kind, through the kind registry (``vqcodec.kinds``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from torch import nn

from vqcodec.kinds import kind_spec
from vqcodec.weights_io import WeightsError, load_weights

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class QualityMeasure:
    """What one quality level of a built-in model measured with ``vqcodec bench`` (means over ``dataset``)."""

    quality: int
    rate: float
    rate_unit: str
    metrics: dict[str, float] = field(default_factory=dict)
    dataset: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """A built-in model: stable ``name``, ``modality``, ``kind``, pinned ``sha256`` prefix, description, and the
    measured ``qualities``."""

    name: str
    modality: str
    kind: str
    sha256: str
    description: str
    default_quality: int = 1
    qualities: tuple[QualityMeasure, ...] = ()

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.safetensors"

    def to_dict(self) -> dict[str, Any]:
        """``name, modality, kind, default_quality, description, qualities: [{quality, rate, rate_unit, metrics,
        dataset}]`` (what ``vqcodec models --json`` prints)."""
        return {"name": self.name, "modality": self.modality, "kind": self.kind, "sha256": self.sha256,
                "default_quality": self.default_quality, "description": self.description,
                "qualities": [asdict(q) for q in self.qualities]}


BUILTIN: dict[str, ModelInfo] = {}
DEFAULT_MODELS: dict[str, str] = {}
"""Modality -> the built-in model ``vqcodec encode`` uses for it when no ``--model`` is given."""


def register_builtin(info: ModelInfo, default: bool = False) -> ModelInfo:
    BUILTIN[info.name] = info
    if default:
        DEFAULT_MODELS[info.modality] = info.name
    return info


def models() -> list[ModelInfo]:
    """The built-in models, by modality then name."""
    return sorted(BUILTIN.values(), key=lambda m: (m.modality, m.name))


def _kodak(q: int, bpp: float, psnr: float, ms_ssim: float) -> QualityMeasure:
    return QualityMeasure(q, bpp, "bpp", {"psnr": psnr, "ms_ssim": ms_ssim}, "kodak")


register_builtin(ModelInfo(
    name="vq-image",
    modality="image",
    kind="vq",
    sha256="84dcca0c",
    description=("2-D VQ-VAE (3.0 M parameters, stride 8, 8-stage residual VQ, K=256) + gated PixelCNN prior; "
                 "quality = stages coded"),
    default_quality=3,
    qualities=(_kodak(1, 0.0811, 24.12, 0.8802), _kodak(2, 0.1806, 26.3, 0.9351), _kodak(3, 0.2833, 27.31, 0.9554),
               _kodak(4, 0.3885, 27.82, 0.9651), _kodak(5, 0.4949, 28.11, 0.9699), _kodak(6, 0.6051, 28.26, 0.9724),
               _kodak(7, 0.7186, 28.34, 0.9738), _kodak(8, 0.8341, 28.38, 0.9745)),
), default=True)


register_builtin(ModelInfo(
    name="gauss-image",
    modality="image",
    kind="gauss",
    sha256="463ff173",
    description=("mean-scale hyperprior image VAE (3.6 M parameters; vq-image's transforms, 64-channel continuous "
                 "latent at stride 8, hyper-latent at stride 32), discretized-Gaussian range coding; quality = gain"),
    default_quality=7,
    qualities=(_kodak(1, 0.1503, 23.24, 0.7987), _kodak(2, 0.1879, 24.63, 0.844), _kodak(3, 0.2432, 25.91, 0.884),
               _kodak(4, 0.3186, 27.04, 0.9144), _kodak(5, 0.4021, 27.87, 0.9348), _kodak(6, 0.5006, 28.48, 0.9487),
               _kodak(7, 0.6213, 28.91, 0.9586), _kodak(8, 0.7636, 29.21, 0.9648), _kodak(9, 0.9357, 29.37, 0.9686),
               _kodak(10, 1.1595, 29.47, 0.9708)),
))


def _video(q: int, bpp: float, psnr_y: float, ms_ssim: float) -> QualityMeasure:
    return QualityMeasure(q, bpp, "bpp", {"psnr_y": psnr_y, "ms_ssim": ms_ssim}, "video-bench")


register_builtin(ModelInfo(
    name="vq-video",
    modality="video",
    kind="vq",
    sha256="3d53d4e5",
    description=("video: vq-image's VQ-VAE on every frame (stride 1 in time, 8 in space) + a codeword-predictive "
                 "prior (each stage's residual predicted from the previous latent frame and the lower stages, the "
                 "previous frame's index favoured), frame by frame; the encoder chooses the indices for rate and "
                 "distortion together; quality = stages coded"),
    default_quality=3,
    qualities=(_video(1, 0.0397, 24.56, 0.8843), _video(2, 0.0959, 27.04, 0.9410), _video(3, 0.1611, 28.47, 0.9605),
               _video(4, 0.2367, 29.33, 0.9705), _video(5, 0.3147, 29.82, 0.9754), _video(6, 0.3926, 30.09, 0.9782),
               _video(7, 0.4785, 30.23, 0.9800), _video(8, 0.5542, 30.3, 0.9808)),
), default=True)


def _speech(q: int, kbps: float, pesq: float, stoi: float) -> QualityMeasure:
    return QualityMeasure(q, kbps, "kbps", {"pesq": pesq, "stoi": stoi}, "speech-test")


register_builtin(ModelInfo(
    name="vq-speech",
    modality="audio",
    kind="vq",
    sha256="776d9e15",
    description=("16 kHz speech: 1-D VQ-VAE over log-mel + pitch with a harmonic-plus-noise synthesizer (50 Hz "
                 "latent, 16-stage residual VQ, K=1024, decoding postfilter) + a codeword-predictive prior "
                 "(each stage's residual predicted from the codewords around it); quality = stages coded"),
    default_quality=6,
    qualities=(_speech(1, 0.466, 1.341, 0.741), _speech(2, 0.862, 1.615, 0.815), _speech(3, 1.258, 1.853, 0.846),
               _speech(4, 1.67, 1.975, 0.86), _speech(5, 2.098, 2.051, 0.868), _speech(6, 2.544, 2.093, 0.872),
               _speech(7, 3.002, 2.121, 0.875), _speech(8, 3.47, 2.139, 0.877), _speech(9, 3.971, 2.161, 0.878),
               _speech(10, 4.471, 2.15, 0.878), _speech(11, 4.973, 2.161, 0.878), _speech(12, 5.475, 2.16, 0.878),
               _speech(13, 5.975, 2.135, 0.879), _speech(14, 6.476, 2.175, 0.879), _speech(15, 6.977, 2.16, 0.879),
               _speech(16, 7.478, 2.162, 0.879)),
), default=True)


def default_model(modality: str) -> ModelInfo:
    """The built-in model of ``modality`` that ``vqcodec encode`` uses when no ``--model`` is given."""
    name = DEFAULT_MODELS.get(modality)
    if name is None:
        raise WeightsError(f"this vqcodec has no built-in {modality} model yet; pass --model PATH")
    if not BUILTIN[name].path.is_file():
        raise WeightsError(f"the default {modality} model {name!r} is not installed; pass --model PATH")
    return BUILTIN[name]


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to code: the module (eval mode), its name as written in bitstreams, its kind and sha256."""

    name: str
    module: nn.Module
    sha256: str
    kind: str
    training: dict[str, Any]

    @property
    def builtin(self) -> ModelInfo | None:
        """The built-in model whose weights these are (by sha256, whatever the file is called), if any."""
        for info in BUILTIN.values():
            if info.sha256 and self.sha256.startswith(info.sha256):
                return info
        return None


def default_quality(model: LoadedModel) -> int:
    """The quality ``encode`` uses when none is given: the built-in's ``default_quality`` when ``model`` has a
    built-in's weights, else the model's highest quality."""
    info = model.builtin
    if info is not None:
        return info.default_quality
    levels = getattr(model.module, "qualities", ())
    return int(levels[-1].quality) if levels else 1


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
    try:
        spec = kind_spec(wf.kind)
    except KeyError as exc:
        raise WeightsError(f"{name}: {exc.args[0]}") from None
    if not (0 < len(name) <= 64 and name.isascii() and name.isprintable()):
        raise WeightsError(f"{name!r}: a model's file name (without .safetensors) is written into every .vq file, so "
                           "it must be 1-64 printable ASCII characters; rename the file")
    try:
        module = spec.build(wf.config, wf.tensors).eval()
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        if isinstance(exc, WeightsError):
            raise
        raise WeightsError(f"{name}: the weights file's config or tensors do not describe a {spec.name} model "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    return LoadedModel(name=name, module=module, sha256=wf.sha256, kind=spec.name, training=wf.training)


@lru_cache(maxsize=4)
def builtin_model(name: str) -> LoadedModel:
    """A built-in model loaded (read, hash-checked, built) once per process: a batch decode of many files names the
    same model in every header. Coding never changes the module, so sharing it is safe."""
    return load_model(name)

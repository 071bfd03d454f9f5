"""vqcodec: neural compression with VQ-VAEs, PixelCNN priors and range coding."""

from vqcodec.config import GaussianVAEConfig, NetConfig, VQConfig, VQVAEConfig
from vqcodec.distributions import kl_standard_normal, reparameterize
from vqcodec.models import VQVAE, GaussianVAE, GaussianVAEOutput, VQVAEOutput
from vqcodec.registry import LoadedModel, ModelInfo, load_model
from vqcodec.registry import models as list_models
from vqcodec.quantizers import (
    QuantizerOutput,
    ResidualVQ,
    ResidualVQ1d,
    ResidualVQ2d,
    ResidualVQ3d,
    VectorQuantizer,
    VectorQuantizer1d,
    VectorQuantizer2d,
    VectorQuantizer3d,
)

__version__ = "0.1.0"

__all__ = [
    "GaussianVAE",
    "LoadedModel",
    "ModelInfo",
    "GaussianVAEConfig",
    "GaussianVAEOutput",
    "NetConfig",
    "QuantizerOutput",
    "ResidualVQ",
    "ResidualVQ1d",
    "ResidualVQ2d",
    "ResidualVQ3d",
    "VQConfig",
    "VQVAE",
    "VQVAEConfig",
    "VQVAEOutput",
    "VectorQuantizer",
    "VectorQuantizer1d",
    "VectorQuantizer2d",
    "VectorQuantizer3d",
    "__version__",
    "kl_standard_normal",
    "list_models",
    "load_model",
    "reparameterize",
]

"""Model kinds: the codec contract and one module per kind (``vq``; the textbook ``vae``)."""

from vqcodec.models.base import CodecModel, Encoded, QualityLevel
from vqcodec.models.gauss import GaussCodec, GaussConfig
from vqcodec.models.gaussian_vae import GaussianVAE, GaussianVAEOutput, reconstruction_loss
from vqcodec.models.vq import VQCodec
from vqcodec.models.vqvae import VQVAE, VQVAEOutput

__all__ = [
    "CodecModel",
    "Encoded",
    "GaussCodec",
    "GaussConfig",
    "GaussianVAE",
    "GaussianVAEOutput",
    "QualityLevel",
    "VQCodec",
    "VQVAE",
    "VQVAEOutput",
    "reconstruction_loss",
]

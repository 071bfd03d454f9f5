"""Codec models: the VQ-VAE and the Gaussian VAE."""

from vqcodec.models.gaussian_vae import GaussianVAE, GaussianVAEOutput, reconstruction_loss
from vqcodec.models.vqvae import VQVAE, VQVAEOutput

__all__ = ["GaussianVAE", "GaussianVAEOutput", "VQVAE", "VQVAEOutput", "reconstruction_loss"]

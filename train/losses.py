"""Reconstruction losses per modality: images (MSE/L1, optional MS-SSIM term) and audio (spectral + waveform).

Audio follows the non-adversarial part of the usual neural audio codec objective (Zeghidour et al., SoundStream,
2021; Kumar et al., DAC, 2023): a multi-scale log-mel L1 over several window sizes, a multi-resolution STFT loss
(log-magnitude L1 + spectral convergence; Yamamoto et al., Parallel WaveGAN, 2020) and a waveform L1.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from vqcodec.metrics import ms_ssim_tensor, psnr, si_sdr
from vqcodec.spectral import log_mel_distance, mel_filterbank, stft_magnitude

MEL_SCALES: tuple[tuple[int, int], ...] = ((64, 10), (128, 20), (256, 40), (512, 80), (1024, 160), (2048, 320))
"""``(window, mel bins)`` of the multi-scale mel loss (DAC's scales from 64 samples up)."""
STFT_SCALES: tuple[int, ...] = (512, 1024, 2048)
"""FFT sizes of the multi-resolution STFT loss."""


@dataclass(frozen=True)
class AudioLossWeights:
    """Weights of the audio reconstruction terms (the total is their weighted sum)."""

    mel: float = 1.0
    stft: float = 1.0
    waveform: float = 1.0


def ms_ssim_term(x_hat: Tensor, x: Tensor, weight: float) -> Tensor:
    """``weight * (1 - MS-SSIM(x_hat, x))`` for ``(B, C, H, W)`` in [0, 1]; zero when ``weight`` is 0."""
    if weight <= 0:
        return x_hat.new_zeros(())
    try:
        return weight * (1.0 - ms_ssim_tensor(x_hat.clamp(0, 1), x))
    except ImportError:
        raise ValueError("ms_ssim_weight > 0 needs pytorch-msssim (pip install 'vqcodec[bench]')") from None


def image_distortion(x_hat: Tensor, x: Tensor, kind: str = "l2", ms_ssim_weight: float = 0.0) -> Tensor:
    """Image reconstruction loss: mean squared (``l2``) or absolute (``l1``) error, plus
    ``ms_ssim_weight * (1 - MS-SSIM)`` when the weight is positive (needs ``pytorch-msssim``, sides > 160 px)."""
    loss = F.mse_loss(x_hat, x) if kind == "l2" else F.l1_loss(x_hat, x)
    return loss + ms_ssim_term(x_hat, x, ms_ssim_weight)


def mel_loss(x_hat: Tensor, x: Tensor, sample_rate: int) -> Tensor:
    """Mean over :data:`MEL_SCALES` of the L1 distance of ``log10`` mel magnitudes (floor 1e-5); ``(B, 1, T)``."""
    total = x.new_zeros(())
    for n_fft, n_mels in MEL_SCALES:
        fb = mel_filterbank(n_fft, n_mels, sample_rate).to(x.device, x.dtype)
        a = torch.matmul(fb, stft_magnitude(x_hat, n_fft)).clamp_min(1e-5).log10()
        b = torch.matmul(fb, stft_magnitude(x, n_fft)).clamp_min(1e-5).log10()
        total = total + F.l1_loss(a, b)
    return total / len(MEL_SCALES)


def stft_loss(x_hat: Tensor, x: Tensor) -> Tensor:
    """Multi-resolution STFT loss over :data:`STFT_SCALES`: spectral convergence + ``log10``-magnitude L1 (floor
    1e-5, as the mel loss, so that near-silence does not dominate), averaged over the scales."""
    total = x.new_zeros(())
    for n_fft in STFT_SCALES:
        a, b = stft_magnitude(x_hat, n_fft), stft_magnitude(x, n_fft)
        convergence = torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp_min(1e-5)
        total = total + convergence + F.l1_loss(a.clamp_min(1e-5).log10(), b.clamp_min(1e-5).log10())
    return total / len(STFT_SCALES)


def audio_distortion(x_hat: Tensor, x: Tensor, sample_rate: int,
                     weights: AudioLossWeights = AudioLossWeights()) -> tuple[Tensor, dict[str, float]]:
    """The weighted audio reconstruction loss of ``x_hat`` vs ``x`` (both ``(B, 1, T)``) and its terms."""
    mel, spec, wave = mel_loss(x_hat, x, sample_rate), stft_loss(x_hat, x), F.l1_loss(x_hat, x)
    loss = weights.mel * mel + weights.stft * spec + weights.waveform * wave
    return loss, {"mel": float(mel.detach()), "stft": float(spec.detach()), "wave_l1": float(wave.detach())}


class Distortion(ABC):
    """The reconstruction loss of a modality and the per-item metrics its validation reports."""

    @abstractmethod
    def __call__(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Differentiable loss of a batch ``x_hat`` vs ``x (B, C, *grid)`` and its terms as floats."""

    @abstractmethod
    def item_metrics(self, x_hat: Tensor, x: Tensor) -> dict[str, list[float]]:
        """Per-item validation metrics (higher is better for every one) of a batch."""


@dataclass(frozen=True)
class PixelDistortion(Distortion):
    """Images and video in [0, 1]: MSE or L1 (+ an MS-SSIM term for images); validation PSNR."""

    kind: str = "l2"
    ms_ssim_weight: float = 0.0

    def __call__(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        loss = image_distortion(x_hat, x, self.kind, self.ms_ssim_weight)
        mse = float(F.mse_loss(x_hat.detach(), x))
        return loss, {"mse": mse, "psnr": 10.0 * math.log10(1.0 / max(mse, 1e-12))}

    def item_metrics(self, x_hat: Tensor, x: Tensor) -> dict[str, list[float]]:
        return {"psnr": [psnr(x_hat[i].clamp(0, 1), x[i]) for i in range(x.shape[0])]}


@dataclass(frozen=True)
class AudioDistortion(Distortion):
    """Audio in [-1, 1]: :func:`audio_distortion`; validation SI-SDR (dB) and negative log-mel distance."""

    sample_rate: int = 16000
    weights: AudioLossWeights = field(default_factory=AudioLossWeights)

    def __call__(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        return audio_distortion(x_hat, x, self.sample_rate, self.weights)

    def item_metrics(self, x_hat: Tensor, x: Tensor) -> dict[str, list[float]]:
        pairs = [(x[i, 0], x_hat[i, 0].clamp(-1, 1)) for i in range(x.shape[0])]
        out = {"si_sdr": [si_sdr(ref, test) for ref, test in pairs],
               "neg_mel_dist": [-log_mel_distance(ref, test, self.sample_rate) for ref, test in pairs]}
        scores = [_pesq(ref, test, self.sample_rate) for ref, test in pairs]
        if all(v is not None for v in scores):
            out["pesq"] = scores  # type: ignore[assignment]
        return out


def _pesq(ref: Tensor, test: Tensor, rate: int) -> float | None:
    """Wideband PESQ (ITU-T P.862.2) of a 16 kHz pair, or None without the ``pesq`` package or speech in ``ref``."""
    if rate != 16000:
        return None
    try:
        from pesq import pesq
    except ImportError:
        return None
    try:
        return float(pesq(16000, ref.double().numpy(), test.double().numpy(), "wb"))
    except Exception:  # noqa: BLE001 - pesq raises its own types for silent or too short signals
        return None

"""Short-time spectra of audio: STFT magnitudes and mel spectrograms (shared by training losses and the bench).

Written on ``torch.stft`` (torchaudio is not a dependency). The mel scale is the HTK formula
``mel = 2595 log10(1 + f / 700)`` with triangular filters normalised to unit peak (Davis & Mermelstein, 1980).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor


def stft_magnitude(x: Tensor, n_fft: int, hop: int | None = None) -> Tensor:
    """``|STFT|`` of ``x (B, T)`` or ``(B, 1, T)`` with a Hann window of ``n_fft`` and hop ``n_fft // 4``.

    Returns:
        ``(B, n_fft // 2 + 1, frames)`` magnitudes (the signal is reflect-padded by ``n_fft // 2``; a signal shorter
        than that is zero-padded first).
    """
    if x.dim() == 3:
        x = x.squeeze(1)
    if x.shape[-1] <= n_fft // 2:
        x = torch.nn.functional.pad(x, (0, n_fft // 2 + 1 - x.shape[-1]))
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop_length=hop or max(1, n_fft // 4), window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    return spec.abs()


def _hz_to_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def _mel_to_hz(m: float) -> float:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@lru_cache(maxsize=32)
def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int) -> Tensor:
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)`` from 0 Hz to ``sample_rate / 2`` (unit peaks)."""
    bins = n_fft // 2 + 1
    freqs = torch.linspace(0.0, sample_rate / 2.0, bins, dtype=torch.float64)
    top = _hz_to_mel(sample_rate / 2.0)
    edges = torch.tensor([_mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)], dtype=torch.float64)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo).clamp_min(1e-9)
    down = (hi - freqs[None]) / (hi - mid).clamp_min(1e-9)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


def mel_spectrogram(x: Tensor, sample_rate: int, n_fft: int, n_mels: int, hop: int | None = None) -> Tensor:
    """Mel magnitude spectrogram ``(B, n_mels, frames)`` of ``x (B, T)`` or ``(B, 1, T)``."""
    mag = stft_magnitude(x, n_fft, hop)
    fb = mel_filterbank(n_fft, n_mels, sample_rate).to(mag.device, mag.dtype)
    return torch.matmul(fb, mag)


def log_mel_distance(ref: Tensor, test: Tensor, sample_rate: int = 16000, n_fft: int = 1024,
                     n_mels: int = 80) -> float:
    """Mean absolute difference of ``log10`` mel spectrograms (floor 1e-5) of two equal-length signals ``(T,)``."""
    if ref.shape != test.shape:
        raise ValueError(f"log_mel_distance: shapes differ: {tuple(ref.shape)} vs {tuple(test.shape)}")
    a = mel_spectrogram(ref.reshape(1, -1).double(), sample_rate, n_fft, n_mels)
    b = mel_spectrogram(test.reshape(1, -1).double(), sample_rate, n_fft, n_mels)
    return float((a.clamp_min(1e-5).log10() - b.clamp_min(1e-5).log10()).abs().mean())

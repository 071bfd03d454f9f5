"""STFT / mel helpers and the SI-SDR metric."""

from __future__ import annotations

import math

import pytest
import torch

from vqcodec.metrics import si_sdr
from vqcodec.spectral import log_mel_distance, mel_filterbank, mel_spectrogram, stft_magnitude


def test_stft_of_a_sine_peaks_at_its_bin() -> None:
    t = torch.arange(16000) / 16000.0
    mag = stft_magnitude(torch.sin(2 * math.pi * 1000 * t)[None], 512)
    assert mag.shape[:2] == (1, 257)
    assert int(mag[0, :, 10].argmax()) == round(1000 / (16000 / 512))


def test_mel_filters_are_triangles_that_cover_the_band() -> None:
    fb = mel_filterbank(1024, 40, 16000)
    assert fb.shape == (40, 513) and float(fb.min()) >= 0 and float(fb.max()) <= 1.0 + 1e-6
    peaks = fb.argmax(dim=1)
    assert torch.all(peaks[1:] > peaks[:-1]), "centres increase with the filter index"
    assert torch.all(fb[:, 5:-5].sum(0) > 0), "every inner frequency bin is covered"
    assert mel_spectrogram(torch.zeros(1, 4000), 16000, 1024, 40).shape[1] == 40


def test_si_sdr_is_scale_invariant_and_known_for_a_simple_case() -> None:
    ref = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(8000, generator=torch.Generator().manual_seed(1))
    noise = noise - (noise @ (ref - ref.mean())) / ((ref - ref.mean()) @ (ref - ref.mean())) * (ref - ref.mean())
    noise = noise - noise.mean()
    scale = float((ref - ref.mean()).norm() / noise.norm()) / math.sqrt(10.0)  # 10 dB below the reference
    test = ref + scale * noise
    assert si_sdr(ref, test) == pytest.approx(10.0, abs=1e-4)  # float32 construction
    assert si_sdr(ref, 3.0 * test) == pytest.approx(si_sdr(ref, test), abs=1e-6)
    assert si_sdr(ref, ref) == math.inf and si_sdr(torch.zeros(10), ref[:10]) == -math.inf
    with pytest.raises(ValueError):
        si_sdr(ref, ref[:-1])


def test_log_mel_distance_is_zero_for_equal_signals_and_grows_with_noise() -> None:
    x = torch.randn(16000) * 0.1
    assert log_mel_distance(x, x) == 0.0
    assert 0 < log_mel_distance(x, x + 0.01 * torch.randn(16000)) < log_mel_distance(x, x + 0.1 * torch.randn(16000))

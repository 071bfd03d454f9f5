"""Audio: FLAC/WAV round trips, resampling keeps a tone's frequency, mono downmix, clear errors."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vqcodec.fileio import WriteError
from vqcodec.media import MediaError
from vqcodec.media.audio import encode_audio, load_audio, resample, save_audio


def _sine(freq: float, rate: int, seconds: float = 0.5, channels: int = 1, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    return (amp * torch.sin(2 * math.pi * freq * t)).to(torch.float32).repeat(channels, 1)


def _peak_hz(x: torch.Tensor, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.numpy() * np.hanning(x.shape[-1])))
    return float(np.argmax(spectrum)) * rate / x.shape[-1]


@pytest.mark.parametrize("suffix", [".flac", ".wav"])
def test_round_trip_keeps_samples(tmp_path: Path, suffix: str) -> None:
    x = _sine(440, 16000, channels=2)
    save_audio(x, tmp_path / f"a{suffix}", 16000)
    y, rate = load_audio(tmp_path / f"a{suffix}", sample_rate=None)
    assert rate == 16000 and y.shape == x.shape and y.dtype == torch.float32
    assert (y - x).abs().max() <= 1.0 / 32767 + 1e-6  # 16-bit PCM


def test_resampling_48k_to_16k_keeps_a_1khz_tone(tmp_path: Path) -> None:
    save_audio(_sine(1000, 48000), tmp_path / "tone.flac", 48000)
    y, rate = load_audio(tmp_path / "tone.flac")  # default 16 kHz
    assert rate == 48000 and y.shape == (1, 8000)
    assert abs(_peak_hz(y[0], 16000) - 1000) <= 2
    assert y.abs().max() <= 1.0


def test_mono_downmix_and_clipping() -> None:
    x = torch.stack([torch.full((100,), 0.5), torch.full((100,), -0.1)])
    y, _ = load_audio(encode_audio(x, 8000, "WAV"), sample_rate=None, mono=True)
    assert y.shape == (1, 100) and torch.allclose(y, torch.full((1, 100), 0.2), atol=1e-4)
    loud = resample(torch.full((1, 400), 1.0), 16000, 44100)
    assert loud.abs().max() <= 1.0 and loud.shape == (1, 1103)


def test_bad_audio_inputs(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("no audio here")
    (tmp_path / "empty.flac").write_bytes(b"")
    for source, words in [(tmp_path / "text.wav", "not a readable audio"), (tmp_path / "empty.flac", "empty"),
                          (tmp_path / "missing.wav", "no such file"), (tmp_path, "directory"),
                          (b"RIFF1234WAVE", "not a readable audio")]:
        with pytest.raises(MediaError, match=words) as info:
            load_audio(source)
        assert "\n" not in str(info.value)
    with pytest.raises(MediaError, match="suffix"):
        save_audio(_sine(1, 100), tmp_path / "a.mp3", 100)
    with pytest.raises(WriteError):
        save_audio(_sine(1, 100), tmp_path / "no" / "a.flac", 100)
    with pytest.raises(ValueError):
        encode_audio(torch.zeros(10), 100)
    assert load_audio(io.BytesIO(encode_audio(_sine(1, 100), 100)), None).original_rate == 100

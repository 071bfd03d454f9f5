"""The speech modality of the bench: 16 kHz mono utterances, rate in kbps, PESQ-WB / STOI / SI-SDR / log-mel.

Every decoded utterance is aligned to its reference before scoring: codecs delay their output (Opus's look-ahead,
MP3's encoder padding, resampling filters), so that delay, found within ``MAX_LAG`` samples from the two signals'
log-spectral envelopes and refined on the waveforms (:func:`align`), is removed and both signals are cut to their
common length.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from vqcodec.bench.modality import Metric, Modality
from vqcodec.metrics import si_sdr
from vqcodec.spectral import log_mel_distance

RATE = 16000
MAX_LAG = 2400
"""Largest codec delay searched when aligning (150 ms)."""
ENVELOPE_FFT = 256
ENVELOPE_HOP = 16
"""Frame length and hop (samples) of the log-spectral envelopes that find a codec's delay to within 1 ms."""
AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".mp3")


def align(ref: np.ndarray, rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ref, rec)`` with ``rec``'s delay (or advance) of at most ``MAX_LAG`` samples removed, cut to one length.

    The delay is found in two steps: the peak of the cross-correlation of the two log-spectral envelopes
    (:func:`_envelope`, one frame per ``ENVELOPE_HOP`` samples), then the waveform cross-correlation's peak within
    one envelope hop of it. The waveforms alone are not enough: a parametric codec (Codec2, ``vq-speech``) makes
    its own phase, so its waveform correlates with the input's at no particular lag and the plain waveform peak
    lands anywhere within ``MAX_LAG``; the envelopes agree at the true delay whatever the phase. A waveform codec
    (Opus, MP3) still gets its sample-exact delay from the second step.
    """
    n = min(len(ref), len(rec))
    if n < ENVELOPE_FFT:
        return ref[:n], rec[:n]
    env_ref, env_rec = _envelope(ref), _envelope(rec)
    size = 1 << int(math.ceil(math.log2(env_ref.shape[1] + env_rec.shape[1])))
    spectrum = (np.fft.rfft(env_rec, size) * np.conj(np.fft.rfft(env_ref, size))).sum(0)
    coarse = _peak(np.fft.irfft(spectrum, size), MAX_LAG // ENVELOPE_HOP) * ENVELOPE_HOP
    ref64, rec64 = ref.astype(np.float64), rec.astype(np.float64)
    lag = max((_overlap_dot(ref64, rec64, d), -abs(d - coarse), d)
              for d in range(coarse - ENVELOPE_HOP, coarse + ENVELOPE_HOP + 1))[2]
    if lag >= 0:
        rec = rec[lag:]
    else:
        ref = ref[-lag:]
    n = min(len(ref), len(rec))
    return ref[:n], rec[:n]


def _envelope(x: np.ndarray) -> np.ndarray:
    """Log-magnitude spectrogram ``(bins, frames)`` of ``x``: ``ENVELOPE_FFT``-point hann frames every
    ``ENVELOPE_HOP`` samples, floored 60 dB below the loudest bin, each bin's mean removed."""
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float32), ENVELOPE_FFT)[::ENVELOPE_HOP]
    mag = np.abs(np.fft.rfft(frames * np.hanning(ENVELOPE_FFT).astype(np.float32), axis=-1)).T
    env = np.log(mag + 1e-3 * max(float(mag.max()), 1e-12))
    return np.ascontiguousarray(env - env.mean(1, keepdims=True))


def _peak(corr: np.ndarray, reach: int) -> int:
    """The lag in ``-reach .. reach`` where the circular cross-correlation ``corr`` (negative lags at the end)
    peaks."""
    lags = np.arange(-reach, reach + 1)
    return int(lags[np.argmax(corr[lags % len(corr)])])


def _overlap_dot(ref: np.ndarray, rec: np.ndarray, lag: int) -> float:
    """``sum_n ref[n] rec[n + lag]`` over the samples both hold."""
    a, b = (ref, rec[lag:]) if lag >= 0 else (ref[-lag:], rec)
    n = min(len(a), len(b))
    return float(np.dot(a[:n], b[:n]))


def _pesq(ref: np.ndarray, rec: np.ndarray) -> float | None:
    from pesq import pesq

    try:
        return float(pesq(RATE, ref.astype(np.float64), rec.astype(np.float64), "wb"))
    except Exception:  # noqa: BLE001 - pesq has its own error types for silent or too short input
        return None


def _stoi(ref: np.ndarray, rec: np.ndarray) -> float | None:
    from pystoi import stoi

    return float(stoi(ref, rec, RATE, extended=False)) if len(ref) > RATE // 4 else None


def _si_sdr(ref: np.ndarray, rec: np.ndarray) -> float:
    return si_sdr(torch.from_numpy(ref), torch.from_numpy(rec))


def _mel(ref: np.ndarray, rec: np.ndarray) -> float:
    return log_mel_distance(torch.from_numpy(ref.copy()), torch.from_numpy(rec.copy()), RATE)


class SpeechModality(Modality):
    """16 kHz mono speech (``(T,)`` float32 in [-1, 1]); rate in kbps; metrics on the aligned signals."""

    name = "speech"
    rate_key = "kbps"
    rate_label = "kilobits per second (kbps)"
    extensions = AUDIO_SUFFIXES
    report_rates = (1.5, 3.0, 6.0, 8.0, 12.0)
    plot_max_rate = 26.0
    notes = (
        "Rate is kbps from the bytes each codec's file holds (for opus: the Opus packets only; opus-ogg counts the "
        "whole Ogg file). Inputs are read as 16 kHz mono (soxr HQ where needed); every decoded signal is aligned "
        "to its reference before scoring: the delay (within 150 ms) where the two log-spectral envelopes correlate "
        "best, refined on the waveforms within 1 ms (a parametric codec's own phase makes a waveform-only peak land "
        "anywhere). PESQ is wideband "
        "(ITU-T P.862.2, `pesq`), STOI is `pystoi`, SI-SDR in dB, mel distance is the mean absolute difference of "
        "log10 mel spectrograms (80 bands, 1024-point frames; lower is better, plotted negated)."
    )

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (
            Metric("pesq", _pesq, "PESQ-WB (MOS-LQO)"),
            Metric("stoi", _stoi, "STOI"),
            Metric("si_sdr", _si_sdr, "SI-SDR (dB)"),
            Metric("mel_distance", _mel, "negated log-mel distance", lambda v: -v),
        )

    def scored(self, item: np.ndarray, rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both signals with the codec's delay removed (:func:`align`): what every metric scores."""
        return align(item, rec)

    def fit(self, rec: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Pad with zeros or cut at the end to the reference's length (alignment happens in the metrics)."""
        rec = rec.reshape(-1).astype(np.float32)[: len(item)]
        return np.pad(rec, (0, len(item) - len(rec)))

    def list_items(self, folder: Path, limit: int | None = None) -> list[Path]:
        """Audio files anywhere under ``folder`` (speech corpora keep one folder per speaker), sorted by path."""
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in self.extensions)
        return files if limit is None else files[:limit]

    def load(self, path: Path) -> np.ndarray:
        from vqcodec.media.audio import load_audio

        return load_audio(path, RATE, mono=True).samples[0].numpy().astype(np.float32)

    def rate(self, bits: float, item: np.ndarray) -> float:
        return bits / (len(item) / RATE) / 1000.0

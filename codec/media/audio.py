"""Audio loading (soundfile + soxr resampling) and saving (FLAC/WAV, atomic).

Policies: samples are float32 in [-1, 1] shaped ``(C, T)``; resampling uses soxr's "HQ" quality and the result
is clipped to [-1, 1] (band-limited resampling can overshoot full-scale input slightly). ``mono=True``
averages the channels. Saved files are 16-bit PCM unless another soundfile subtype is requested.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, NamedTuple, Union

import numpy as np
import soundfile as sf
import soxr
import torch
from torch import Tensor

from vqcodec.fileio import atomic_write_bytes
from vqcodec.media.errors import MediaError, check_input_file

__all__ = ["AudioSource", "LoadedAudio", "encode_audio", "load_audio", "resample", "save_audio"]

AudioSource = Union[str, "os.PathLike[str]", bytes, BinaryIO]
_SUFFIX_FORMATS = {".flac": "FLAC", ".wav": "WAV"}
_READ_ERRORS = (sf.SoundFileError, RuntimeError, TypeError, ValueError, OSError)


class LoadedAudio(NamedTuple):
    """``(samples, original_rate)``; ``samples`` are at the asked rate (the original if none is asked)."""

    samples: Tensor
    original_rate: int


def resample(samples: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """Resample ``(C, T)`` float audio with soxr (HQ) to float32 ``(C, T')`` clipped to [-1, 1]."""
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    if orig_rate == new_rate:
        return samples.to(torch.float32)
    x = np.ascontiguousarray(samples.detach().cpu().numpy().T, dtype=np.float32)  # soxr wants (T, C)
    y = soxr.resample(x, orig_rate, new_rate, quality="HQ")
    return torch.from_numpy(np.clip(y, -1.0, 1.0).T.copy())


def load_audio(source: AudioSource, sample_rate: int | None = 16000, *, mono: bool = False) -> LoadedAudio:
    """Load an audio file (WAV, FLAC, OGG, MP3, ... whatever libsndfile reads) as float32 ``(C, T)``.

    Args:
        source: A path, the file's bytes, or a binary file object.
        sample_rate: Resample to this rate; ``None`` keeps the file's rate.
        mono: Average the channels into one, giving ``(1, T)``.

    Returns:
        :class:`LoadedAudio` ``(samples, original_rate)``.

    Raises:
        MediaError: Missing/empty/unreadable file, not audio, or no samples.
    """
    fp: BinaryIO | Path
    if isinstance(source, (bytes, bytearray)):
        name, fp = "<bytes>", io.BytesIO(bytes(source))
        if not source:
            raise MediaError("<bytes>: empty input")
    elif isinstance(source, (str, os.PathLike)):
        name, fp = str(source), check_input_file(source)
    else:
        name, fp = str(getattr(source, "name", "<file>")), source
    try:
        data, rate = sf.read(fp, dtype="float32", always_2d=True)
    except _READ_ERRORS as err:
        if hasattr(fp, "seek"):
            fp.seek(0)
        data, rate = _read_with_av(fp, name, " ".join(str(err).split()))
    if data.shape[0] == 0:
        raise MediaError(f"{name}: no audio samples")
    samples = torch.from_numpy(np.ascontiguousarray(data.T))
    if mono:
        samples = samples.mean(dim=0, keepdim=True)
    if sample_rate is not None:
        samples = resample(samples, int(rate), sample_rate)
    return LoadedAudio(samples.clamp(-1.0, 1.0), int(rate))


def _read_with_av(fp: BinaryIO | Path, name: str, why: str) -> tuple[np.ndarray, int]:
    """``(samples (T, C) float32, rate)`` of the first audio stream, decoded by PyAV (FFmpeg) for what libsndfile
    cannot read (AAC, Opus in MP4/WebM, the audio track of a video, ...)."""
    try:
        import av
    except ImportError:
        raise MediaError(f"{name}: not a readable audio file ({why})") from None
    try:
        with av.open(fp if isinstance(fp, io.IOBase) else str(fp), mode="r") as container:
            if not container.streams.audio:
                raise MediaError(f"{name}: not a readable audio file ({why}; no audio stream)")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp")
            parts = [f.to_ndarray() for frame in container.decode(stream) for f in resampler.resample(frame)]
            rate = int(stream.rate or stream.sample_rate)
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError) as err:
        raise MediaError(f"{name}: not a readable audio file ({why}; {' '.join(str(err).split())})") from None
    if not parts or rate <= 0:
        raise MediaError(f"{name}: no audio samples")
    return np.ascontiguousarray(np.concatenate(parts, axis=1).T.astype(np.float32)), rate


def encode_audio(samples: Tensor, sample_rate: int, format: str = "FLAC", subtype: str = "PCM_16") -> bytes:
    """Encode ``(C, T)`` float audio in [-1, 1] (clipped) as a FLAC or WAV file in memory.

    Raises:
        MediaError: Unsupported format or subtype, or a shape the format cannot hold.
    """
    if samples.dim() != 2 or samples.shape[1] == 0:
        raise ValueError(f"expected (C, T) samples with T > 0, got {tuple(samples.shape)}")
    fmt = format.upper()
    if fmt not in _SUFFIX_FORMATS.values():
        raise MediaError(f"unsupported audio output format {format!r} (use FLAC or WAV)")
    data = samples.detach().cpu().to(torch.float32).clamp(-1.0, 1.0).numpy().T
    buf = io.BytesIO()
    try:
        sf.write(buf, data, sample_rate, format=fmt, subtype=subtype)
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError) as err:
        raise MediaError(f"cannot encode audio as {fmt}/{subtype}: {' '.join(str(err).split())}") from None
    return buf.getvalue()


def save_audio(samples: Tensor, path: str | os.PathLike[str], sample_rate: int,
               subtype: str = "PCM_16") -> None:
    """Save ``(C, T)`` float audio to ``path`` atomically, FLAC or WAV by suffix (``.flac``/``.wav``).

    Raises:
        MediaError: Unsupported suffix or encoding failure.
        vqcodec.fileio.WriteError: ``path`` cannot be written (an existing file is then untouched).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise MediaError(f"{path}: unsupported audio output suffix {suffix!r} (use .flac or .wav)")
    atomic_write_bytes(path, encode_audio(samples, sample_rate, _SUFFIX_FORMATS[suffix], subtype))

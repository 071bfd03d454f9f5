"""Small 1-D and 3-D VQ codecs built from configs (random weights) code a real utterance and a real clip through
``vqcodec.compress``/``decompress`` and through the CLI; another process with another thread count decodes the
same bits to the same media."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vqcodec
from conftest import make_tiny_codec
from vqcodec.media import Audio, Video, encode_audio, load_video
from vqcodec.media.load import load_media
from vqcodec.registry import load_model

_DECODE = """
import sys, torch, numpy as np
import vqcodec
from vqcodec.registry import load_model
torch.set_num_threads(int(sys.argv[3]))
media = vqcodec.decompress(open(sys.argv[1], "rb").read(), load_model(sys.argv[2]))
x = media.samples if isinstance(media, vqcodec.Audio) else media.frames
np.save(sys.argv[4], x.numpy())
"""


def _other_process(vq: Path, model: Path, threads: int, out: Path) -> np.ndarray:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run([sys.executable, "-c", _DECODE, str(vq), str(model), str(threads), str(out)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return np.load(out)


def _cli(*args: str) -> None:
    exe = [sys.executable, "-m", "vqcodec.cli.main", *args]
    res = subprocess.run(exe, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]


@pytest.mark.data
def test_a_1d_codec_codes_a_real_utterance(shared_data: Path, tmp_path: Path) -> None:
    model_path = make_tiny_codec(tmp_path / "audio.safetensors", dims=1)
    model = load_model(model_path)
    wav = sorted((shared_data / "speech-test").rglob("*.flac"))[0]
    media = load_media(wav)
    assert isinstance(media, Audio)
    torch.set_num_threads(1)
    data = vqcodec.compress(media, model, 2)
    here = vqcodec.decompress(data, model)
    assert isinstance(here, Audio) and here.samples.shape == (1, media.samples.shape[1])
    (tmp_path / "a.vq").write_bytes(data)
    there = _other_process(tmp_path / "a.vq", model_path, 2, tmp_path / "there.npy")
    assert np.array_equal(there, here.samples.numpy()), "another process and thread count decode the same sound"
    _cli("encode", str(wav), "-o", str(tmp_path / "cli.vq"), "-m", str(model_path), "-q", "2")
    assert (tmp_path / "cli.vq").read_bytes() == data, "the CLI writes the API's bytes"
    _cli("decode", str(tmp_path / "cli.vq"), "-o", str(tmp_path / "out.wav"), "-m", str(model_path))
    pcm, rate = sf.read(tmp_path / "out.wav", dtype="int16")
    expected, _ = sf.read(io.BytesIO(encode_audio(here.samples, 16000, "WAV")), dtype="int16")
    assert rate == 16000 and np.array_equal(pcm, expected)


@pytest.mark.data
def test_a_3d_codec_codes_a_real_clip(shared_data: Path, tmp_path: Path) -> None:
    model_path = make_tiny_codec(tmp_path / "video.safetensors", dims=3)
    model = load_model(model_path)
    clip = shared_data / "video" / "carphone_qcif_176x144_29.97fps_120f.mp4"
    if not clip.exists():
        pytest.skip(f"{clip} is absent")
    video = load_video(clip, max_frames=5)
    media = Video(video.frames, video.fps)
    torch.set_num_threads(1)
    data = vqcodec.compress(media, model, 1)
    here = vqcodec.decompress(data, model)
    assert isinstance(here, Video) and here.frames.shape == (3, 5, 144, 176) and here.fps == video.fps
    (tmp_path / "v.vq").write_bytes(data)
    there = _other_process(tmp_path / "v.vq", model_path, 2, tmp_path / "there.npy")
    assert np.array_equal(there, here.frames.numpy())
    _cli("encode", str(clip), "-o", str(tmp_path / "full.vq"), "-m", str(model_path), "-q", "1")
    _cli("decode", str(tmp_path / "full.vq"), "-o", str(tmp_path / "out.mkv"), "-m", str(model_path))
    decoded = load_video(tmp_path / "out.mkv")
    full = vqcodec.decompress((tmp_path / "full.vq").read_bytes(), model)
    assert isinstance(full, Video) and decoded.frames.shape == (3, 120, 144, 176)
    assert torch.equal(decoded.frames, full.frames), "the .mkv holds the exact decoded frames"

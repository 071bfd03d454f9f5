"""Audio files decode the same in another process, with other thread counts and with other chunk sizes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import vqcodec
from vqcodec.media.adapters import AudioAdapter
from vqcodec.media.load import load_media
from vqcodec.media.tiler import Tiling

_OTHER_PROCESS = """
import sys, numpy as np, torch
import vqcodec
from vqcodec.media.load import load_media
torch.set_num_threads(1)
model, wav, vq, out = sys.argv[1:5]
audio = vqcodec.decompress(open(vq, "rb").read(), model)
np.save(out, audio.samples.numpy())
open(out + ".vq", "wb").write(vqcodec.compress(load_media(wav), model, quality=2))
"""


@pytest.mark.parametrize("fixture", ["tiny_audio_codec_path", "tiny_audio_codeword_path"])
def test_audio_decodes_alike_across_processes_threads_and_chunks(fixture: str, samples_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 request: pytest.FixtureRequest) -> None:
    tiny_audio_codec_path = request.getfixturevalue(fixture)
    wav = samples_dir / "speech_a.flac"
    model = vqcodec.load_model(tiny_audio_codec_path)
    torch.set_num_threads(2)
    data = vqcodec.compress(load_media(wav), model, quality=2)
    here = vqcodec.decompress(data, model).samples.numpy()
    (tmp_path / "x.vq").write_bytes(data)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(tiny_audio_codec_path), str(wav),
                          str(tmp_path / "x.vq"), str(tmp_path / "y.npy")], capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "y.npy.vq").read_bytes() == data  # the same bytes from a 1-thread process
    there = np.load(tmp_path / "y.npy")
    assert there.shape == here.shape and np.abs(there - here).max() < 1e-5
    # chunks of 0.2 s with 0.05 s of context instead of 30 s: the same samples up to float rounding
    monkeypatch.setattr(AudioAdapter, "tiling", Tiling((3200,), (800,)))
    chunked = vqcodec.decompress(data, model).samples.numpy()
    assert chunked.shape == here.shape and np.abs(chunked - here).max() < 1e-5
    assert float(np.abs(here).max()) > 0.0

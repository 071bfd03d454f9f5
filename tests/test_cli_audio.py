"""``vqcodec encode/decode`` on sound: every input format, rate and channel layout, awkward signals, bad files,
output formats and rates, stdin/stdout."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from cli_helpers import one_error_line, run


SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


def _write(path: Path, signal: np.ndarray, rate: int) -> Path:
    if path.suffix == ".mp3":
        import av

        with av.open(str(path), "w", format="mp3") as c:
            s = c.add_stream("libmp3lame", rate=rate)
            s.layout = "stereo" if signal.ndim == 2 else "mono"
            data = signal.T if signal.ndim == 2 else signal[None]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data, dtype=np.float32), format="fltp",
                                               layout=s.layout.name)
            frame.sample_rate = rate
            for p in [*s.encode(frame), *s.encode(None)]:
                c.mux(p)
        return path
    sf.write(path, signal, rate)
    return path


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


@pytest.mark.parametrize("suffix,rate,channels", [(".wav", 16000, 1), (".flac", 44100, 2), (".ogg", 48000, 1),
                                                  (".mp3", 22050, 2), (".wav", 8000, 1)])
def test_every_input_format_rate_and_layout(tiny_audio_codec_path: Path, tmp_path: Path, suffix: str, rate: int,
                                            channels: int) -> None:
    src = _write(tmp_path / f"in{suffix}", _tone(0.7, rate, channels), rate)
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "a.vq"), "-m", str(tiny_audio_codec_path))
    assert code == 0 and "kbps" in err, err
    code, _, out = run("info", str(tmp_path / "a.vq"), "--json")
    assert code == 0 and b'"modality": "audio"' in out and f'"sample_rate": {rate}'.encode() in out
    fields = json.loads(out)
    kbps = 8 * (tmp_path / "a.vq").stat().st_size / (fields["shape"][-1] / fields["sample_rate"]) / 1000
    assert fields["duration_s"] == pytest.approx(0.7, abs=1e-3) and fields["rate"] == f"{kbps:.4g} kbps"
    for target, want_rate in (("out.wav", 16000), ("out.flac", 16000)):
        code, err, _ = run("decode", str(tmp_path / "a.vq"), "-o", str(tmp_path / target), "-m",
                           str(tiny_audio_codec_path), "--force")
        assert code == 0, err
        info = sf.info(tmp_path / target)
        assert (info.samplerate, info.channels) == (want_rate, 1)
    code, err, _ = run("decode", str(tmp_path / "a.vq"), "-o", str(tmp_path / "back.wav"), "-m",
                       str(tiny_audio_codec_path), "--rate", "input")
    assert code == 0, err
    back = sf.info(tmp_path / "back.wav")
    assert back.samplerate == rate and abs(back.frames - int(0.7 * rate)) <= 1


@pytest.mark.parametrize("case", ["silence", "dc", "clipped", "one_sample", "shorter_than_a_frame"])
def test_awkward_signals_code(tiny_audio_codec_path: Path, tmp_path: Path, case: str) -> None:
    signal = {"silence": np.zeros(8000), "dc": np.full(8000, 0.5), "clipped": np.clip(3 * _tone(0.5, 16000), -1, 1),
              "one_sample": np.array([0.25]), "shorter_than_a_frame": _tone(0.005, 16000)}[case]
    src = _write(tmp_path / "in.wav", signal, 16000)
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "a.vq"), "-m", str(tiny_audio_codec_path))
    assert code == 0, err
    model = str(tiny_audio_codec_path)
    code, err, _ = run("decode", str(tmp_path / "a.vq"), "-o", str(tmp_path / "o.wav"), "-m", model)
    assert code == 0, err
    assert sf.info(tmp_path / "o.wav").frames == len(signal)


def test_bad_audio_inputs_are_one_line(tiny_audio_codec_path: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.flac"
    shutil.copy(SAMPLES / "speech_a.flac", good)
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(good.read_bytes()[:200])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.wav"
    buf = io.BytesIO()
    sf.write(buf, np.zeros(0), 16000, format="WAV")
    header_only.write_bytes(buf.getvalue())
    for path in (corrupt, empty, header_only):
        code, err, _ = run("encode", str(path), "-o", str(tmp_path / "x.vq"), "-m", str(tiny_audio_codec_path))
        assert code != 0 and one_error_line(err), (path.name, err)
    from vqcodec.registry import DEFAULT_MODELS

    code, err, _ = run("encode", str(good), "-o", str(tmp_path / "x.vq"))
    if "audio" in DEFAULT_MODELS:
        assert code == 0, err
    else:
        assert code != 0 and one_error_line(err) and "--model" in err, err


def test_stdin_stdout_and_bitrate(tiny_audio_codec_path: Path, tmp_path: Path) -> None:
    data = (SAMPLES / "speech_b.flac").read_bytes()
    code, err, vq = run("encode", "-", "-o", "-", "-m", str(tiny_audio_codec_path), "--quiet", input=data)
    assert code == 0 and vq[:3] == b"VQC", err
    code, err, wav = run("decode", "-", "-o", "-", "-m", str(tiny_audio_codec_path), "--quiet", input=vq)
    assert code == 0 and wav[:4] == b"RIFF", err
    code, err, _ = run("encode", str(SAMPLES / "speech_b.flac"), "-o", str(tmp_path / "b.vq"), "-m",
                       str(tiny_audio_codec_path), "--bitrate", "6")
    assert code != 0 and one_error_line(err) and "measured rates" in err, err


def test_set_prior_tile_script_changes_only_the_coding_tile(tiny_audio_codec_path: Path, tmp_path: Path) -> None:
    """``scripts/set_prior_tile.py`` copies every tensor (as fp16), changes the prior's tile, and files coded with
    the copy decode to the same samples as with a copy under the old tile (same indices, other coding context)."""
    import subprocess
    import sys

    from vqcodec.weights_io import load_weights

    script = Path(__file__).resolve().parents[1] / "scripts" / "set_prior_tile.py"
    old = load_weights(tiny_audio_codec_path)
    copies = {}
    for tile in (old.config["prior"]["tile_shape"][0], 4):
        copies[tile] = tmp_path / f"tile{tile}.safetensors"
        res = subprocess.run([sys.executable, str(script), str(tiny_audio_codec_path), str(copies[tile]), str(tile)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    new = load_weights(copies[4])
    assert new.config["prior"]["tile_shape"] == [4] != old.config["prior"]["tile_shape"]
    assert {k: v for k, v in new.config["prior"].items() if k != "tile_shape"} == \
        {k: v for k, v in old.config["prior"].items() if k != "tile_shape"}
    for part, tensors in old.tensors.items():
        assert all(torch.equal(v.half().float() if v.is_floating_point() else v, new.tensors[part][k])
                   for k, v in tensors.items())
    wav = _write(tmp_path / "a.wav", _tone(0.5, 16000), 16000)
    decoded = []
    for weights in copies.values():
        vq, back = tmp_path / f"{weights.stem}.vq", tmp_path / f"{weights.stem}.wav"
        assert run("encode", str(wav), "-o", str(vq), "--model", str(weights))[0] == 0
        assert run("decode", str(vq), "-o", str(back), "--model", str(weights))[0] == 0
        decoded.append(sf.read(back)[0])
    assert np.array_equal(decoded[0], decoded[1])
    code, err, _ = run("decode", str(tmp_path / "tile4.vq"), "-o", str(tmp_path / "x.wav"), "--model",
                       str(tiny_audio_codec_path))
    assert code != 0 and one_error_line(err), "a file names its weights: others refuse it in one line"
    bad = subprocess.run([sys.executable, str(script), str(tiny_audio_codec_path), str(tmp_path / "b.safetensors"),
                          "4", "4"], capture_output=True, text=True)
    assert bad.returncode != 0 and "1-D" in bad.stderr

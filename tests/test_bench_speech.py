"""``vqcodec bench speech`` over the two bundled utterances: every baseline and a learned codec, every output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vqcodec.bench.speech import MAX_LAG, SpeechModality, align
from vqcodec.cli.main import cli

SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


def test_alignment_removes_a_codec_delay() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(16000).astype(np.float32)
    for lag in (0, 37, 1200, -50):
        rec = np.roll(ref, lag)
        a, b = align(ref, rec)
        assert len(a) == len(b) >= 16000 - abs(lag) and np.allclose(a[100:-100], b[100:-100])
    assert MAX_LAG >= 1200


def _voiced(n: int, f0: float, phases: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    t = np.arange(n) / 16000
    harmonics = sum(np.cos(2 * np.pi * k * f0 * t + phases[k - 1]) / k for k in range(1, len(phases) + 1))
    return (envelope * harmonics).astype(np.float32)


@pytest.mark.parametrize("delay", [0, 300, -200, 2000])
def test_alignment_finds_the_delay_of_a_codec_that_makes_its_own_phase(delay: int) -> None:
    """A parametric codec (Codec2, vq-speech) keeps the envelope and makes up the phase and the fine pitch: its
    waveform correlates with the input's at no particular lag, the envelopes only at the true delay."""
    rng = np.random.default_rng(1)
    n = 3 * 16000
    t = np.arange(n + 4000) / 16000
    syllables = np.clip(np.sin(2 * np.pi * 3.1 * t) * np.sin(2 * np.pi * 0.7 * t + 0.3), 0, None) ** 2
    ref = _voiced(n + 4000, 140.0, rng.uniform(0, 2 * np.pi, 20), syllables)
    rec = _voiced(n + 4000, 141.5, rng.uniform(0, 2 * np.pi, 20), syllables)  # another phase, 1 % off in pitch
    start = 2000
    ref_cut, rec_cut = ref[start : start + n], rec[start - delay : start - delay + n]  # rec lags ref by delay
    a, b = align(ref_cut, rec_cut)
    found = len(ref_cut) - len(a) if delay < 0 else len(rec_cut) - len(b)
    assert abs(abs(found) - abs(delay)) <= 16, (found, delay)


def test_speech_bench_writes_every_output(tmp_path: Path, tiny_audio_codec_path: Path) -> None:
    pytest.importorskip("pycodec2", reason="pycodec2 (bench extra) is not installed")
    data = tmp_path / "speech" / "spk"
    data.mkdir(parents=True)
    for name in ("speech_a.flac", "speech_b.flac"):
        shutil.copy(SAMPLES / name, data / name)
    out = tmp_path / "out"
    codecs = f"opus,opus-ogg,codec2,mp3,vq:{tiny_audio_codec_path}"
    res = CliRunner().invoke(cli, ["bench", "speech", "--data", str(tmp_path / "speech"), "--codecs", codecs,
                                   "--out", str(out), "--repeats", "1"])
    assert res.exit_code == 0, res.output
    for name in ("results.json", "results.csv", "summary.md", "rd_pesq.png", "rd_stoi.png"):
        assert (out / name).is_file(), name
    run = json.loads((out / "results.json").read_text())
    assert run["modality"] == "speech" and run["rate_key"] == "kbps"
    by_name = {c["name"]: c for c in run["codecs"]}
    assert set(by_name) == {"opus", "opus-ogg", "codec2", "mp3", f"vq:{tiny_audio_codec_path}"}
    opus, ogg = by_name["opus"]["results"]["kbps"], by_name["opus-ogg"]["results"]["kbps"]
    assert all(o < g for o, g in zip(opus, ogg)), "the Ogg pages cost more than the packets alone"
    assert all(v is not None and v > 1.0 for v in by_name["opus"]["results"]["pesq"])
    assert by_name["opus"]["results"]["pesq"][-1] > by_name["opus"]["results"]["pesq"][0]
    assert len(by_name["codec2"]["items"]) == 2 * 5 and "BD" in (out / "summary.md").read_text()


def test_speech_items_are_found_recursively_and_read_at_16_khz(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(SAMPLES / "speech_b.flac", tmp_path / "a" / "b" / "x.flac")
    modality = SpeechModality()
    (item,) = modality.list_items(tmp_path)
    x = modality.load(item)
    assert x.dtype == np.float32 and x.ndim == 1 and abs(len(x) / 16000 - 2.67) < 0.01
    assert modality.rate(16000 * 8, x) == pytest.approx(16000 * 8 / (len(x) / 16000) / 1000)

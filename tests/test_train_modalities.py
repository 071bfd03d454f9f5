"""Training on audio and video: datasets, losses, and a few real training steps of 1-D and 3-D VQ-VAEs."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from vqcodec.train import build_config, train
from vqcodec.train.data_audio import CenterSegments, RandomSegments, list_audio
from vqcodec.train.data_video import MAX_PAN, CenterClips, RandomClips, list_videos
from vqcodec.train.losses import AudioDistortion, audio_distortion

SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


@pytest.fixture
def speech_dir(tmp_path: Path) -> Path:
    """The two bundled utterances, one per speaker folder (as the speech corpora are laid out)."""
    for name in ("speech_a", "speech_b"):
        (tmp_path / "speech" / name).mkdir(parents=True)
        shutil.copy(SAMPLES / f"{name}.flac", tmp_path / "speech" / name / f"{name}.flac")
    return tmp_path / "speech"


def test_audio_files_are_found_recursively_and_bad_ones_fail_early(speech_dir: Path, tmp_path: Path) -> None:
    assert [p.name for p in list_audio(speech_dir)] == ["speech_a.flac", "speech_b.flac"]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match="unreadable audio"):
        list_audio(tmp_path / "bad")
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        list_audio(tmp_path / "none")


def test_random_segments_are_deterministic_never_clip_and_pad_short_files(speech_dir: Path) -> None:
    files = list_audio(speech_dir)
    ds = RandomSegments(files, 8000, seed=3, sample_rate=16000, gain_db=(0.0, 30.0))
    a, b = ds[5], ds[5]
    assert a.shape == (1, 8000) and torch.equal(a, b)
    assert not torch.equal(ds[5], ds[6])
    peaks = [float(ds[i].abs().max()) for i in range(12)]
    assert max(peaks) <= 0.99 + 1e-6 and min(peaks) > 0.05, "gain is bounded so augmentation never clips"
    long = RandomSegments(files, 16000 * 4, seed=0, sample_rate=16000)[0]
    tail = long[0, -16000:]
    assert torch.count_nonzero(tail) == 0, "a file shorter than the segment is zero-padded at the end"
    val = CenterSegments(files, 16000, 16000)
    assert len(val) == 2 and val[1].shape == (1, 16000)


def test_audio_is_resampled_and_downmixed(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100.0
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.5
    (tmp_path / "a").mkdir()
    sf.write(tmp_path / "a" / "tone.wav", stereo.astype(np.float32), 44100)
    seg = CenterSegments(list_audio(tmp_path / "a"), 16000, 16000)[0]
    assert seg.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(seg[0].numpy()))
    assert abs(int(spectrum.argmax()) - 440) <= 1, "one second at 16 kHz: bin k is k Hz"


def _frames_folder(root: Path, frames: int = 6, size: tuple[int, int] = (40, 48)) -> Path:
    folder = root / "clip_png"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(frames):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f"f{i}.png")
    return folder


def test_video_clips_from_frame_folders_and_stills(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    _frames_folder(root)
    shutil.copy(SAMPLES / "photo.png", root / "still.png")
    files = list_videos(root)
    assert [p.name for p in files] == ["clip_png", "still.png"]
    ds = RandomClips(files, crop=32, frames=4, seed=1)
    for i in range(4):
        clip = ds[i]
        assert clip.shape == (3, 4, 32, 32) and 0 <= float(clip.min()) and float(clip.max()) <= 1
        assert torch.equal(clip, ds[i])
    val = CenterClips(files, crop=32, frames=8)
    assert val[0].shape == (3, 8, 32, 32), "a short video repeats its last frame"
    assert torch.equal(val[1][:, 0], val[1][:, 7]), "a still validates as a still clip"


def test_a_still_becomes_a_pan_of_whole_pixels(tmp_path: Path) -> None:
    from vqcodec.train.data_video import _pan

    image = np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    for seed in range(6):
        clip = _pan(image, 5, 24, np.random.default_rng(seed))
        assert clip.shape == (5, 24, 24, 3)
        found = [(dy, dx) for dy in range(-MAX_PAN, MAX_PAN + 1) for dx in range(-MAX_PAN, MAX_PAN + 1)
                 if all(np.array_equal(clip[t + 1, max(0, -dy) : 24 - max(0, dy), max(0, -dx) : 24 - max(0, dx)],
                                       clip[t, max(0, dy) : 24 + min(0, dy), max(0, dx) : 24 + min(0, dx)])
                        for t in range(4))]
        assert found, "every frame is the previous one moved by one constant velocity"


def test_audio_loss_is_zero_for_a_perfect_copy_and_grows_with_noise(speech_dir: Path) -> None:
    x = CenterSegments(list_audio(speech_dir), 16000, 16000)[0][None]
    zero, terms = audio_distortion(x, x, 16000)
    assert float(zero) == pytest.approx(0.0, abs=1e-6) and set(terms) == {"mel", "stft", "wave_l1"}
    small = audio_distortion(x + 0.001 * torch.randn_like(x), x, 16000)[0]
    large = audio_distortion(x + 0.05 * torch.randn_like(x), x, 16000)[0]
    assert 0 < float(small) < float(large)
    metrics = AudioDistortion().item_metrics(x + 0.01 * torch.randn_like(x), x)
    has_pesq = importlib.util.find_spec("pesq") is not None
    expected = {"si_sdr", "neg_mel_dist"} | ({"pesq"} if has_pesq else set())
    assert set(metrics) == expected and len(metrics["si_sdr"]) == 1
    if has_pesq:
        clean = AudioDistortion().item_metrics(x, x)["pesq"][0]
        assert 1.0 <= metrics["pesq"][0] < clean <= 4.7


def _tiny_audio_model() -> dict:
    return {"net": {"dims": 1, "in_channels": 1, "strides": [4, 4], "level_channels": [4, 8, 16],
                    "encoder_level_blocks": 1, "decoder_level_blocks": 1, "num_res_blocks": 1, "kernel_size": 7,
                    "res_kernel": 5, "dilation_base": 3},
            "vq": {"codebook_size": 16, "codebook_dim": 8, "num_stages": 3, "quantizer_dropout": 0.5,
                   "dead_code_threshold": 0.05}}


def test_a_1d_model_trains_on_an_audio_folder(speech_dir: Path, tmp_path: Path) -> None:
    cfg = build_config({"modality": "audio", "model": _tiny_audio_model(), "data": str(speech_dir),
                        "out": str(tmp_path / "run"), "crop": 1600, "val_crop": 3200, "batch_size": 2, "steps": 3,
                        "eval_every": 3, "ckpt_every": 3, "warmup": 1}, {})
    result = train(cfg, progress=False)
    assert result.step == 3 and result.checkpoint.is_file()
    assert {"si_sdr", "si_sdr_1", "neg_mel_dist_2", "codebook_usage"} <= set(result.val_metrics)
    assert result.train_metrics["mel"] > 0


def test_modality_must_fit_the_model(speech_dir: Path, tmp_path: Path) -> None:
    cfg = build_config({"modality": "image", "model": _tiny_audio_model(), "data": str(SAMPLES),
                        "out": str(tmp_path / "run"), "steps": 1}, {})
    with pytest.raises(ValueError, match="1-D model does not train on image"):
        train(cfg, progress=False)


@pytest.mark.data
def test_a_1d_model_trains_on_speech_train(shared_data: Path, tmp_path: Path) -> None:
    cfg = build_config({"modality": "audio", "model": _tiny_audio_model(), "data": str(shared_data / "speech-train"),
                        "out": str(tmp_path / "run"), "crop": 3200, "val_crop": 3200, "val_items": 2,
                        "batch_size": 2, "steps": 2, "eval_every": 2, "warmup": 1}, {})
    assert train(cfg, progress=False).step == 2


@pytest.mark.data
def test_a_3d_model_trains_on_the_video_folder(shared_data: Path, tmp_path: Path) -> None:
    model = {"net": {"dims": 3, "in_channels": 3, "hidden": 4, "max_hidden": 8, "strides": [2], "num_res_blocks": 1},
             "vq": {"codebook_size": 16, "codebook_dim": 4, "num_stages": 2}}
    cfg = build_config({"modality": "video", "model": model, "data": str(shared_data / "video"),
                        "out": str(tmp_path / "run"), "crop": 32, "val_crop": 32, "clip_frames": 4, "val_items": 2,
                        "batch_size": 2, "steps": 2, "eval_every": 2, "warmup": 1, "workers": 0}, {})
    result = train(cfg, progress=False)  # workers 0: a forked loader worker can hang on PyAV's decoder threads
    assert result.step == 2 and "psnr" in result.val_metrics
    saved = json.loads(json.dumps(torch.load(result.checkpoint, weights_only=True)["config"]))
    assert saved["modality"] == "video" and saved["clip_frames"] == 4


def test_speech_decoder_finetune_keeps_the_supervision_and_freezes_the_codes(speech_dir: Path,
                                                                              tmp_path: Path) -> None:
    """``finetune=decoder`` on a speech model: stage 1's pitch/voicing/envelope supervision stays in the loss,
    and only ``decoder.*`` tensors change, so the same audio gives the same indices (the prior still fits)."""
    from vqcodec.train.export import export_checkpoint

    model = {"net": {"dims": 1, "in_channels": 1, "strides": [160, 2], "hidden": 16, "num_res_blocks": 1,
                     "res_kernel": 3},
             "synth": {"n_mels": 20, "bins": 8},
             "vq": {"codebook_size": 16, "codebook_dim": 8, "num_stages": 2, "quantizer_dropout": 0.5}}
    base = {"modality": "audio", "data": str(speech_dir), "crop": 3200, "val_crop": 3200, "val_items": 1,
            "batch_size": 2, "warmup": 1, "workers": 0, "threads": 1}
    train(build_config({**base, "model": model, "out": str(tmp_path / "vq"), "steps": 2, "eval_every": 2}, {}),
          progress=False)
    source = tmp_path / "speech.safetensors"
    export_checkpoint(tmp_path / "vq", source)
    tuned_run = tmp_path / "dec"
    result = train(build_config({**base, "init_from": str(source), "finetune": "decoder", "out": str(tuned_run),
                                 "steps": 3, "lr": 0.01, "eval_every": 3}, {}), progress=False)
    assert result.train_metrics["pitch"] > 0 and result.train_metrics["mel"] > 0
    assert "pesq_1" in result.val_metrics or "si_sdr_1" in result.val_metrics
    tuned = tmp_path / "tuned.safetensors"
    export_checkpoint(tuned_run, tuned)
    from vqcodec.weights_io import load_weights

    old, new = load_weights(source).tensors["model"], load_weights(tuned).tensors["model"]
    assert old.keys() == new.keys()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.startswith("decoder.") for k in changed), sorted(changed)

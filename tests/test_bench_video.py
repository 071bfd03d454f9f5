"""The video bench: its metrics, items, PyAV baselines, the per-frame and 3-D learned adapters, and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vqcodec.bench.codecs import make_codec
from vqcodec.bench.video import MAX_PSNR, VideoModality, luma, psnr_rgb, psnr_y, size_from_name
from vqcodec.cli.main import cli

CLIP = Path(__file__).resolve().parents[1] / "codec" / "samples" / "clip.mp4"


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return VideoModality(frames=4).load(CLIP)


def _nal_types(stream: bytes) -> set[int]:
    """NAL unit types of an H.264 Annex-B stream (the byte after each 00 00 01 start code)."""
    out, i = set(), stream.find(b"\x00\x00\x01")
    while i >= 0:
        out.add(stream[i + 3] & 0x1F)
        i = stream.find(b"\x00\x00\x01", i + 3)
    return out


def test_luma_and_psnr_by_hand() -> None:
    ref = np.zeros((2, 4, 4, 3), np.uint8)
    rec = ref.copy()
    rec[..., 0] = 10  # red +10 everywhere: luma +2.99, RGB MSE 100 / 3
    assert luma(rec)[0, 0, 0] == pytest.approx(2.99)
    assert psnr_y(ref, rec) == pytest.approx(10 * np.log10(255**2 / 2.99**2))
    assert psnr_rgb(ref, rec) == pytest.approx(10 * np.log10(255**2 / (100 / 3)))
    assert psnr_y(ref, ref) == MAX_PSNR
    rec[1] = 0  # an exact second frame: the clip's value is the mean of the per-frame values
    assert psnr_y(ref, rec) == pytest.approx((10 * np.log10(255**2 / 2.99**2) + MAX_PSNR) / 2)


def test_items_are_clips_png_folders_and_named_raw_yuv(tmp_path: Path) -> None:
    shutil.copy(CLIP, tmp_path / "a.mp4")
    frames = tmp_path / "b_frames"
    frames.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 24, 3), 40 * i, np.uint8)).save(frames / f"{i:03d}.png")
    (tmp_path / "c_24x16.yuv").write_bytes(bytes(24 * 16 * 3 // 2 * 2))
    (tmp_path / "d.yuv").write_bytes(bytes(100))  # no size in the name: not an item
    (tmp_path / "e.txt").write_text("x")
    m = VideoModality(frames=2)
    items = m.list_items(tmp_path)
    assert [p.name for p in items] == ["a.mp4", "b_frames", "c_24x16.yuv"]
    assert [m.load(p).shape for p in items] == [(2, 96, 128, 3), (2, 16, 24, 3), (2, 16, 24, 3)]
    assert size_from_name(Path("cars_320x240_25fps_30f.yuv")) == (320, 240)
    with pytest.raises(ValueError):
        VideoModality(frames=0)


@pytest.mark.parametrize("spec", ["x264", "x264-veryfast", "x265", "av1", "mjpeg"])
def test_pyav_baselines_round_trip_any_size_and_lose_quality_with_rate(clip: np.ndarray, spec: str) -> None:
    codec = make_codec(spec, modality="video")
    odd = clip[:, :95, :127]
    low, high = codec.settings[0], codec.settings[-1]
    small, big = codec.encode(odd, low), codec.encode(odd, high)
    rec_low, rec_high = codec.decode(small), None
    rec_high = codec.decode(big)
    assert rec_low.shape == rec_high.shape == odd.shape and rec_low.dtype == np.uint8
    assert len(small) < len(big)
    assert psnr_y(odd, rec_low) < psnr_y(odd, rec_high)
    assert psnr_y(odd, rec_high) > 30


def test_x264_streams_carry_no_sei(clip: np.ndarray) -> None:
    data = make_codec("x264", modality="video").encode(clip, 30)
    types = _nal_types(data)
    assert 6 not in types and {5, 7, 8} <= types  # no SEI; IDR slice, SPS and PPS present


def test_per_frame_codec_is_the_frames_vq_files(clip: np.ndarray, tiny_codec_path: Path) -> None:
    from vqcodec.api import decode, encode
    from vqcodec.media.types import Image as Img
    import torch

    codec = make_codec(f"vq-image:{tiny_codec_path}", modality="video")
    data = codec.encode(clip, 1)
    files = [encode(Img(torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))), str(tiny_codec_path), 1).data
             for f in clip]
    assert len(data) == sum(4 + len(f) for f in files)
    rec = codec.decode(data)
    want = np.stack([decode(f, str(tiny_codec_path)).media.pixels.permute(1, 2, 0).numpy() for f in files])
    assert np.array_equal(rec, want)


def test_video_bench_writes_every_output(tmp_path: Path, tiny_codec_path: Path, tiny_video_codec_path: Path) -> None:
    data = tmp_path / "clips"
    data.mkdir()
    shutil.copy(CLIP, data / "clip.mp4")
    out = tmp_path / "out"
    specs = f"x264,mjpeg,vq-image:{tiny_codec_path},vq:{tiny_video_codec_path}"
    res = CliRunner().invoke(cli, ["bench", "video", "--data", str(data), "--codecs", specs, "--out", str(out),
                                   "--frames", "4", "--repeats", "1"])
    assert res.exit_code == 0, res.output
    for name in ("results.json", "results.csv", "summary.md", "rd_psnry.png", "rd_psnr.png"):
        assert (out / name).is_file(), name
    result = json.loads((out / "results.json").read_text())
    assert result["modality"] == "video" and result["rate_key"] == "bpp"
    assert result["metrics"] == ["psnr_y", "psnr", "ms_ssim"]
    rows = [r for c in result["codecs"] for r in c["items"]]
    assert rows and all(r["frames"] == 4 and r["bpp"] > 0 and r["psnr_y"] is not None for r in rows)
    summary = (out / "summary.md").read_text()
    assert "encode fps" in summary and "--frames 4" in summary


def test_video_bench_of_a_kind_without_a_video_model_is_one_line(tmp_path: Path) -> None:
    """``gauss`` has no built-in video model (``vq`` has one since vq-video ships): one line, non-zero exit."""
    data = tmp_path / "clips"
    data.mkdir()
    shutil.copy(CLIP, data / "clip.mp4")
    res = CliRunner().invoke(cli, ["bench", "video", "--data", str(data), "--codecs", "gauss", "--out",
                                   str(tmp_path / "o"), "--frames", "2"])
    assert res.exit_code != 0 and res.output.startswith("Error: ") and len(res.output.strip().splitlines()) == 1, \
        res.output


def test_report_rebuilds_the_frame_count_and_refuses_to_merge_different_ones(tmp_path: Path) -> None:
    data = tmp_path / "clips"
    data.mkdir()
    shutil.copy(CLIP, data / "clip.mp4")
    for frames, codec in ((3, "x264"), (3, "mjpeg"), (2, "av1")):
        res = CliRunner().invoke(cli, ["bench", "video", "--data", str(data), "--codecs", codec, "--out",
                                       str(tmp_path / codec), "--frames", str(frames), "--repeats", "1"])
        assert res.exit_code == 0, res.output
    merged = tmp_path / "merged"
    res = CliRunner().invoke(cli, ["bench", "report", str(tmp_path / "x264" / "results.json"),
                                   str(tmp_path / "mjpeg" / "results.json"), "--out", str(merged)])
    assert res.exit_code == 0, res.output
    assert "first 3 frames" in (merged / "summary.md").read_text()
    res = CliRunner().invoke(cli, ["bench", "report", str(tmp_path / "x264" / "results.json"),
                                   str(tmp_path / "av1" / "results.json"), "--out", str(tmp_path / "bad")])
    assert res.exit_code != 0 and "modality options" in res.output

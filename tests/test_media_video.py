"""Video: generated PNG folders, raw yuv420p and y4m load to the right frames; real clips when present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from vqcodec.media import MediaError
from vqcodec.media.video import load_video, parse_size


def _gray_yuv420(value: int, w: int, h: int) -> bytes:
    """One yuv420p frame of a neutral gray with luma ``value``."""
    return bytes([value]) * (w * h) + bytes([128]) * (w * h // 2)


def test_png_folder_in_natural_order(tmp_path: Path) -> None:
    for i in (1, 2, 10):
        Image.new("RGB", (6, 4), (i, 2 * i, 3 * i)).save(tmp_path / f"f{i}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    frames, fps = load_video(tmp_path)
    assert frames.shape == (3, 3, 4, 6) and frames.dtype == torch.uint8 and fps == 25.0
    assert frames[:, :, 0, 0].T.tolist() == [[1, 2, 3], [2, 4, 6], [10, 20, 30]]
    assert load_video(tmp_path, max_frames=2, fps=50).frames.shape[1] == 2
    assert load_video(tmp_path, fps=50).fps == 50.0


def test_raw_yuv420p_with_size(tmp_path: Path) -> None:
    pytest.importorskip("av", reason="PyAV (optional) is not installed")
    path = tmp_path / "clip.yuv"
    path.write_bytes(_gray_yuv420(16, 8, 6) + _gray_yuv420(235, 8, 6) + _gray_yuv420(126, 8, 6))
    frames, fps = load_video(path, size="8x6")
    assert frames.shape == (3, 3, 6, 8) and fps == 25.0
    assert frames[:, 0].max() <= 1 and frames[:, 1].min() >= 254  # limited range 16..235 -> 0..255
    assert abs(int(frames[0, 2, 0, 0]) - 128) <= 1
    assert load_video(path, max_frames=1, size=(8, 6)).frames.shape[1] == 1
    with pytest.raises(MediaError, match="whole number"):
        load_video(path, size="10x6")
    with pytest.raises(MediaError, match="give its size"):
        load_video(path)


def test_y4m(tmp_path: Path) -> None:
    pytest.importorskip("av", reason="PyAV (optional) is not installed")
    path = tmp_path / "clip.y4m"
    data = b"YUV4MPEG2 W8 H6 F50:1 Ip A1:1 C420jpeg\n"
    data += b"".join(b"FRAME\n" + _gray_yuv420(v, 8, 6) for v in (16, 235))
    path.write_bytes(data)
    frames, fps = load_video(path)
    assert frames.shape == (3, 2, 6, 8) and fps == 50.0
    assert frames[:, 0].max() <= 1 and frames[:, 1].min() >= 254


def test_bad_video_inputs(tmp_path: Path) -> None:
    pytest.importorskip("av", reason="PyAV (optional) is not installed")
    (tmp_path / "text.mp4").write_text("not a video")
    (tmp_path / "empty.mkv").write_bytes(b"")
    (tmp_path / "emptydir").mkdir()
    for source, words in [(tmp_path / "text.mp4", "not a readable video"), (tmp_path / "empty.mkv", "empty"),
                          (tmp_path / "missing.mp4", "no such file"),
                          (tmp_path / "emptydir", "no .png frames")]:
        with pytest.raises(MediaError, match=words) as info:
            load_video(source)
        assert "\n" not in str(info.value)
    with pytest.raises(MediaError):
        parse_size("352by288")
    assert parse_size("352x288") == (352, 288)


@pytest.mark.data
@pytest.mark.parametrize("name,fps,size", [
    ("carphone_qcif_176x144_29.97fps_120f.mp4", 30000 / 1001, (144, 176)),
    ("asl_book_640x480_30fps_109f.mkv", 30.0, (480, 640)),
    ("foreman_cif_352x288_300f_intra.h264", 25.0, (288, 352)),  # no container timing: FFmpeg says 25
    ("cars_320x240_25fps_30f.yuv", 25.0, (240, 320)),
    ("BasketballPass_416x240_50fps_png", 25.0, (240, 416)),
])
def test_real_clips(shared_data: Path, name: str, fps: float, size: tuple[int, int]) -> None:
    if not name.endswith("_png"):
        pytest.importorskip("av", reason="PyAV (optional) is not installed")
    path = shared_data / "video" / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    frames, got_fps = load_video(path, max_frames=3, size="320x240" if name.endswith(".yuv") else None)
    assert frames.shape == (3, 3, *size) and frames.dtype == torch.uint8
    assert got_fps == pytest.approx(fps)
    assert 20 < frames.float().mean() < 235 and int(frames.max()) - int(frames.min()) > 100

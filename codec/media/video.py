"""Video loading: containers and streams via PyAV, PNG-frame folders, raw yuv420p with a given size.

PyAV is optional (imported on first use). Every source becomes uint8 RGB frames ``(3, T, H, W)`` and a frame
rate. Colour conversion is FFmpeg's (swscale): BT.601 when the stream does not say otherwise; full-range
``yuvj420p`` streams are converted as full range.

Quirks (see ``../shared/data/video/README.md``):

* Bare H.264 Annex-B streams (``.h264``) carry no timing; FFmpeg reports 25 fps for them. Pass ``fps=`` to
  override.
* Raw ``.yuv`` files have no header: give ``size=(W, H)`` or ``"WxH"`` (even sizes only); fps defaults to 25.
* PNG-frame folders are read in natural name order (``f2.png`` before ``f10.png``); fps defaults to 25.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from vqcodec.media.errors import MediaError, check_input_file
from vqcodec.media.image import load_image

__all__ = ["DEFAULT_FPS", "LoadedVideo", "load_video", "parse_size"]

DEFAULT_FPS = 25.0
_FRAME_SUFFIXES = (".png",)


class LoadedVideo(NamedTuple):
    """``(frames, fps)``: ``frames`` is uint8 RGB ``(3, T, H, W)``."""

    frames: Tensor
    fps: float


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    """``"352x288"`` or ``(352, 288)`` -> ``(width, height)``.

    Raises:
        MediaError: Not ``WxH`` with positive integers.
    """
    if isinstance(size, str):
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", size)
        if not m:
            raise MediaError(f"size {size!r} is not WxH, e.g. 352x288")
        size = (int(m.group(1)), int(m.group(2)))
    width, height = size
    if width < 1 or height < 1:
        raise MediaError(f"size must be positive, got {width}x{height}")
    return width, height


def _av() -> ModuleType:
    """PyAV, imported on first use: an optional dependency (``pip install av`` or the ``bench`` extra)."""
    try:
        import av
    except ImportError:
        raise MediaError("video files need PyAV: pip install av") from None
    return av


def _stack(frames: list[np.ndarray], name: str) -> Tensor:
    """``T`` arrays ``(H, W, 3)`` -> ``(3, T, H, W)`` uint8."""
    if not frames:
        raise MediaError(f"{name}: no video frames")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise MediaError(f"{name}: frame size changes within the video ({sorted(shapes)[:2]} ...)")
    return torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2).contiguous()


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _load_folder(folder: Path, max_frames: int | None) -> list[np.ndarray]:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES), key=_natural_key)
    if not files:
        raise MediaError(f"{folder}: folder has no .png frames")
    return [load_image(p).pixels.permute(1, 2, 0).numpy() for p in files[:max_frames]]


def _load_raw_yuv(path: Path, size: str | tuple[int, int], max_frames: int | None) -> list[np.ndarray]:
    width, height = parse_size(size)
    if width % 2 or height % 2:
        raise MediaError(f"{path}: raw yuv420p needs an even size, got {width}x{height}")
    frame_bytes = width * height * 3 // 2
    total = path.stat().st_size
    if total % frame_bytes:
        raise MediaError(f"{path}: {total} bytes is not a whole number of {width}x{height} yuv420p frames "
                         f"({frame_bytes} bytes each); is the size right?")
    count = total // frame_bytes if max_frames is None else min(max_frames, total // frame_bytes)
    av, frames = _av(), []
    with open(path, "rb") as f:
        for _ in range(count):
            planes = np.frombuffer(f.read(frame_bytes), dtype=np.uint8).reshape(height * 3 // 2, width)
            frames.append(av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24"))
    return frames


def _load_container(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], float]:
    av = _av()
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            for frame in container.decode(stream):
                if max_frames is not None and len(frames) >= max_frames:
                    break
                frames.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as err:
        raise MediaError(f"{path}: not a readable video ({' '.join(str(err).split())})") from None
    return frames, float(rate) if rate else DEFAULT_FPS


def load_video(source: str | os.PathLike[str], max_frames: int | None = None, *,
               size: str | tuple[int, int] | None = None, fps: float | None = None) -> LoadedVideo:
    """Load a video as uint8 RGB frames.

    Args:
        source: A video file PyAV/FFmpeg can read (mp4, mkv, h264, y4m, ...), a folder of PNG frames, or a raw
            yuv420p file (``.yuv`` suffix or ``size`` given).
        max_frames: Read at most this many frames from the start.
        size: ``(W, H)`` or ``"WxH"`` of a raw yuv420p file.
        fps: Override the frame rate (needed for bare ``.h264`` streams, which FFmpeg reports as 25 fps).

    Returns:
        :class:`LoadedVideo` ``(frames (3, T, H, W) uint8, fps)``.

    Raises:
        MediaError: Missing/empty/unreadable input, no frames, a raw file without a size or of the wrong
            length, or frames of different sizes.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be positive, got {max_frames}")
    path = Path(source)
    if path.is_dir():
        frames, rate = _load_folder(path, max_frames), DEFAULT_FPS
    else:
        check_input_file(path)
        if size is not None or path.suffix.lower() == ".yuv":
            if size is None:
                raise MediaError(f"{path}: raw .yuv has no header; give its size as WxH")
            frames, rate = _load_raw_yuv(path, size, max_frames), DEFAULT_FPS
        else:
            frames, rate = _load_container(path, max_frames)
    return LoadedVideo(_stack(frames, str(path)), float(fps) if fps is not None else rate)

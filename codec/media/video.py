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
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

import numpy as np
import torch
from torch import Tensor

from vqcodec.media.audio import load_audio
from vqcodec.media.errors import MediaError, check_input_file
from vqcodec.media.image import load_image
from vqcodec.media.types import Audio

__all__ = ["DEFAULT_FPS", "VIDEO_OUTPUTS", "LoadedVideo", "encode_y4m", "load_audio_track", "load_video", "parse_size",
           "save_video"]

DEFAULT_FPS = Fraction(25)
_FRAME_SUFFIXES = (".png",)


class LoadedVideo(NamedTuple):
    """``(frames, fps)``: ``frames`` is uint8 RGB ``(3, T, H, W)``; ``fps`` an exact rational (30000/1001)."""

    frames: Tensor
    fps: Fraction


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


def _stack(frames: list[np.ndarray | None], name: str) -> Tensor:
    """``T`` arrays ``(H, W, 3)`` -> ``(3, T, H, W)`` uint8, emptying ``frames`` as they are copied (so the clip is
    held once, not twice, at the peak)."""
    if not frames:
        raise MediaError(f"{name}: no video frames")
    shapes = {f.shape for f in frames if f is not None}
    if len(shapes) > 1:
        raise MediaError(f"{name}: frame size changes within the video ({sorted(shapes)[:2]} ...)")
    (h, w, _), = shapes
    out = torch.empty((3, len(frames), h, w), dtype=torch.uint8)
    for i, frame in enumerate(frames):
        assert frame is not None
        out[:, i] = torch.from_numpy(frame).permute(2, 0, 1)
        frames[i] = None
    return out


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _load_folder(folder: Path, max_frames: int | None) -> list[np.ndarray | None]:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES), key=_natural_key)
    if not files:
        raise MediaError(f"{folder}: folder has no .png frames")
    return [load_image(p).pixels.permute(1, 2, 0).numpy() for p in files[:max_frames]]


def _load_raw_yuv(path: Path, size: str | tuple[int, int], max_frames: int | None) -> list[np.ndarray | None]:
    width, height = parse_size(size)
    if width % 2 or height % 2:
        raise MediaError(f"{path}: raw yuv420p needs an even size, got {width}x{height}")
    frame_bytes = width * height * 3 // 2
    total = path.stat().st_size
    if total % frame_bytes:
        raise MediaError(f"{path}: {total} bytes is not a whole number of {width}x{height} yuv420p frames "
                         f"({frame_bytes} bytes each); is the size right?")
    count = total // frame_bytes if max_frames is None else min(max_frames, total // frame_bytes)
    av, frames = _av(), list[np.ndarray | None]()
    with open(path, "rb") as f:
        for _ in range(count):
            planes = np.frombuffer(f.read(frame_bytes), dtype=np.uint8).reshape(height * 3 // 2, width)
            frames.append(av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24"))
    return frames


def _load_container(path: Path, max_frames: int | None) -> tuple[list[np.ndarray | None], Fraction]:
    av = _av()
    frames: list[np.ndarray | None] = []
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
    return frames, Fraction(rate) if rate else DEFAULT_FPS


def load_video(source: str | os.PathLike[str], max_frames: int | None = None, *,
               size: str | tuple[int, int] | None = None, fps: float | Fraction | None = None) -> LoadedVideo:
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
    if fps is not None and not fps > 0:
        raise MediaError(f"fps must be positive, got {fps}")
    exact = Fraction(fps).limit_denominator(1001) if fps is not None else rate
    return LoadedVideo(_stack(frames, str(path)), exact)


def load_audio_track(path: Path) -> Audio | None:
    """The first audio stream of the video file ``path`` (all of it, at its own rate and channels), or None when
    it has none (a PNG folder, raw yuv, a bare stream, a silent container).

    Raises:
        MediaError: the track is there but cannot be decoded.
    """
    if path.is_dir() or path.suffix.lower() in (".yuv", ".y4m", ".h264", ".264", ".h265", ".265", ".hevc"):
        return None
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
    except av.error.FFmpegError:
        return None  # the video loader has already read it; nothing here is an audio track
    try:
        loaded = load_audio(path, sample_rate=None)
    except MediaError as err:
        raise MediaError(f"{err}: the video's sound track cannot be read (--no-audio codes the video without it)")
    return Audio(loaded.samples, loaded.original_rate)


VIDEO_OUTPUTS = (".y4m", ".mkv", ".mp4")
"""Video output suffixes; any other path without a suffix is a folder of PNG frames."""


def save_video(frames: Tensor, fps: Fraction, dest: str | os.PathLike[str], audio: Audio | None = None) -> bool:
    """Write uint8 RGB ``frames (3, T, H, W)`` at ``fps`` to ``dest``, chosen by its suffix, with the sound
    ``audio`` where the format holds one.

    * ``.mkv``: FFV1, lossless in RGB (``bgr0``): the exact decoded frames; sound as FLAC (the exact decoded 16-bit
      samples); plays in VLC, mpv, ffplay.
    * ``.mp4``: H.264 through ``libx264rgb`` at qp 0, lossless in RGB; sound as AAC (FFmpeg's encoder, 96 kbps per
      channel: lossy, but far above what the speech codec keeps); plays where H.264 High 4:4:4 does (VLC, mpv,
      ffplay; not in most browsers).
    * ``.y4m``: raw 4:4:4 YUV (BT.601, limited range) for video tools; RGB -> YUV rounds by at most one level.
      No sound.
    * no suffix: a folder of ``frame_00001.png`` ... (exact; created, must not exist or be empty). No sound.

    Files are written to a temporary name and renamed, so an existing file is never left half-written.

    Returns:
        Whether ``audio`` was written (False for no ``audio`` and for the formats without sound).
    """
    from vqcodec.fileio import atomic_open

    path = Path(dest)
    suffix = path.suffix.lower()
    video = _FramesHWC(frames)
    if suffix == ".y4m":
        with atomic_open(path) as f:
            _write_y4m(f, video, fps)
    elif suffix in (".mkv", ".mp4"):
        with atomic_open(path) as f:
            _write_container(f, video, fps, "matroska" if suffix == ".mkv" else "mp4", audio)
        return audio is not None
    elif not suffix:
        _write_folder(path, video)
    else:
        raise MediaError(f"{path}: unsupported video output suffix {suffix!r} (use .y4m, .mkv, .mp4 or a folder)")
    return False


def encode_y4m(frames: Tensor, fps: Fraction) -> bytes:
    """uint8 RGB ``frames (3, T, H, W)`` as a 4:4:4 Y4M stream in memory (see :func:`save_video`)."""
    import io

    buf = io.BytesIO()
    _write_y4m(buf, _FramesHWC(frames), fps)
    return buf.getvalue()


class _FramesHWC:
    """The frames of a ``(3, T, H, W)`` tensor as ``(H, W, 3)`` uint8 arrays, made one at a time (a whole clip
    permuted at once would be a second copy of it)."""

    def __init__(self, frames: Tensor) -> None:
        self.frames = frames
        self.shape = (int(frames.shape[1]), int(frames.shape[2]), int(frames.shape[3]), 3)

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.shape[0]):
            yield self.frames[:, i].permute(1, 2, 0).contiguous().numpy()


def _write_y4m(f: BinaryIO, video: _FramesHWC, fps: Fraction) -> None:
    t, h, w = video.shape[:3]
    f.write(f"YUV4MPEG2 W{w} H{h} F{fps.numerator}:{fps.denominator} Ip A1:1 C444\n".encode())
    for frame in video:
        rgb = frame.astype(np.float64)
        y = 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255
        cb = 128 + (-37.797 * rgb[..., 0] - 74.203 * rgb[..., 1] + 112.0 * rgb[..., 2]) / 255
        cr = 128 + (112.0 * rgb[..., 0] - 93.786 * rgb[..., 1] - 18.214 * rgb[..., 2]) / 255
        planes = np.clip(np.rint(np.stack([y, cb, cr])), 0, 255).astype(np.uint8)  # (3, H, W)
        f.write(b"FRAME\n" + planes.tobytes())


def _write_container(f: BinaryIO, video: _FramesHWC, fps: Fraction, fmt: str, audio: Audio | None) -> None:
    av = _av()
    with av.open(f, mode="w", format=fmt) as container:
        if fmt == "matroska":
            stream = container.add_stream("ffv1", rate=fps)
            stream.width, stream.height, stream.pix_fmt = video.shape[2], video.shape[1], "bgr0"
        else:
            stream = container.add_stream("libx264rgb", rate=fps, options={"qp": "0", "preset": "medium"})
            stream.width, stream.height, stream.pix_fmt = video.shape[2], video.shape[1], "rgb24"
        sound = None if audio is None else _SoundTrack(container, audio, "flac" if fmt == "matroska" else "aac")
        for i, frame in enumerate(video, start=1):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
            if sound is not None:  # interleaved: the sound up to the end of this frame
                sound.write_until(i / fps)
        container.mux(stream.encode(None))
        if sound is not None:
            sound.finish()


class _SoundTrack:
    """An audio stream of an output container, fed in step with the video frames so the muxer buffers little."""

    def __init__(self, container: object, audio: Audio, codec: str) -> None:
        av = _av()
        self.container, self.rate = container, int(audio.sample_rate)
        channels = int(audio.samples.shape[0])
        layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}c"
        options = {} if codec == "flac" else {"b": str(96_000 * channels)}
        self.stream = container.add_stream(codec, rate=self.rate, layout=layout, options=options)  # type: ignore[attr-defined]
        self.format = "s16" if codec == "flac" else "fltp"
        self.frame_size = self.stream.codec_context.frame_size or 4096
        samples = audio.samples.clamp(-1.0, 1.0).numpy()
        self.samples = (np.round(samples * 32767).astype(np.int16) if self.format == "s16" else
                        np.ascontiguousarray(samples, dtype=np.float32))
        self.layout, self.done, self.av = layout, 0, av

    def write_until(self, seconds: Fraction) -> None:
        """Encode whole codec frames of sound up to ``seconds``."""
        end = min(self.samples.shape[1], int(seconds * self.rate))
        while self.done + self.frame_size <= end:
            self._put(self.done + self.frame_size)

    def finish(self) -> None:
        """The rest of the sound, then the encoder's flush."""
        while self.done < self.samples.shape[1]:
            self._put(min(self.done + self.frame_size, self.samples.shape[1]))
        self.container.mux(self.stream.encode(None))  # type: ignore[attr-defined]

    def _put(self, end: int) -> None:
        part = self.samples[:, self.done : end]
        data = part.T.reshape(1, -1) if self.format == "s16" else part  # packed s16 / planar float
        frame = self.av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=self.format, layout=self.layout)
        frame.sample_rate, frame.pts = self.rate, self.done
        self.container.mux(self.stream.encode(frame))  # type: ignore[attr-defined]
        self.done = end


def _write_folder(path: Path, video: _FramesHWC) -> None:
    from vqcodec.media.image import save_image

    import shutil
    import tempfile

    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise MediaError(f"{path}: a PNG-frame output folder must not exist yet or be empty")
    if not path.parent.is_dir():
        raise MediaError(f"{path}: folder {path.parent} does not exist")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))  # renamed into place when complete
    try:
        for i, frame in enumerate(video, start=1):
            save_image(torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1), tmp / f"frame_{i:05d}.png")
        if path.exists():
            path.rmdir()
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

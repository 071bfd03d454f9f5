"""Load any supported input as the media the functional API codes, its modality recognised from its content."""

from __future__ import annotations

import os
from pathlib import Path

from vqcodec.media.audio import load_audio
from vqcodec.media.detect import detect
from vqcodec.media.image import load_image
from vqcodec.media.types import Audio, Image, Media, Video
from vqcodec.media.video import load_audio_track, load_video


def load_media(source: str | os.PathLike[str] | bytes, *, size: str | None = None,
               fps: float | None = None, audio: bool = True) -> Media:
    """An :class:`Image`, :class:`Audio` or :class:`Video` from a path (or a file's bytes, for images and audio).

    Args:
        source: a file, a folder of PNG frames, or bytes.
        size: ``WxH`` of a raw yuv420p video.
        fps: frame rate override for videos whose container has none (bare H.264, PNG folders, raw yuv).
        audio: keep a video's sound track (its first audio stream, all of it), if it has one.

    Raises:
        MediaError: the input is missing, empty, unreadable or of no supported kind (one line, naming it).
    """
    modality = detect(source, size_given=size is not None)
    if modality == "image":
        return Image(load_image(source).pixels)
    if modality == "audio":
        loaded = load_audio(source, sample_rate=None)
        return Audio(loaded.samples, loaded.original_rate)
    if isinstance(source, (bytes, bytearray)):
        from vqcodec.media.errors import MediaError

        raise MediaError("<stdin>: videos are read from files, not from stdin")
    video = load_video(Path(source), size=size, fps=fps)
    track = load_audio_track(Path(source)) if audio and size is None else None
    return Video(video.frames, video.fps, track)

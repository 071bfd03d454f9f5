"""Recognise an input's modality from its content (magic bytes), not from its file name.

============  ==========================================================================================
image         PNG, JPEG, GIF, BMP, TIFF, WebP (``RIFF....WEBP``), PPM/PGM/PBM (``P1``-``P6``)
audio         WAV (``RIFF....WAVE``), FLAC, Ogg (Vorbis/Opus), MP3 (ID3 tag or an MPEG audio frame sync),
              AIFF, AU
video         MP4/MOV (``ftyp``), Matroska/WebM, AVI (``RIFF....AVI``), Y4M, MPEG-TS, bare H.264/H.265
              Annex-B streams (start codes), a folder of PNG frames
============  ==========================================================================================

Ogg is taken as audio (Theora video in Ogg is rare); a raw ``.yuv`` file has no signature, so it is recognised by
its suffix when a frame size is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from vqcodec.media.errors import MediaError

_IMAGE = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_AUDIO = (b"fLaC", b"OggS", b"ID3", b"FORM", b".snd")
_VIDEO = (b"\x1a\x45\xdf\xa3", b"YUV4MPEG2", b"\x00\x00\x00\x01", b"\x00\x00\x01")


def detect_bytes(head: bytes) -> str | None:
    """``"image"``, ``"audio"``, ``"video"`` or None for the first bytes (64 are plenty) of a file."""
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": "image", b"WAVE": "audio", b"AVI ": "video"}.get(head[8:12])
    if head.startswith(_IMAGE) or (len(head) >= 2 and head[:1] == b"P" and head[1:2] in b"123456"
                                   and head[2:3] in (b"\n", b" ", b"\r", b"\t")):
        return "image"
    if head[4:8] == b"ftyp" or head.startswith(_VIDEO) or head[:1] == b"\x47" and head[188:189] == b"\x47":
        return "video"
    if head.startswith(_AUDIO) or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio"
    return None


def detect(source: str | os.PathLike[str] | bytes, size_given: bool = False) -> str:
    """The modality of a file (path or bytes) or of a folder of PNG frames.

    Raises:
        MediaError: a missing or empty input, or content that is none of the known formats.
    """
    if isinstance(source, (bytes, bytearray)):
        name, head = "<stdin>", bytes(source[:512])
    else:
        path = Path(source)
        name = str(path)
        if path.is_dir():
            if any(p.suffix.lower() == ".png" for p in path.iterdir()):
                return "video"
            raise MediaError(f"{path}: a folder must hold PNG frames to be read as a video")
        if not path.is_file():
            raise MediaError(f"{path}: no such file")
        if path.suffix.lower() == ".yuv" and size_given:
            return "video"
        with open(path, "rb") as f:
            head = f.read(512)
    if not head:
        raise MediaError(f"{name}: empty input")
    found = detect_bytes(head)
    if found is None:
        raise MediaError(f"{name}: not an image, audio or video file this vqcodec reads")
    return found

"""Media I/O: images, audio, video; padding, cropping, tiling.

Policies (alpha, 16-bit, grayscale, EXIF, size limits) are in ``codec/media/README.md`` and the module
docstrings.
"""

from vqcodec.media.audio import LoadedAudio, encode_audio, load_audio, resample, save_audio
from vqcodec.media.errors import MediaError
from vqcodec.media.image import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    encode_image,
    format_for_path,
    from_tensor,
    load_image,
    save_image,
    to_tensor,
)
from vqcodec.media.pad import Padding, crop, pad_to_multiple
from vqcodec.media.tiler import Tiling, tiled_apply
from vqcodec.media.types import Audio, Image, Media, Video
from vqcodec.media.video import LoadedVideo, load_video, parse_size

__all__ = [
    "Audio",
    "DEFAULT_MAX_PIXELS",
    "Image",
    "Media",
    "Video",
    "LoadedAudio",
    "LoadedImage",
    "LoadedVideo",
    "MediaError",
    "Padding",
    "Tiling",
    "crop",
    "encode_audio",
    "encode_image",
    "format_for_path",
    "from_tensor",
    "load_audio",
    "load_image",
    "load_video",
    "pad_to_multiple",
    "parse_size",
    "resample",
    "save_audio",
    "save_image",
    "tiled_apply",
    "to_tensor",
]

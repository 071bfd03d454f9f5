"""Media I/O: images, audio, video; padding, cropping, tiling.

Policies (alpha, 16-bit, grayscale, EXIF, size limits) are in ``codec/media/README.md`` and the module docstrings.
"""

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
from vqcodec.media.tiling import Tile, TileGrid, TileMerger

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "LoadedImage",
    "MediaError",
    "Padding",
    "Tile",
    "TileGrid",
    "TileMerger",
    "crop",
    "encode_image",
    "format_for_path",
    "from_tensor",
    "load_image",
    "pad_to_multiple",
    "save_image",
    "to_tensor",
]

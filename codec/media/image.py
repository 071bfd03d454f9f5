"""Image loading and saving with Pillow: inputs become 8-bit RGB ``(3, H, W)``; outputs are atomic.

Policies (also in ``codec/media/README.md``):

* **Colour**: the codec works on 8-bit RGB. Grayscale (``1``, ``L``, ``I;16``, ``I``, ``F``) is replicated to
  three equal channels, so a decoded grayscale input comes back as an RGB file with R = G = B. Palette, CMYK,
  YCbCr, LAB and HSV inputs are converted with Pillow's ``convert("RGB")``; embedded ICC profiles are ignored.
* **Alpha** (``RGBA``, ``LA``, ``PA``, palette or ``L``/``RGB`` with a ``tRNS`` transparent colour) is
  composited onto a white background: ``out = round((a * c + (255 - a) * 255) / 255)``. Fully transparent
  pixels become white, opaque ones keep their colour. The alpha channel is not stored;
  :attr:`LoadedImage.had_alpha` records that it existed. White (not black, not "drop alpha") because what was
  invisible in a viewer should stay invisible.
* **16-bit**: 16-bit grayscale is scaled with rounding, ``round(v * 255 / 65535)`` (65535 -> 255, 32768 ->
  128). 16-bit RGB(A) PNG/TIFF are reduced by Pillow's decoder, which keeps the high byte (``v >> 8``); that
  differs from rounding by at most one level. ``I`` (32-bit integer) is read as 16-bit and clipped; ``F`` as
  [0, 1] and clipped.
* **EXIF orientation** is applied (``ImageOps.exif_transpose``), so a portrait photo stored sideways loads
  upright.
* **Multi-frame** files (animated GIF/WebP, multi-page TIFF): the first frame only.
* **Size**: any size from 1x1 up to ``max_pixels`` (default 100 MP), checked from the header before any pixel
  data is decoded. Pillow's own hard limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``) also applies and is reported
  the same way.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from vqcodec.fileio import atomic_write_bytes
from vqcodec.media.errors import MediaError, check_input_file
from vqcodec.media.pixels import to_pixels

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "INPUT_FORMATS",
    "ImageSource",
    "LoadedImage",
    "encode_image",
    "format_for_path",
    "from_tensor",
    "load_image",
    "save_image",
    "to_tensor",
]

DEFAULT_MAX_PIXELS = 100_000_000
# Pillow plugins we let open files (no EPS/PDF/... surprises). "PPM" covers PPM/PGM/PBM/PFM; camera JPEGs with
# several pictures are opened by the JPEG plugin and reported as format "MPO".
INPUT_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "PPM", "GIF")
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_SIXTEEN_BIT_GRAY = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, zlib.error, IndexError)
_SUFFIX_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
    ".bmp": "BMP", ".ppm": "PPM", ".pnm": "PPM",
}
_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "PNG": {"compress_level": 6},
    "JPEG": {"quality": 95, "subsampling": 0},
    "WEBP": {"lossless": True},
    "TIFF": {"compression": "tiff_deflate"},
    "BMP": {},
    "PPM": {},
}

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]


@dataclass(frozen=True)
class LoadedImage:
    """An image as the codec sees it, plus what was lost on the way in.

    Attributes:
        pixels: ``(3, H, W)`` uint8 RGB tensor, EXIF orientation applied, alpha composited onto white.
        format: Pillow's format name of the source (``"PNG"``, ``"JPEG"``, ...).
        source_mode: Pillow mode of the source before conversion (``"L"``, ``"RGBA"``, ``"I;16"``, ``"P"``,
            ...).
        had_alpha: The source had an alpha channel or a transparent colour (now composited onto white).
        bit_depth: Bits per sample of the source (1, 8, 16 or 32).
        orientation: The EXIF orientation tag that was applied (1 = none).
    """

    pixels: Tensor
    format: str
    source_mode: str
    had_alpha: bool
    bit_depth: int
    orientation: int = 1

    @property
    def height(self) -> int:
        """Rows ``H`` (after orientation)."""
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        """Columns ``W`` (after orientation)."""
        return int(self.pixels.shape[2])


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _read_source(source: ImageSource) -> tuple[str, BinaryIO | Path]:
    """A display name and something Pillow can open; checks paths and rejects empty input."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise MediaError("<bytes>: empty input")
        return "<bytes>", io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        if str(source) == "-":
            return _read_source_stream("<stdin>", sys.stdin.buffer)
        return str(source), check_input_file(source)
    return _read_source_stream(str(getattr(source, "name", "<file>")), source)


def _read_source_stream(name: str, stream: BinaryIO) -> tuple[str, BinaryIO]:
    data = stream.read()
    if not data:
        raise MediaError(f"{name}: empty input")
    return name, io.BytesIO(data)


def _open(name: str, fp: BinaryIO | Path) -> Image.Image:
    with warnings.catch_warnings():
        # We enforce our own max_pixels; Pillow's softer warning threshold (89 MP) would only add noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(fp, formats=INPUT_FORMATS)
        except Image.DecompressionBombError as err:
            raise MediaError(f"{name}: too many pixels ({_one_line(err)})") from None
        except UnidentifiedImageError:
            raise MediaError(f"{name}: not an image, or not a supported format (PNG, JPEG, WebP, TIFF, BMP, "
                             "PPM/PGM, GIF)") from None
        except _DECODE_ERRORS as err:
            raise MediaError(f"{name}: corrupt image header ({_one_line(err)})") from None


def _source_bit_depth(img: Image.Image) -> int:
    """Bits per sample of the file, read from the mode and (before ``load()``) the decoder's raw mode."""
    if img.mode == "1":
        return 1
    if img.mode in _SIXTEEN_BIT_GRAY:
        return 16
    if img.mode in ("I", "F"):
        return 32
    rawmodes = [t.args if isinstance(t.args, str) else (t.args or ("",))[0] for t in getattr(img, "tile", [])]
    return 16 if any(isinstance(r, str) and ";16" in r for r in rawmodes) else 8


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in _ALPHA_MODES or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 -> ``(H, W, 3)`` uint8, alpha-blended onto white with rounding."""
    a = rgba[..., 3:4].astype(np.uint32)
    c = rgba[..., :3].astype(np.uint32)
    return ((a * c + (255 - a) * 255 + 127) // 255).astype(np.uint8)


def _to_rgb8(img: Image.Image) -> np.ndarray:
    """Any supported Pillow image -> ``(H, W, 3)`` uint8 following the module's policies."""
    if img.mode in _SIXTEEN_BIT_GRAY or img.mode in ("I", "F"):
        scale = 255.0 if img.mode == "F" else 255.0 / 65535.0
        gray = np.clip(np.rint(np.asarray(img, dtype=np.float64) * scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if _has_alpha(img):
        return _composite_on_white(np.asarray(img.convert("RGBA")))
    return np.asarray(img.convert("RGB"))


def _exif_orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except _DECODE_ERRORS + (KeyError, TypeError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Load an image file as 8-bit RGB, following the policies in the module docstring.

    Args:
        source: A path (``"-"`` reads stdin), the file's bytes, or a binary file object.
        max_pixels: Largest ``W * H`` accepted; checked from the header before the pixels are decoded.

    Returns:
        A :class:`LoadedImage` whose ``pixels`` are ``(3, H, W)`` uint8.

    Raises:
        MediaError: Missing file, a directory, empty input, not a supported image, truncated or corrupt data,
            or more than ``max_pixels`` pixels. The message is one line and starts with the source's name.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    name, fp = _read_source(source)
    with _open(name, fp) as img:
        width, height = img.size
        if width * height > max_pixels:
            size = f"{width}x{height} = {width * height}"
            raise MediaError(f"{name}: too many pixels ({size} > max {max_pixels})")
        fmt, mode, bit_depth = str(img.format), img.mode, _source_bit_depth(img)
        try:
            img.load()  # full decode now, so that truncation is an error here rather than garbage later
            orientation = _exif_orientation(img)
            upright = ImageOps.exif_transpose(img) if orientation != 1 else img
            had_alpha = _has_alpha(img)
            rgb = _to_rgb8(upright)
        except _DECODE_ERRORS as err:
            raise MediaError(f"{name}: truncated or corrupt image data ({_one_line(err)})") from None
    pixels = torch.from_numpy(rgb.transpose(2, 0, 1).copy())  # own, writable, contiguous
    return LoadedImage(pixels, fmt, mode, had_alpha, bit_depth, orientation)


def to_tensor(pixels: Tensor) -> Tensor:
    """uint8 ``(3, H, W)`` or ``(B, 3, H, W)`` -> float32 ``(1, 3, H, W)`` or ``(B, 3, H, W)`` in [0, 1]."""
    if pixels.dtype != torch.uint8 or pixels.dim() not in (3, 4):
        got = f"{pixels.dtype} {tuple(pixels.shape)}"
        raise ValueError(f"expected uint8 (3, H, W) or (B, 3, H, W) pixels, got {got}")
    x = pixels.to(torch.float32) / 255.0
    return x.unsqueeze(0) if x.dim() == 3 else x


def from_tensor(x: Tensor) -> Tensor:
    """Float ``(1, 3, H, W)`` or ``(3, H, W)`` -> uint8 ``(3, H, W)`` (NaN -> 0, clamp, round)."""
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"from_tensor takes one image, got batch of {x.shape[0]}")
        x = x[0]
    if x.dim() != 3 or not x.is_floating_point():
        raise ValueError(f"expected a float (1, 3, H, W) or (3, H, W) tensor, got {x.dtype} {tuple(x.shape)}")
    return to_pixels(x).contiguous()


def format_for_path(path: str | os.PathLike[str]) -> str:
    """Pillow format name for an output path's suffix (no suffix -> PNG).

    Raises:
        MediaError: The suffix is not one of .png .jpg .jpeg .webp .tif .tiff .bmp .ppm .pnm.
    """
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "PNG"
    if suffix not in _SUFFIX_FORMATS:
        known = " ".join(sorted(_SUFFIX_FORMATS))
        raise MediaError(f"{path}: unsupported image output suffix {suffix!r} (use one of {known})")
    return _SUFFIX_FORMATS[suffix]


def _as_uint8_rgb(pixels: Tensor) -> np.ndarray:
    if pixels.is_floating_point():
        pixels = from_tensor(pixels)
    if pixels.dtype != torch.uint8 or pixels.dim() != 3 or pixels.shape[0] != 3:
        raise ValueError(f"expected uint8 (3, H, W) pixels, got {pixels.dtype} {tuple(pixels.shape)}")
    return np.ascontiguousarray(pixels.detach().cpu().numpy().transpose(1, 2, 0))


def encode_image(pixels: Tensor, format: str = "PNG") -> bytes:
    """Encode RGB pixels as an image file in memory.

    Args:
        pixels: uint8 ``(3, H, W)``, or float ``(1, 3, H, W)`` / ``(3, H, W)`` in [0, 1] (see
            :func:`from_tensor`).
        format: ``"PNG"`` (default), ``"JPEG"`` (quality 95, 4:4:4), ``"WEBP"`` (lossless), ``"TIFF"``,
            ``"BMP"`` or ``"PPM"``.

    Returns:
        The encoded file.

    Raises:
        MediaError: Unknown format, or the format cannot hold this image (e.g. WebP beyond 16383 px a side).
    """
    fmt = format.upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt not in _SAVE_OPTIONS:
        raise MediaError(f"unsupported image output format {format!r} (use one of {sorted(_SAVE_OPTIONS)})")
    img = Image.fromarray(_as_uint8_rgb(pixels), mode="RGB")
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **_SAVE_OPTIONS[fmt])
    except (OSError, ValueError) as err:
        size = f"{img.width}x{img.height}"
        raise MediaError(f"cannot encode a {size} image as {fmt}: {_one_line(err)}") from None
    return buf.getvalue()


def save_image(pixels: Tensor, dest: str | os.PathLike[str] | BinaryIO, format: str | None = None) -> None:
    """Save RGB pixels to a file (atomically), to stdout (``"-"``), or to a binary file object.

    Args:
        pixels: uint8 ``(3, H, W)``, or float ``(1, 3, H, W)`` / ``(3, H, W)`` in [0, 1].
        dest: Output path, ``"-"`` for stdout, or a writable binary file object.
        format: Pillow format name; by default chosen from the path's suffix (PNG when there is none, and for
            stdout / file objects).

    Raises:
        MediaError: Unsupported suffix or format.
        vqcodec.fileio.WriteError: The path cannot be written (an existing file is then left untouched).
    """
    if isinstance(dest, (str, os.PathLike)) and str(dest) != "-":
        data = encode_image(pixels, format or format_for_path(dest))
        atomic_write_bytes(dest, data)
        return
    data = encode_image(pixels, format or "PNG")
    stream = sys.stdout.buffer if isinstance(dest, (str, os.PathLike)) else dest
    stream.write(data)
    stream.flush()

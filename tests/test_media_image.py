"""Image loading: every format and mode becomes the right 8-bit RGB; bad inputs are one-line MediaErrors."""

from __future__ import annotations

import io
import struct
import sys
import types
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vqcodec.media import MediaError, from_tensor, load_image, to_tensor


def _rgb(li) -> tuple[int, int, int]:
    """The colour of pixel (0, 0)."""
    return tuple(int(v) for v in li.pixels[:, 0, 0])


def _png_bytes(width: int, height: int, depth: int, color_type: int, raw: bytes) -> bytes:
    """A hand-made PNG (lets us write 48-bit RGB and headers that lie about the size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("suffix,kw", [
    (".png", {}), (".webp", {"lossless": True}), (".tif", {}), (".bmp", {}), (".ppm", {}),
])
@pytest.mark.parametrize("size", [(1, 1), (7, 5), (3, 13)])
def test_lossless_formats_load_exact_rgb(tmp_path: Path, suffix: str, kw: dict,
                                         size: tuple[int, int]) -> None:
    arr = np.random.randint(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path = _save(Image.fromarray(arr), tmp_path / f"x{suffix}", **kw)
    li = load_image(path)
    assert li.pixels.dtype == torch.uint8 and tuple(li.pixels.shape) == (3, size[1], size[0])
    assert (li.width, li.height) == size
    assert np.array_equal(li.pixels.permute(1, 2, 0).numpy(), arr)
    assert li.bit_depth == 8 and not li.had_alpha


def test_jpeg_loads_close_to_source(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (9, 6), (200, 100, 50)), tmp_path / "x.jpg", quality=100)
    li = load_image(path)
    assert li.format == "JPEG" and tuple(li.pixels.shape) == (3, 6, 9)
    assert (li.pixels.int() - torch.tensor([200, 100, 50]).view(3, 1, 1)).abs().max() <= 2


@pytest.mark.parametrize("mode,value,suffix", [
    ("L", 77, ".png"), ("L", 77, ".pgm"), ("L", 77, ".jpg"), ("1", 1, ".png"), ("1", 1, ".bmp"),
])
def test_grayscale_is_replicated_to_rgb(tmp_path: Path, mode: str, value: int, suffix: str) -> None:
    li = load_image(_save(Image.new(mode, (5, 3), value), tmp_path / f"g{suffix}"))
    expect = 255 if mode == "1" else 77
    tol = 1 if suffix == ".jpg" else 0
    assert (li.pixels.int() - expect).abs().max() <= tol
    assert li.source_mode == mode


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grayscale_is_rounded(tmp_path: Path, suffix: str) -> None:
    arr = np.array([[0, 65535, 32768, 128, 129, 257]], dtype=np.uint16)
    li = load_image(_save(Image.fromarray(arr), tmp_path / f"g16{suffix}"))
    assert li.bit_depth == 16
    expect = np.rint(arr.astype(np.float64) * 255 / 65535).astype(np.uint8)  # 0 255 128 0 1 1
    for c in range(3):
        assert np.array_equal(li.pixels[c].numpy(), expect)


def test_16bit_rgb_png_keeps_high_byte() -> None:
    px = np.array([[[65535, 32768, 257], [0, 128, 65280]]], dtype=">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in px)
    li = load_image(_png_bytes(2, 1, 16, 2, raw))
    assert li.bit_depth == 16 and li.source_mode == "RGB"
    assert li.pixels[:, 0, 0].tolist() == [255, 128, 1]
    assert li.pixels[:, 0, 1].tolist() == [0, 0, 255]


def test_rgba_is_composited_onto_white(tmp_path: Path) -> None:
    arr = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 0, 0, 128]]], dtype=np.uint8)
    li = load_image(_save(Image.fromarray(arr, "RGBA"), tmp_path / "a.png"))
    assert li.had_alpha and li.source_mode == "RGBA"
    assert li.pixels[:, 0, 0].tolist() == [255, 255, 255]
    assert li.pixels[:, 0, 1].tolist() == [10, 20, 30]
    assert li.pixels[:, 0, 2].tolist() == [127, 127, 127]  # round(127 * 255 / 255)


def test_la_and_palette_transparency(tmp_path: Path) -> None:
    la = load_image(_save(Image.new("LA", (2, 2), (40, 0)), tmp_path / "la.png"))
    assert la.had_alpha and _rgb(la) == (255, 255, 255)
    pal = Image.new("P", (3, 2), 1)
    pal.putpalette([0, 0, 0, 250, 10, 10] + [0] * 762)
    plain = load_image(_save(pal, tmp_path / "p.png"))
    assert not plain.had_alpha and plain.source_mode == "P" and _rgb(plain) == (250, 10, 10)
    transparent = load_image(_save(pal, tmp_path / "pt.png", transparency=1))
    assert transparent.had_alpha and _rgb(transparent) == (255, 255, 255)
    gif = load_image(_save(pal, tmp_path / "p.gif"))
    assert gif.format == "GIF" and _rgb(gif) == (250, 10, 10)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_is_converted(tmp_path: Path, suffix: str) -> None:
    li = load_image(_save(Image.new("CMYK", (4, 4), (0, 0, 0, 0)), tmp_path / f"c{suffix}"))
    assert li.source_mode == "CMYK"
    assert (li.pixels.int() - 255).abs().max() <= 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (4, 2), (0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    li = load_image(_save(img, tmp_path / "o.png", exif=exif))
    assert li.orientation == 6 and (li.width, li.height) == (2, 4)
    assert li.pixels[:, 0, 1].tolist() == [255, 0, 0]  # the top-left corner went to the top-right
    jpg = load_image(_save(img, tmp_path / "o.jpg", exif=exif))
    assert (jpg.width, jpg.height) == (2, 4)


def test_sources_path_bytes_fileobj_stdin(monkeypatch: pytest.MonkeyPatch, samples_dir: Path) -> None:
    path = samples_dir / "crop_a.png"
    ref = load_image(path).pixels
    assert tuple(ref.shape) == (3, 128, 128)
    data = path.read_bytes()
    assert torch.equal(load_image(str(path)).pixels, ref)
    assert torch.equal(load_image(data).pixels, ref)
    with open(path, "rb") as f:
        assert torch.equal(load_image(f).pixels, ref)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    assert torch.equal(load_image("-").pixels, ref)


def _bad(tmp_path: Path, kind: str):
    if kind == "text":
        p = tmp_path / "notes.png"
        p.write_text("this is not an image\n")
        return p
    if kind == "truncated":
        buf = io.BytesIO()
        Image.fromarray(np.random.randint(0, 256, (40, 50, 3), dtype=np.uint8)).save(buf, "PNG")
        p = tmp_path / "cut.png"
        p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        return p
    if kind == "empty":
        p = tmp_path / "empty.png"
        p.write_bytes(b"")
        return p
    if kind == "directory":
        return tmp_path
    if kind == "missing":
        return tmp_path / "nope.png"
    if kind == "empty-bytes":
        return b""
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,words", [
    ("text", "not an image"), ("truncated", "truncated"), ("empty", "empty"), ("directory", "directory"),
    ("missing", "no such file"), ("empty-bytes", "empty"),
])
def test_bad_inputs_raise_one_line_media_error(tmp_path: Path, kind: str, words: str) -> None:
    with pytest.raises(MediaError) as info:
        load_image(_bad(tmp_path, kind))
    msg = str(info.value)
    assert words in msg and "\n" not in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("width,height", [(12_000, 12_000), (100_000, 100_000)])
def test_decompression_bomb_rejected_from_header(width: int, height: int) -> None:
    # The header claims 144 MP (over our 100 MP default) or 10 GP (over Pillow's hard limit); there is one row
    # of data, so getting past the header check would fail with "truncated" instead and allocate gigabytes.
    bomb = _png_bytes(width, height, 8, 0, b"\x00" * (width + 1))
    with pytest.raises(MediaError, match="too many pixels") as info:
        load_image(bomb)
    assert "\n" not in str(info.value)


def test_max_pixels_is_configurable(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (100, 60)), tmp_path / "big.png")
    assert load_image(path, max_pixels=6000).width == 100
    with pytest.raises(MediaError, match="100x60 = 6000 > max 5999"):
        load_image(path, max_pixels=5999)


def test_tensor_helpers_round_trip_and_clamp() -> None:
    pixels = torch.arange(256, dtype=torch.uint8).repeat(3, 2, 1)  # (3, 2, 256)
    x = to_tensor(pixels)
    assert x.shape == (1, 3, 2, 256) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert torch.equal(from_tensor(x), pixels)
    assert torch.equal(from_tensor(x + 0.49 / 255), pixels)  # rounding, not truncation
    wild = torch.tensor([-0.5, 1.5, float("nan"), 0.5]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    assert from_tensor(wild)[0, 0].tolist() == [0, 255, 0, 128]
    with pytest.raises(ValueError):
        to_tensor(x)
    with pytest.raises(ValueError):
        from_tensor(pixels)

"""Saving images and atomic writes: format per suffix, nothing half-written, clear errors for bad paths."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
import torch

from vqcodec.fileio import WriteError, atomic_open, atomic_write_bytes
from vqcodec.media import MediaError, encode_image, format_for_path, load_image, save_image


def _pixels(h: int = 5, w: int = 7) -> torch.Tensor:
    return torch.randint(0, 256, (3, h, w), dtype=torch.uint8)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("name,fmt", [
    ("a.png", "PNG"), ("a.PNG", "PNG"), ("a.webp", "WEBP"), ("a.tiff", "TIFF"), ("a.tif", "TIFF"),
    ("a.bmp", "BMP"), ("a.ppm", "PPM"), ("noext", "PNG"),
])
def test_lossless_save_round_trips(tmp_path: Path, name: str, fmt: str) -> None:
    pixels = _pixels()
    save_image(pixels, tmp_path / name)
    li = load_image(tmp_path / name)
    assert li.format == fmt and torch.equal(li.pixels, pixels)
    assert _leftovers(tmp_path) == []


def test_jpeg_save_and_float_input(tmp_path: Path) -> None:
    flat = torch.full((1, 3, 8, 8), 0.5)
    save_image(flat, tmp_path / "a.jpg")
    li = load_image(tmp_path / "a.jpg")
    assert li.format == "JPEG" and (li.pixels.int() - 128).abs().max() <= 1
    assert format_for_path("x.JPEG") == "JPEG"


def test_save_to_file_object_and_stdout(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    pixels = _pixels(1, 1)
    buf = io.BytesIO()
    save_image(pixels, buf)
    assert torch.equal(load_image(buf.getvalue()).pixels, pixels)
    save_image(pixels, "-", format="BMP")
    out = capsysbinary.readouterr().out
    assert out[:2] == b"BM" and torch.equal(load_image(out).pixels, pixels)
    assert encode_image(pixels)[:4] == b"\x89PNG"


def test_bad_format_and_pixels(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="unsupported image output suffix"):
        save_image(_pixels(), tmp_path / "a.gifx")
    with pytest.raises(MediaError, match="unsupported image output format"):
        encode_image(_pixels(), "EPS")
    with pytest.raises(ValueError, match="expected uint8"):
        save_image(torch.zeros(4, 5, 5, dtype=torch.uint8), tmp_path / "a.png")
    with pytest.raises(MediaError, match="cannot encode"):
        encode_image(torch.zeros(3, 1, 16400, dtype=torch.uint8), "WEBP")
    assert _leftovers(tmp_path) == [] and not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("where", ["missing-folder", "parent-is-file", "target-is-dir"])
def test_unwritable_destinations_raise_write_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()
    dest = {"missing-folder": tmp_path / "no" / "a.png", "parent-is-file": tmp_path / "file" / "a.png",
            "target-is-dir": tmp_path / "dir.png"}[where]
    with pytest.raises(WriteError) as info:
        save_image(_pixels(), dest)
    assert str(dest) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, OSError) and _leftovers(tmp_path) == []


def test_a_target_nobody_can_create_raises_write_error(tmp_path: Path) -> None:
    """Creating the temporary file fails even for root when the name is too long (ENAMETOOLONG): the error is a
    one-line WriteError naming the path, and nothing is left behind."""
    target = tmp_path / ("x" * 250 + ".bin")
    with pytest.raises(WriteError, match="cannot write") as info:
        atomic_write_bytes(target, b"data")
    assert "\n" not in str(info.value) and _leftovers(tmp_path) == []


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first" and stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o600)
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


def test_failure_midway_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(target) as f:
            f.write(b"half of the new con")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"precious" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_os_failure_is_write_error_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  failing: str) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"precious")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(WriteError, match="no space left on device"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"precious" and _leftovers(tmp_path) == []

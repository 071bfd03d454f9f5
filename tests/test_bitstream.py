"""The .vq container and `vqcodec info`: round trips, overhead, validation, typed errors, the version-1 reader."""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from prior_helpers import one_thread, tiny_prior  # noqa: F401 (fixture)
from vqcodec.bitstream import (
    CorruptStreamError,
    DesyncError,
    Header,
    ModelMismatchError,
    UnsupportedVersionError,
    VQFields,
    read,
    write,
)
from vqcodec.bitstream.varint import encode_varint
from vqcodec.cli.main import cli
from vqcodec.entropy import compress_indices, decompress_indices

GOLDEN = Path(__file__).parent / "golden"
FIELDS = VQFields((64, 96), (16, 16), 1, 1024, symbol_crc=0xDEADBEEF)
IMAGE = Header("vqvae2d-ema", "0123abcd", "image", "vq", (3, 512, 768), (0, 0), 3, FIELDS)


def _recrc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def test_header_round_trip_and_image_overhead_under_64_bytes() -> None:
    payload = bytes(range(200)) * 100
    data = write(IMAGE, [payload])
    header, sections = read(data)
    assert header == IMAGE and sections == [payload] and data[3] == 2
    assert len(data) - len(payload) < 64
    audio = dataclasses.replace(IMAGE, modality="audio", shape=(2, 48000), padding=(0,), sample_rate=24000,
                                fields=VQFields((750,), (256,), 8, 1024, 7, tile_group=16))
    video = dataclasses.replace(IMAGE, modality="video", shape=(3, 16, 64, 64), padding=(0, 0, 0),
                                frame_rate=(30000, 1001), fields=VQFields((4, 8, 8), (2, 8, 8), 1, 1024))
    for h in (audio, video):
        assert read(write(h, [b"", b"x"])) == (h, [b"", b"x"])


@pytest.mark.parametrize("change", [
    dict(shape=(3, 10**6, 10**6)), dict(model=""), dict(model="é"), dict(weights_sha256="xyz"),
    dict(modality="smell"), dict(precision=8), dict(padding=()), dict(frame_rate=(30, 0)), dict(quality=300),
])
def test_header_rejects_invalid_fields(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        dataclasses.replace(IMAGE, **change)


@pytest.mark.parametrize("change", [
    dict(latent_grid=(10**5, 10**5)), dict(tile_shape=(128, 16)), dict(codebook_size=1 << 20), dict(batch=0),
    dict(tile_shape=(16,)), dict(num_stages=0),
])
def test_vq_section_rejects_invalid_fields(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        dataclasses.replace(FIELDS, **change)


def test_unknown_kinds_are_unsupported_not_garbage() -> None:
    with pytest.raises(UnsupportedVersionError, match="unknown codec kind"):
        dataclasses.replace(IMAGE, codec_kind="smell")
    data = write(IMAGE, [b"abcd"])
    forged = data.replace(b"\x02vq", b"\x02zz", 1)
    with pytest.raises(UnsupportedVersionError, match="unknown codec kind 'zz'"):
        read(_recrc(forged[:-4]))


def test_reader_rejects_huge_claims_before_allocating() -> None:
    data = bytearray(write(IMAGE, [b"abcd"]))
    body = data[:-4]
    # Rewrite the original shape (3, 512, 768) to (3, 10**6, 10**6), keeping the lengths and the CRC valid.
    old = encode_varint(3) + encode_varint(512) + encode_varint(768)
    new = encode_varint(3) + encode_varint(10**6) + encode_varint(10**6)
    start = body.index(old)
    grown = len(new) - len(old)
    body = body[:start] + new + body[start + len(old):]
    body[4] += grown  # total length (one byte here)
    body[5] += grown  # header length (one byte here)
    with pytest.raises(CorruptStreamError, match="too large"):
        read(_recrc(bytes(body)))


def test_reader_errors_are_typed_and_truncation_says_how_much() -> None:
    data = write(IMAGE, [b"payload!" * 50])
    with pytest.raises(CorruptStreamError):
        read(b"PNG" + data[3:])
    with pytest.raises(UnsupportedVersionError):
        read(data[:3] + b"\x09" + data[4:])
    with pytest.raises(CorruptStreamError, match="CRC"):
        read(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    with pytest.raises(CorruptStreamError, match=rf"truncated .vq file \({len(data) - 5} of {len(data)} bytes\)"):
        read(data[:-5])
    with pytest.raises(CorruptStreamError, match="trailing"):
        read(data + b"\x00")
    with pytest.raises(CorruptStreamError):
        read(b"")


def test_version_1_files_still_read_and_truncation_is_reported() -> None:
    """The committed golden file of the shipped vq-image (format version 1) keeps reading."""
    data = (GOLDEN / "vq-image-v1.vq").read_bytes()
    assert data[3] == 1
    header, sections = read(data)
    assert (header.model, header.modality, header.codec_kind, header.quality) == ("vq-image", "image", "vq", 2)
    assert header.fields == VQFields((16, 16), (16, 16), 2, 256, header.fields.symbol_crc)
    assert len(sections) == 1 and len(data) - len(sections[0]) < 64
    with pytest.raises(CorruptStreamError, match=rf"truncated .vq file \({len(data) - 7} of {len(data)} bytes\)"):
        read(data[:-7])
    with pytest.raises(CorruptStreamError, match="truncated"):
        read(data[:30])


def test_indices_file_round_trip_and_mismatch_errors() -> None:
    prior = tiny_prior(2, stages=2)
    idx = torch.randint(0, 16, (1, 6, 7, 2))
    template = dataclasses.replace(IMAGE, shape=(3, 48, 56), fields=VQFields((6, 7), (4, 4), 1, 16))
    data = compress_indices(idx, prior, template)
    header, out = decompress_indices(data, prior, model="vqvae2d-ema", weights_sha256="0123abcd99")
    assert torch.equal(out, idx) and header.fields.latent_grid == (6, 7) and header.fields.num_stages == 2
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, prior, model="other")
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, prior, weights_sha256="ffffffff")
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, tiny_prior(2, stages=1))
    with pytest.raises(CorruptStreamError):
        decompress_indices(data, prior, max_indices=10)
    # Same payload and a valid container CRC, but another symbol CRC: the decoder must refuse the result.
    bad = dataclasses.replace(header.fields, symbol_crc=header.fields.symbol_crc ^ 1)
    forged = write(dataclasses.replace(header, fields=bad), read(data)[1])
    with pytest.raises(DesyncError):
        decompress_indices(forged, prior)


def test_cli_info_shows_common_and_kind_fields(tmp_path: Path) -> None:
    good, bad = tmp_path / "a.vq", tmp_path / "b.vq"
    good.write_bytes(write(IMAGE, [b"1234"]))
    bad.write_bytes(b"VQC\x02garbage")
    runner = CliRunner()
    res = runner.invoke(cli, ["info", str(good)])
    assert res.exit_code == 0 and "vqvae2d-ema" in res.output and "vq.latent_grid" in res.output
    res = runner.invoke(cli, ["info", str(good), "--json"])
    fields = json.loads(res.output)
    assert res.exit_code == 0 and fields["payload_bytes"] == 4 and fields["vq.codebook_size"] == 1024
    assert fields["format_version"] == 2 and fields["modality"] == "image"
    for path in (bad, tmp_path / "missing.vq"):
        res = runner.invoke(cli, ["info", str(path)])
        assert res.exit_code != 0 and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("Error:")

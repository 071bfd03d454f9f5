"""The .vq container and `vqcodec info`: round trips, overhead, validation, typed errors."""

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
    read,
    write,
)
from vqcodec.bitstream.varint import encode_varint
from vqcodec.cli.main import cli
from vqcodec.entropy import compress_indices, decompress_indices

IMAGE = Header("vqvae2d-ema", "0123abcd", "image", "vq", (3, 512, 768), (64, 96), (0, 0), (16, 16), 1, 1024, 16,
               symbol_crc=0xDEADBEEF, quality=3)


def _recrc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def test_header_round_trip_and_image_overhead_under_64_bytes() -> None:
    payload = bytes(range(200))
    data = write(IMAGE, [payload])
    header, sections = read(data)
    assert header == IMAGE and sections == [payload]
    assert len(data) - len(payload) < 64
    audio = dataclasses.replace(IMAGE, modality="audio", shape=(1, 48000), latent_grid=(750,), padding=(0,),
                                tile_shape=(256,), sample_rate=24000, num_stages=8)
    video = dataclasses.replace(IMAGE, modality="video", shape=(3, 16, 64, 64), latent_grid=(4, 8, 8),
                                padding=(0, 0, 0), tile_shape=(2, 8, 8), frame_rate=(30000, 1001))
    for h in (audio, video):
        assert read(write(h, [b"", b"x"])) == (h, [b"", b"x"])


@pytest.mark.parametrize("change", [
    dict(shape=(3, 10**6, 10**6)), dict(latent_grid=(10**5, 10**5)), dict(model=""), dict(model="é"),
    dict(weights_sha256="xyz"), dict(modality="smell"), dict(tile_shape=(128, 16)), dict(precision=8),
    dict(codebook_size=1 << 20), dict(padding=(0,)), dict(batch=0), dict(frame_rate=(30, 0)),
])
def test_header_rejects_invalid_fields(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        dataclasses.replace(IMAGE, **change)


def test_reader_rejects_huge_claims_before_allocating() -> None:
    data = bytearray(write(IMAGE, [b"abcd"]))
    body = data[:-4]
    # Rewrite the original shape (3, 512, 768) to (3, 10**6, 10**6), keeping the CRC valid.
    old = encode_varint(3) + encode_varint(512) + encode_varint(768)
    new = encode_varint(3) + encode_varint(10**6) + encode_varint(10**6)
    start = body.index(old)
    body = body[:start] + new + body[start + len(old):]
    body[4] += len(new) - len(old)  # header length varint (one byte here)
    with pytest.raises(CorruptStreamError, match="too large"):
        read(_recrc(bytes(body)))


def test_reader_errors_are_typed() -> None:
    data = write(IMAGE, [b"payload!"])
    with pytest.raises(CorruptStreamError):
        read(b"PNG" + data[3:])
    with pytest.raises(UnsupportedVersionError):
        read(data[:3] + b"\x09" + data[4:])
    with pytest.raises(CorruptStreamError, match="CRC"):
        read(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    with pytest.raises(CorruptStreamError):
        read(data[:-5])
    with pytest.raises(CorruptStreamError, match="trailing"):
        read(_recrc(data[:-4] + b"\x00"))
    with pytest.raises(CorruptStreamError):
        read(b"")


def test_indices_file_round_trip_and_mismatch_errors() -> None:
    prior = tiny_prior(2, stages=2)
    idx = torch.randint(0, 16, (1, 6, 7, 2))
    template = dataclasses.replace(IMAGE, shape=(3, 48, 56), latent_grid=(6, 7), padding=(0, 0), tile_shape=(4, 4),
                                   num_stages=1, codebook_size=16, precision=16)
    data = compress_indices(idx, prior, template)
    header, out = decompress_indices(data, prior, model="vqvae2d-ema", weights_sha256="0123abcd99")
    assert torch.equal(out, idx) and header.latent_grid == (6, 7) and header.num_stages == 2
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, prior, model="other")
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, prior, weights_sha256="ffffffff")
    with pytest.raises(ModelMismatchError):
        decompress_indices(data, tiny_prior(2, stages=1))
    with pytest.raises(CorruptStreamError):
        decompress_indices(data, prior, max_indices=10)
    # Same payload and a valid container CRC, but another symbol CRC: the decoder must refuse the result.
    forged = write(dataclasses.replace(header, symbol_crc=header.symbol_crc ^ 1), read(data)[1])
    with pytest.raises(DesyncError):
        decompress_indices(forged, prior)


def test_cli_info(tmp_path: Path) -> None:
    good, bad = tmp_path / "a.vq", tmp_path / "b.vq"
    good.write_bytes(write(IMAGE, [b"1234"]))
    bad.write_bytes(b"VQC\x01garbage")
    runner = CliRunner()
    res = runner.invoke(cli, ["info", str(good)])
    assert res.exit_code == 0 and "vqvae2d-ema" in res.output and "latent_grid" in res.output
    res = runner.invoke(cli, ["info", str(good), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["payload_bytes"] == 4
    for path in (bad, tmp_path / "missing.vq"):
        res = runner.invoke(cli, ["info", str(path)])
        assert res.exit_code != 0 and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("Error:")

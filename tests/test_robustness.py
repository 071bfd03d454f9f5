"""Hostile and awkward inputs found by review: forged files that claim much and hold little, media that could be
encoded but not decoded, malformed weights, batches with a bad file, the demo's outputs."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import vqcodec
from vqcodec.bitstream import CorruptStreamError, VQCodecError, container
from vqcodec.bitstream.varint import encode_varint
from vqcodec.cli.main import cli
from vqcodec.media import Audio, Image
from vqcodec.registry import load_model
from vqcodec.weights_io import WeightsError, load_weights, save_weights

SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


@pytest.fixture(scope="module")
def model(tiny_codec_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_codec_path)


def _forge(data: bytes, **fields: object) -> bytes:
    header, sections = container.read(data)
    return container.write(dataclasses.replace(header, fields=dataclasses.replace(header.fields, **fields)), sections)


def test_a_short_payload_cannot_claim_a_large_grid(model) -> None:  # type: ignore[no-untyped-def]
    data = vqcodec.compress(Image(torch.zeros(3, 8, 8, dtype=torch.uint8)), model, 2)
    header, _ = container.read(data)
    big = dataclasses.replace(header, shape=(3, 1600, 1600), fields=dataclasses.replace(
        header.fields, latent_grid=(400, 400), tile_shape=(8, 8)))
    with pytest.raises(CorruptStreamError, match="cannot hold"):
        vqcodec.decompress(container.write(big, [b""]), model)


def test_decoding_stops_when_the_payload_runs_out(model) -> None:  # type: ignore[no-untyped-def]
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)), model, 2)
    header, (payload,) = container.read(data)
    with pytest.raises(CorruptStreamError, match="ran out|does not end|cannot hold"):
        vqcodec.decompress(container.write(header, [payload[: len(payload) // 3 // 4 * 4]]), model)


def test_forged_coding_layouts_are_refused(model) -> None:  # type: ignore[no-untyped-def]
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)), model, 2)
    for change in (dict(tile_group=7), dict(num_stages=1)):
        with pytest.raises(VQCodecError):
            vqcodec.decompress(_forge(data, **change), model)


def test_media_a_file_could_not_hold_is_refused_before_coding(tiny_audio_codec_path: Path) -> None:
    audio = load_model(tiny_audio_codec_path)
    with pytest.raises(ValueError, match="at most 64 channels"):
        vqcodec.compress(Audio(torch.zeros(65, 1600), 16000), audio)
    from fractions import Fraction

    from vqcodec.media.adapters import exact_fps

    assert exact_fps(Fraction(29.97)) == Fraction(30000, 1001)
    with pytest.raises(ValueError, match="frame rate"):
        exact_fps(Fraction(1, 10**9))


def test_model_files_that_cannot_name_a_stream_or_do_not_fit_are_one_line(tiny_codec_path: Path,
                                                                           tmp_path: Path) -> None:
    long = tmp_path / ("m" * 70 + ".safetensors")
    shutil.copy(tiny_codec_path, long)
    with pytest.raises(WeightsError, match="1-64 printable ASCII"):
        load_model(long)
    wf = load_weights(tiny_codec_path)
    broken = tmp_path / "broken.safetensors"
    save_weights(broken, "vq", {"model": {"net": {"dims": "two"}}}, wf.tensors)
    with pytest.raises(WeightsError, match="do not describe a vq model"):
        load_model(broken)
    missing = tmp_path / "missing.safetensors"
    save_weights(missing, "vq", wf.config, {"prior": wf.tensors["prior"]})
    with pytest.raises(WeightsError):
        load_model(missing)


def test_a_large_stride_model_tiles_large_images(tmp_path: Path) -> None:
    from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
    from vqcodec.config import PriorConfig
    from vqcodec.priors import build_prior

    net = NetConfig(dims=2, hidden=4, max_hidden=4, strides=(4, 4, 8), num_res_blocks=0)
    vq = VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, num_stages=1, kmeans_init=False))
    prior = PriorConfig(dims=2, codebook_size=16, num_stages=1, channels=4, num_layers=1, tile_shape=(4, 4))
    path = tmp_path / "stride128.safetensors"
    save_weights(path, "vq", {"model": vq.to_dict(), "prior": prior.to_dict()},
                 {"model": VQVAE(vq).state_dict(), "prior": build_prior(prior).state_dict()})
    image = Image(torch.randint(0, 256, (3, 600, 700), dtype=torch.uint8))
    out = vqcodec.decompress(vqcodec.compress(image, str(path), 1), str(path))
    assert isinstance(out, Image) and out.pixels.shape == image.pixels.shape


def test_a_bad_file_in_a_decode_batch_does_not_stop_the_others(tiny_codec_path: Path, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.vq", tmp_path / "bad.vq"
    good.write_bytes(vqcodec.compress(Image(torch.zeros(3, 8, 8, dtype=torch.uint8)), str(tiny_codec_path)))
    bad.write_bytes(b"VQC\x02garbage")
    res = CliRunner().invoke(cli, ["decode", str(good), str(bad), "-d", str(tmp_path / "out"), "-m",
                                   str(tiny_codec_path)])
    assert res.exit_code != 0 and "1 of 2 files failed" in res.output
    assert (tmp_path / "out" / "good.decoded.png").is_file()


def test_a_file_length_in_a_non_minimal_form_is_refused(model) -> None:  # type: ignore[no-untyped-def]
    data = vqcodec.compress(Image(torch.zeros(3, 8, 8, dtype=torch.uint8)), model, 1)
    short = encode_varint(len(data) + 1)  # the length of the forged file, one byte longer
    padded = short[:-1] + bytes([short[-1] | 0x80, 0x00])  # the same value with a redundant last byte
    forged = data[:4] + padded + data[4 + len(encode_varint(len(data))):]
    with pytest.raises(CorruptStreamError, match="shortest form"):
        container.read(forged)


@pytest.mark.pretrained
def test_demo_round_trips_and_never_replaces_its_outputs_by_default(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert res.exit_code == 0 and "PSNR" in res.output, res.output
    assert (out / "photo.vq").is_file() and (out / "photo.decoded.png").is_file()
    from vqcodec.registry import BUILTIN, DEFAULT_MODELS

    for other in (m.name for m in BUILTIN.values() if m.modality == "image" and m.name != DEFAULT_MODELS["image"]):
        assert (out / f"photo.{other}.vq").is_file() and f"model {other} " in res.output  # side by side
    if "video" in DEFAULT_MODELS:
        assert (out / "clip.vq").is_file() and (out / "clip.decoded.mkv").is_file()
    res = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert res.exit_code != 0 and "--force" in res.output
    assert CliRunner().invoke(cli, ["demo", "--out", str(out), "--force"]).exit_code == 0

"""The functional API over every modality: round trips over sizes and lengths, qualities, corrupted or mismatched
files, desync detection, the rate estimate, and loading built-ins once."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import vqcodec
from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError, DesyncError, ModelMismatchError, VQCodecError
from vqcodec.media import Audio, Image, Video
from vqcodec.registry import load_model


@pytest.fixture(scope="module")
def model(tiny_codec_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_codec_path)


@pytest.fixture(scope="module")
def audio_model(tiny_audio_codec_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_audio_codec_path)


@pytest.fixture(scope="module")
def video_model(tiny_video_codec_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_video_codec_path)


@pytest.mark.parametrize("h,w", [(1, 1), (3, 5), (17, 9), (32, 32), (40, 71)])
@pytest.mark.parametrize("quality", [1, 2])
def test_image_round_trip_any_size(model, h: int, w: int, quality: int) -> None:  # type: ignore[no-untyped-def]
    pixels = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    comp = vqcodec.encode(Image(pixels), model, quality)
    assert comp.header.shape == (3, h, w) and comp.header.fields.num_stages == quality == comp.header.quality
    out = vqcodec.decompress(comp.data, model)
    assert isinstance(out, Image) and out.pixels.shape == pixels.shape and out.pixels.dtype == torch.uint8
    # decoding is the reconstruction of the encoder's own indices
    codec = model.module
    x = torch.nn.functional.pad(pixels.float()[None] / 255, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
    expected = codec.decode_indices(codec.encode_indices(x, quality))[..., :h, :w]
    assert torch.equal(out.pixels, expected[0].clamp(0, 1).mul(255).round().to(torch.uint8))


@pytest.mark.parametrize("length,rate,channels", [(1, 16000, 1), (15, 16000, 1), (16000, 16000, 2),
                                                  (44100, 44100, 2), (8000, 8000, 1), (123457, 48000, 6)])
def test_audio_round_trip_any_length_rate_and_channels(audio_model, length: int, rate: int,  # type: ignore[no-untyped-def]
                                                       channels: int) -> None:
    samples = (torch.rand(channels, length) * 2 - 1) * 0.5
    comp = vqcodec.encode(Audio(samples, rate), audio_model, 2)
    h = comp.header
    assert (h.modality, h.shape, h.sample_rate, h.codec_kind) == ("audio", (channels, length), rate, "vq")
    out = vqcodec.decompress(comp.data, audio_model)
    assert isinstance(out, Audio) and out.sample_rate == 16000 and out.samples.shape[0] == 1
    assert out.samples.shape[1] == max(1, round(length * 16000 / rate)) and float(out.samples.abs().max()) <= 1
    assert comp.rate[1] == "kbps" and comp.rate[0] == pytest.approx(8 * len(comp.data) / (length / rate) / 1000)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 9, 13), (5, 8, 8), (3, 17, 6)])
def test_video_round_trip_any_size_and_length(video_model, shape: tuple[int, int, int]) -> None:  # type: ignore[no-untyped-def]
    frames = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    comp = vqcodec.encode(Video(frames, Fraction(30000, 1001)), video_model, 1)
    assert comp.header.frame_rate == (30000, 1001) and comp.header.shape == (3, *shape)
    out = vqcodec.decompress(comp.data, video_model)
    assert isinstance(out, Video) and out.frames.shape == frames.shape and out.fps == Fraction(30000, 1001)


def test_modality_and_kind_mismatches_are_one_line_errors(model, audio_model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelMismatchError, match="codes image, not audio"):
        vqcodec.encode(Audio(torch.zeros(1, 100), 16000), model)
    data = vqcodec.compress(Audio(torch.zeros(1, 100), 16000), audio_model)
    with pytest.raises(ModelMismatchError):
        vqcodec.decompress(data, model)
    with pytest.raises(ValueError, match="quality must be in 1..2"):
        vqcodec.encode(Image(torch.zeros(3, 8, 8, dtype=torch.uint8)), model, 3)


def test_rate_matches_estimate_and_header_is_small(model) -> None:  # type: ignore[no-untyped-def]
    pixels = torch.randint(0, 256, (3, 64, 96), dtype=torch.uint8)
    comp = vqcodec.encode(Image(pixels), model, 2)
    assert 8 * len(comp.data) <= comp.estimated_bits * 1.02 + 64 * 8 + 64
    assert vqcodec.read_header(comp.data).model == model.name


def test_corruption_is_detected(model) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(vqcodec.compress(Image(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)), model, 2))
    for pos in (0, 5, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(VQCodecError):
            vqcodec.decompress(bytes(bad), model)
    with pytest.raises(CorruptStreamError, match="truncated"):
        vqcodec.decompress(bytes(data[:-7]), model)
    with pytest.raises(VQCodecError):
        vqcodec.decompress(b"", model)


def test_other_weights_are_refused(model, tiny_codec_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    tensors = {k: dict(v) for k, v in wf.tensors.items()}
    tensors["prior"]["head_out_bias"] = tensors["prior"]["head_out_bias"] + 1.0
    other = tmp_path / "tiny-codec.safetensors"
    save_weights(other, wf.kind, wf.config, tensors)
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)), model, 1)
    with pytest.raises(ModelMismatchError):
        vqcodec.decompress(data, load_model(other))


def test_desync_is_reported_not_returned(model) -> None:  # type: ignore[no-untyped-def]
    """A valid container whose symbol CRC disagrees with the payload ends in DesyncError."""
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)), model, 2)
    header, sections = container.read(data)
    fields = dataclasses.replace(header.fields, symbol_crc=header.fields.symbol_crc ^ 1)
    forged = container.write(dataclasses.replace(header, fields=fields), sections)
    with pytest.raises(DesyncError):
        vqcodec.decompress(forged, model)


def test_a_forged_grid_is_refused_before_decoding(model) -> None:  # type: ignore[no-untyped-def]
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)), model, 2)
    header, sections = container.read(data)
    for change in (dict(latent_grid=(400, 400), tile_shape=(8, 8)), dict(codebook_size=32), dict(num_stages=5)):
        forged = container.write(dataclasses.replace(header, fields=dataclasses.replace(header.fields, **change)),
                                 sections)
        with pytest.raises(VQCodecError):
            vqcodec.decompress(forged, model)


def test_unigram_prior_codec_round_trips(tiny_codec_path: Path, tmp_path: Path) -> None:
    """The factorized-prior baseline codes through the same container."""
    from vqcodec.config import PriorConfig
    from vqcodec.priors import build_prior
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    pc = PriorConfig.from_dict({**wf.config["prior"], "kind": "unigram"})
    path = tmp_path / "tiny-unigram.safetensors"
    save_weights(path, "vq", {**wf.config, "prior": pc.to_dict()},
                 {"model": wf.tensors["model"], "prior": build_prior(pc).state_dict()})
    unigram = load_model(path)
    pixels = torch.randint(0, 256, (3, 40, 56), dtype=torch.uint8)
    out = vqcodec.decompress(vqcodec.compress(Image(pixels), unigram, 2), unigram)
    assert isinstance(out, Image) and out.pixels.shape == pixels.shape


def test_weights_of_earlier_versions_load_as_the_vq_kind(tiny_codec_path: Path, tmp_path: Path) -> None:
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    legacy = tmp_path / "legacy.safetensors"
    save_weights(legacy, "vqcodec", wf.config, wf.tensors)
    loaded = load_model(legacy)
    assert loaded.kind == "vq" and isinstance(loaded.module, vqcodec.VQCodec)


def test_a_model_without_prior_or_a_textbook_vae_cannot_code(tiny_codec_path: Path, tmp_path: Path) -> None:
    from vqcodec import GaussianVAE, GaussianVAEConfig, NetConfig
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    stage1 = tmp_path / "stage1.safetensors"
    save_weights(stage1, "vq", {"model": wf.config["model"]}, {"model": wf.tensors["model"]})
    pixels = Image(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ModelMismatchError, match="no prior"):
        vqcodec.compress(pixels, load_model(stage1))
    cfg = GaussianVAEConfig(net=NetConfig(hidden=4, max_hidden=4, strides=(2,), num_res_blocks=0), latent_dim=2)
    vae = tmp_path / "vae.safetensors"
    save_weights(vae, "vae", {"model": cfg.to_dict()}, {"model": GaussianVAE(cfg).state_dict()})
    with pytest.raises(ModelMismatchError, match="vae model"):
        vqcodec.compress(pixels, load_model(vae))


@pytest.mark.pretrained
def test_builtin_model_is_loaded_once_for_many_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding a batch of files that name the built-in model reads and hash-checks its weights once."""
    from vqcodec import registry

    if not registry.BUILTIN["vq-image"].path.is_file():
        pytest.skip("the built-in weights are not installed")
    files = [vqcodec.compress(Image(torch.full((3, 8, 8), v, dtype=torch.uint8)), "vq-image", 1) for v in (0, 255)]
    model = registry.load_model("vq-image")
    loads: list[str] = []
    monkeypatch.setattr(registry, "load_model", lambda name: loads.append(name) or model)
    registry.builtin_model.cache_clear()
    for data in files:
        out = vqcodec.decompress(data)
        assert isinstance(out, Image) and out.pixels.shape == (3, 8, 8)
    assert loads == ["vq-image"]
    registry.builtin_model.cache_clear()

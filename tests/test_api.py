"""The image bytes API: round trips over sizes, qualities, corrupted or mismatched files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vqcodec.api import compress_image, decompress_image, read_header
from vqcodec.bitstream.errors import CorruptStreamError, DesyncError, ModelMismatchError, VQCodecError
from vqcodec.registry import load_model


@pytest.fixture(scope="module")
def model(tiny_codec_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_codec_path)


@pytest.mark.parametrize("h,w", [(1, 1), (3, 5), (17, 9), (32, 32), (40, 71)])
@pytest.mark.parametrize("quality", [1, 2])
def test_round_trip_any_size(model, h: int, w: int, quality: int) -> None:  # type: ignore[no-untyped-def]
    pixels = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    comp = compress_image(pixels, model, quality)
    assert comp.header.shape == (3, h, w) and comp.header.num_stages == quality
    out = decompress_image(comp.data, model)
    assert out.pixels.shape == pixels.shape and out.pixels.dtype == torch.uint8
    # decoding is the reconstruction of the encoder's own indices
    codec = model.module
    x = torch.nn.functional.pad(pixels.float()[None] / 255, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
    expected = codec.decode_indices(codec.encode_indices(x, quality))[..., :h, :w]
    assert torch.equal(out.pixels, expected[0].clamp(0, 1).mul(255).round().to(torch.uint8))


def test_rate_matches_estimate_and_header_is_small(model) -> None:  # type: ignore[no-untyped-def]
    pixels = torch.randint(0, 256, (3, 64, 96), dtype=torch.uint8)
    comp = compress_image(pixels, model, 2)
    payload_bits = 8 * (len(comp.data))
    assert payload_bits <= comp.estimated_bits * 1.02 + 64 * 8 + 64
    assert read_header(comp.data).model == model.name


def test_corruption_is_detected(model) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(compress_image(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8), model, 2).data)
    for pos in (0, 5, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(VQCodecError):
            decompress_image(bytes(bad), model)
    with pytest.raises(CorruptStreamError):
        decompress_image(bytes(data[:-7]), model)
    with pytest.raises(VQCodecError):
        decompress_image(b"", model)


def test_other_weights_are_refused(model, tiny_codec_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    tensors = {k: dict(v) for k, v in wf.tensors.items()}
    tensors["prior"]["head_out_bias"] = tensors["prior"]["head_out_bias"] + 1.0
    other = tmp_path / "tiny-codec.safetensors"
    save_weights(other, wf.kind, wf.config, tensors)
    data = compress_image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8), model, 1).data
    with pytest.raises(ModelMismatchError):
        decompress_image(data, load_model(other))


def test_desync_is_reported_not_returned(model) -> None:  # type: ignore[no-untyped-def]
    """A valid container whose symbol CRC disagrees with the payload ends in DesyncError."""
    import dataclasses

    from vqcodec.bitstream import container

    data = compress_image(torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8), model, 2).data
    header, sections = container.read(data)
    forged = container.write(dataclasses.replace(header, symbol_crc=header.symbol_crc ^ 1), sections)
    with pytest.raises(DesyncError):
        decompress_image(forged, model)


def test_unigram_prior_codec_round_trips(tiny_codec_path: Path, tmp_path: Path) -> None:
    """The factorized-prior baseline codes through the same container (its 'tile' is the whole grid)."""
    from vqcodec.config import PriorConfig
    from vqcodec.priors import build_prior
    from vqcodec.weights_io import load_weights, save_weights

    wf = load_weights(tiny_codec_path)
    pc = PriorConfig.from_dict({**wf.config["prior"], "kind": "unigram"})
    path = tmp_path / "tiny-unigram.safetensors"
    save_weights(path, "vqcodec", {**wf.config, "prior": pc.to_dict()},
                 {"model": wf.tensors["model"], "prior": build_prior(pc).state_dict()})
    model = load_model(path)
    pixels = torch.randint(0, 256, (3, 40, 56), dtype=torch.uint8)
    comp = compress_image(pixels, model, 2)
    assert comp.header.tile_shape == comp.header.latent_grid
    assert decompress_image(comp.data, model).pixels.shape == pixels.shape


def test_builtin_model_is_loaded_once_for_many_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding a batch of files that name the built-in model reads and hash-checks its weights once."""
    from vqcodec import api, registry

    if not registry.BUILTIN[registry.DEFAULT_IMAGE_MODEL].path.is_file():
        pytest.skip("the built-in weights are not installed")
    model = load_model(registry.DEFAULT_IMAGE_MODEL)
    files = [compress_image(torch.full((3, 8, 8), v, dtype=torch.uint8), model, 1).data for v in (0, 128, 255)]
    loads: list[str] = []
    monkeypatch.setattr(api, "load_model", lambda name: loads.append(name) or model)
    api._builtin.cache_clear()
    for data in files:
        assert decompress_image(data).pixels.shape == (3, 8, 8)
    assert loads == [registry.DEFAULT_IMAGE_MODEL]
    api._builtin.cache_clear()

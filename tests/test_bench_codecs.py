"""Codec adapters: Pillow baselines are faithful to Pillow, rates come from byte counts, the registry works."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vqcodec.bench.codecs import CODECS, Codec, available_codecs, check_specs, make_codec, parse_spec
from vqcodec.bench.modality import ImageModality

BASELINES = ["jpeg", "jpeg444", "webp", "avif", "jpeg2000"]
SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"
FORMATS = {"jpeg": "JPEG", "jpeg444": "JPEG", "webp": "WEBP", "avif": "AVIF", "jpeg2000": "JPEG2000"}


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    return ImageModality().load(SAMPLES / "crop_a.png")


@pytest.mark.parametrize("name", BASELINES)
def test_decode_matches_pillow_and_rate_is_bytes(name: str, crop: np.ndarray) -> None:
    codec = make_codec(name)
    rates = []
    for setting in (codec.settings[0], codec.settings[len(codec.settings) // 2], codec.settings[-1]):
        data = codec.encode(crop, setting)
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == FORMATS[name]
            ref = np.asarray(im.convert("RGB"))
        rec = codec.decode(data)
        assert rec.dtype == np.uint8 and rec.shape == crop.shape
        assert np.array_equal(rec, ref)
        rates.append(ImageModality().rate(8 * len(data), crop))
        assert rates[-1] == 8 * len(data) / (128 * 128)
        assert codec.estimated_bits(crop, setting) is None
    assert rates[0] < rates[1] < rates[2], rates  # the sweep runs from low to high rate


def test_jpeg_subsampling_differs() -> None:
    crop = np.asarray(Image.open(SAMPLES / "crop_b.png").convert("RGB"))
    j420, j444 = make_codec("jpeg"), make_codec("jpeg444")
    assert len(j444.encode(crop, 50)) > len(j420.encode(crop, 50))


def test_jpeg2000_uses_colour_transform_and_hits_target_rate() -> None:
    photo = ImageModality().load(SAMPLES / "photo.png")
    codec = make_codec("jpeg2000")
    data = codec.encode(photo, 0.5)
    bpp = 8 * len(data) / (photo.shape[0] * photo.shape[1])
    assert 0.4 < bpp <= 0.52
    rgb = io.BytesIO()
    Image.fromarray(photo).save(rgb, format="JPEG2000", quality_mode="rates", quality_layers=[48.0],
                                irreversible=True, mct=0)
    err = lambda d: float(np.mean((codec.decode(d).astype(float) - photo) ** 2))
    assert err(data) < err(rgb.getvalue())  # mct=1 beats coding RGB planes separately


def test_settings_override_from_spec() -> None:
    codec = make_codec("jpeg2000:0.1/1")
    assert codec.name == "jpeg2000:0.1/1" and codec.settings == (0.1, 1)
    assert make_codec("webp:10/20").settings == (10, 20)
    with pytest.raises(ValueError, match="numbers"):
        make_codec("jpeg:high")


def test_unknown_codec_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown codec 'nope'.*jpeg"):
        make_codec("nope")
    assert check_specs(["jpeg", "nope", "vq:x"]) == ["nope"]  # "vq" is registered (our own codec)
    assert parse_spec("vq:model-a") == ("vq", "model-a") and parse_spec("jpeg") == ("jpeg", None)
    assert set(BASELINES) <= set(available_codecs())


def test_registering_an_adapter_is_one_line() -> None:
    class Identity(Codec):
        name = "identity"
        description = "raw bytes, for testing"
        settings = (1,)

        @classmethod
        def from_spec(cls, arg: str | None, device: str = "cpu") -> Codec:
            codec = cls()
            codec.shape = tuple(int(v) for v in (arg or "128x128").split("x")) + (3,)  # type: ignore[attr-defined]
            return codec

        def encode(self, x: np.ndarray, setting: float) -> bytes:
            return x.tobytes()

        def decode(self, data: bytes) -> np.ndarray:
            return np.frombuffer(data, np.uint8).reshape(self.shape)  # type: ignore[attr-defined]

    CODECS["identity"] = Identity
    try:
        codec = make_codec("identity:128x128")
        x = np.zeros((128, 128, 3), np.uint8)
        assert np.array_equal(codec.decode(codec.encode(x, 1)), x)
    finally:
        del CODECS["identity"]


def test_vq_adapter_round_trips_through_the_bench_interface(tiny_codec_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    codec = make_codec(f"vq:{tiny_codec_path}")
    assert codec.settings == (1, 2)
    x = np.random.default_rng(0).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    data = codec.encode(x, 2)
    assert data[:3] == b"VQC" and codec.estimated_bits(x, 2) > 0
    assert codec.decode(data).shape == x.shape
    with pytest.raises(ValueError):
        make_codec("vq:/no/such/model.safetensors")

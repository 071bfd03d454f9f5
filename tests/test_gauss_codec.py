"""The ``gauss`` kind: discretized-Gaussian and factorized tables, exact integer hyper-decoder, lossless latents,
real bytes against the estimate, typed errors, and decoding in another process."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import vqcodec
from vqcodec.bitstream import CorruptStreamError, DesyncError, VQCodecError, container
from vqcodec.config import NetConfig
from vqcodec.entropy.coder import decode_session, encode_session
from vqcodec.entropy.gaussian import FactorizedDensity, LevelSession, gaussian_likelihood, gaussian_tables
from vqcodec.media import Image
from vqcodec.models.gauss import GaussCodec, GaussConfig
from vqcodec.weights_io import save_weights

SMALL = GaussConfig(net=NetConfig(dims=2, hidden=8, max_hidden=16, strides=(2, 2, 2, 2), num_res_blocks=0),
                    latent=16, hyper=12, lambdas=(0.002, 0.01, 0.05))


@pytest.fixture(scope="module")
def gauss_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = GaussCodec(SMALL)
    with torch.no_grad():  # distinct gains, so the qualities differ
        model.log_gain.copy_(torch.linspace(-1, 1, 3)[:, None].expand_as(model.log_gain))
        model.log_inv_gain.copy_(-model.log_gain)
    path = tmp_path_factory.mktemp("gauss") / "tiny-gauss.safetensors"
    save_weights(path, "gauss", {"model": SMALL.to_dict()}, {"model": model.state_dict()})
    return path


def test_gaussian_tables_are_valid_and_close_to_the_density() -> None:
    levels = [0.11, 0.5, 1.0, 4.0, 30.0]
    tables = gaussian_tables(levels, 127, 16)
    assert tables.shape == (5, 255) and (tables >= 1).all() and (tables.sum(axis=1) == 1 << 16).all()
    for row, sigma in zip(tables, levels):
        ideal = math.erf(0.5 / (sigma * math.sqrt(2)))  # P(s = 0)
        assert abs(row[127] / 2**16 - ideal) < max(0.01 * ideal, 3 / 2**16)


def test_closed_form_rate_of_a_small_example() -> None:
    """P(s = 0 | sigma = 1) = erf(1 / (2 sqrt 2)) = 0.38292...: 1.3849 bits, by hand."""
    p = gaussian_likelihood(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]))
    assert float(p) == pytest.approx(0.382924922548026, rel=1e-6)
    assert float(-torch.log2(p)) == pytest.approx(1.38488, abs=1e-4)


def test_coded_size_is_within_half_a_percent_of_the_ideal_bits() -> None:
    levels = [0.3, 1.0, 3.0, 10.0]
    tables = gaussian_tables(levels, 127, 16)
    gen = torch.Generator().manual_seed(0)
    index = torch.randint(0, 4, (40000,), generator=gen)
    sigma = torch.tensor(levels)[index]
    values = torch.round(torch.randn(40000, generator=gen) * sigma).clamp(-127, 127).long() + 127
    enc = encode_session(LevelSession(tables, index, values, 16), 40000)
    assert 8 * len(enc.payload) <= enc.estimated_bits * 1.005 + 64
    (decoded,) = decode_session(enc.payload, LevelSession(tables, index, None, 16))
    assert torch.equal(decoded, values)


def test_factorized_tables_need_no_transcendental_function() -> None:
    density = FactorizedDensity(3, 4)
    a, b = density.tables(16), density.tables(16)
    assert a.shape == (3, 9) and (a.sum(axis=1) == 1 << 16).all() and np.array_equal(a, b)
    assert a[0, 4] > a[0, 0], "the starting density prefers small values"


def test_integer_hyper_decoder_is_close_to_the_float_one() -> None:
    torch.manual_seed(1)
    model = GaussCodec(SMALL).eval()
    z = torch.randint(-3, 4, (1, 12, 3, 4)).float()
    mean, level = model._params(z)
    float_mean, float_log_scale = model.h_s(z).chunk(2, dim=1)
    assert (mean - float_mean).abs().max() < 0.05
    c = SMALL
    expected = ((float_log_scale * 1024 - c.log_scale_min) / c.log_scale_step).round().clamp(0, c.levels - 1)
    assert (level.float() - expected).abs().max() <= 1


def test_lossless_latents_and_real_bytes(gauss_path: Path) -> None:
    model = vqcodec.load_model(gauss_path)
    pixels = torch.randint(0, 256, (3, 70, 100), dtype=torch.uint8)
    for q in (1, 3):
        comp = vqcodec.encode(Image(pixels), model, q)
        assert comp.header.codec_kind == "gauss" and comp.header.fields.gain == q
        out = vqcodec.decompress(comp.data, model)
        assert isinstance(out, Image) and out.pixels.shape == pixels.shape
        payload = len(container.read(comp.data)[1][0])
        assert 8 * payload <= comp.estimated_bits * 1.01 + 96
    low, high = (len(vqcodec.compress(Image(pixels), model, q)) for q in (1, 3))
    assert low != high


def test_bad_gauss_streams_are_typed_errors(gauss_path: Path) -> None:
    model = vqcodec.load_model(gauss_path)
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)), model, 2)
    header, sections = container.read(data)
    forged = container.write(dataclasses.replace(header, fields=dataclasses.replace(
        header.fields, symbol_crc=header.fields.symbol_crc ^ 1)), sections)
    with pytest.raises(DesyncError):
        vqcodec.decompress(forged, model)
    with pytest.raises(CorruptStreamError):
        vqcodec.decompress(container.write(header, [sections[0][: len(sections[0]) // 2 // 4 * 4]]), model)
    for change in (dict(gain=1), dict(latent_grid=(9, 9)), dict(levels=32)):
        bad = container.write(dataclasses.replace(header, fields=dataclasses.replace(header.fields, **change)),
                              sections)
        with pytest.raises(VQCodecError):
            vqcodec.decompress(bad, model)


_DECODE = """
import sys, numpy as np, torch, vqcodec
torch.set_num_threads(int(sys.argv[3]))
out = vqcodec.decompress(open(sys.argv[1], "rb").read(), vqcodec.load_model(sys.argv[2]))
np.save(sys.argv[4], out.pixels.numpy())
"""


def test_another_process_and_thread_count_decode_the_same_pixels(gauss_path: Path, tmp_path: Path) -> None:
    model = vqcodec.load_model(gauss_path)
    torch.set_num_threads(1)
    data = vqcodec.compress(Image(torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8)), model, 2)
    here = vqcodec.decompress(data, model)
    (tmp_path / "a.vq").write_bytes(data)
    res = subprocess.run([sys.executable, "-c", _DECODE, str(tmp_path / "a.vq"), str(gauss_path), "2",
                          str(tmp_path / "o.npy")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert isinstance(here, Image) and np.array_equal(np.load(tmp_path / "o.npy"), here.pixels.numpy())


def test_init_from_an_image_vq_model_takes_its_transforms(tiny_codec_path: Path) -> None:
    from vqcodec.train.tasks_gauss import GaussTask
    from vqcodec.weights_io import load_weights

    vq = load_weights(tiny_codec_path)
    net = NetConfig.from_dict(vq.config["model"]["net"])
    task = GaussTask(GaussConfig(net=net, latent=vq.config["model"]["vq"]["codebook_dim"], hyper=8,
                                 lambdas=(0.002, 0.01)))
    hyper_before = {k: v.clone() for k, v in task.model.h_s.state_dict().items()}
    task.init_from(str(tiny_codec_path))
    ours = task.model.state_dict()
    for k, v in vq.tensors["model"].items():
        if k.startswith("encoder."):
            assert torch.equal(ours["g_a." + k[len("encoder."):]], v.float())
        if k.startswith("decoder."):
            assert torch.equal(ours["g_s." + k[len("decoder."):]], v.float())
    assert all(torch.equal(v, task.model.h_s.state_dict()[k]) for k, v in hyper_before.items())
    other = GaussTask(dataclasses.replace(SMALL))
    with pytest.raises(ValueError, match="neither a gauss model nor an image VQ model"):
        other.init_from(str(tiny_codec_path))


def test_init_from_a_gauss_model_may_add_quality_levels(gauss_path: Path) -> None:
    """A run from a gauss model trained at lambdas (0.002, 0.01, 0.05) may add levels around them: the trained
    gains are kept, a new level starts from its nearest one moved by half the log-lambda ratio; every other tensor
    is the source's. Dropping a trained lambda is refused."""
    from vqcodec.train.tasks_gauss import GaussTask
    from vqcodec.weights_io import load_weights

    src = load_weights(gauss_path).tensors["model"]
    task = GaussTask(dataclasses.replace(SMALL, lambdas=(0.0005, 0.002, 0.01, 0.05, 0.1)))
    task.init_from(str(gauss_path))
    got = task.model.state_dict()
    assert all(torch.equal(got[k], v.float()) for k, v in src.items() if "gain" not in k)
    for name, sign in (("log_gain", 1.0), ("log_inv_gain", -1.0)):
        old = src[name].float()
        assert torch.equal(got[name][1:4], old)
        assert torch.allclose(got[name][0], old[0] + sign * 0.5 * math.log(0.0005 / 0.002))
        assert torch.allclose(got[name][4], old[2] + sign * 0.5 * math.log(0.1 / 0.05))
    assert len(task.model.qualities) == 5
    fewer = GaussTask(dataclasses.replace(SMALL, lambdas=(0.002, 0.05)))
    with pytest.raises(ValueError, match="may add lambdas but must keep those"):
        fewer.init_from(str(gauss_path))

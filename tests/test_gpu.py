"""GPU readiness (marker ``gpu``; skipped without a CUDA device): coding on ``--device cuda`` gives the CPU's bits,
a few training steps run there, and the bench times with CUDA synchronisation. ``scripts/gpu-check.sh`` runs these
on a machine with a GPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import vqcodec
from vqcodec.bitstream import container
from vqcodec.cli.main import cli
from vqcodec.media import Audio, Image
from vqcodec.registry import BUILTIN, load_model

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


def _photo() -> Image:
    from vqcodec.media import load_image

    return Image(load_image(SAMPLES / "photo.png").pixels)


@pytest.mark.parametrize("fixture", ["tiny_codec_path", "tiny_audio_codec_path"])
def test_cuda_coding_gives_the_cpu_bits(fixture: str, request: pytest.FixtureRequest) -> None:
    model = load_model(request.getfixturevalue(fixture))
    media = _photo() if fixture == "tiny_codec_path" else Audio(torch.rand(1, 32000) - 0.5, 16000)
    on_cpu = vqcodec.compress(media, model, 2, device="cpu")
    on_gpu = vqcodec.compress(media, model, 2, device="cuda")
    assert container.read(on_gpu)[1] == container.read(on_cpu)[1], "the entropy path must not depend on the device"
    back_cpu, back_gpu = vqcodec.decompress(on_cpu, model, "cpu"), vqcodec.decompress(on_cpu, model, "cuda")
    a = back_cpu.pixels if isinstance(back_cpu, Image) else back_cpu.samples
    b = back_gpu.pixels if isinstance(back_gpu, Image) else back_gpu.samples
    assert (a.double() - b.double()).abs().max() <= (1 if isinstance(back_cpu, Image) else 1e-3)


@pytest.mark.pretrained
def test_builtin_image_model_on_cuda() -> None:
    if not BUILTIN["vq-image"].path.is_file():
        pytest.skip("the built-in weights are not installed")
    photo = _photo()
    on_cpu, on_gpu = vqcodec.compress(photo, "vq-image", 3), vqcodec.compress(photo, "vq-image", 3, device="cuda")
    assert container.read(on_gpu)[1] == container.read(on_cpu)[1]
    out = vqcodec.decompress(on_gpu, device="cuda")
    assert isinstance(out, Image) and out.pixels.shape == photo.pixels.shape


def test_a_few_training_steps_on_cuda(tmp_path: Path) -> None:
    from vqcodec.train import build_config, train

    model = {"net": {"dims": 2, "in_channels": 3, "hidden": 8, "max_hidden": 16, "strides": [2, 2],
                     "num_res_blocks": 1}, "vq": {"codebook_size": 16, "codebook_dim": 4, "num_stages": 2}}
    cfg = build_config({"model": model, "data": str(SAMPLES), "out": str(tmp_path / "run"), "crop": 32,
                        "val_crop": 32, "batch_size": 2, "steps": 3, "eval_every": 3, "device": "cuda",
                        "warmup": 1}, {})
    result = train(cfg, progress=False)
    assert result.step == 3 and result.val_metrics["psnr"] > 0


def test_bench_image_on_cuda(tmp_path: Path) -> None:
    data = tmp_path / "crops"
    data.mkdir()
    for name in ("crop_a.png", "crop_b.png"):
        shutil.copy(SAMPLES / name, data / name)
    if not BUILTIN["vq-image"].path.is_file():
        pytest.skip("the built-in weights are not installed")
    res = CliRunner().invoke(cli, ["bench", "image", "--data", str(data), "--codecs", "vq", "--device", "cuda",
                                   "--out", str(tmp_path / "out"), "--repeats", "1"])
    assert res.exit_code == 0, res.output
    run = json.loads((tmp_path / "out" / "results.json").read_text())
    assert run["machine"]["gpu"] and run["config"]["device"] == "cuda"


def test_gauss_tables_come_from_the_integer_path_on_cuda(tmp_path: Path) -> None:
    """A gauss model's hyper-decoder runs in exact integer arithmetic on the CPU whatever ``device`` is, so the
    tables never depend on the device: a CPU file decodes on cuda, and a cuda file (whose latents may round
    differently, the analysis transform ran there) on the CPU, each to the same pixels within 1."""
    from vqcodec.models.gauss import GaussCodec, GaussConfig
    from vqcodec.weights_io import save_weights

    name = "gauss-image"
    if name in BUILTIN and BUILTIN[name].path.is_file():
        model = load_model(name)
    else:
        torch.manual_seed(0)
        cfg = GaussConfig(lambdas=(0.002, 0.01, 0.05))
        path = tmp_path / "gauss.safetensors"
        save_weights(path, "gauss", {"model": cfg.to_dict()}, {"model": GaussCodec(cfg).state_dict()})
        model = load_model(str(path))
    photo = _photo()
    on_cpu, on_gpu = vqcodec.compress(photo, model, 2, device="cpu"), vqcodec.compress(photo, model, 2, device="cuda")
    for data in (on_cpu, on_gpu):
        a, b = vqcodec.decompress(data, model, "cpu"), vqcodec.decompress(data, model, "cuda")
        assert isinstance(a, Image) and isinstance(b, Image)
        assert (a.pixels.int() - b.pixels.int()).abs().max() <= 1

"""`vqcodec train`: end to end, resume equivalence, torchrun DDP, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from vqcodec import VQVAE, VQVAEConfig
from vqcodec.cli.main import cli
from vqcodec.train import TrainConfig, train
from vqcodec.train.checkpoint import load_checkpoint
from vqcodec.train.tasks import build_task, initialise_from
from vqcodec.train.tasks_vq import _grown
from vqcodec.weights_io import load_weights

TINY = {"net": {"hidden": 8, "max_hidden": 16, "strides": [2, 2], "num_res_blocks": 1},
        "vq": {"codebook_size": 16, "codebook_dim": 4, "num_stages": 2, "quantizer_dropout": 0.5}}


def _cfg(samples: Path, out: Path, **kw: object) -> TrainConfig:
    base = dict(kind="vq", model=TINY, data=str(samples), crop=32, val_crop=32, val_items=2, batch_size=2,
                steps=6, warmup=2, eval_every=3, ckpt_every=3, out=str(out), workers=0, threads=1, log_every=1)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_end_to_end_checkpoint_and_export(samples_dir: Path, tmp_path: Path) -> None:
    result = train(_cfg(samples_dir, tmp_path / "run"), progress=False)
    assert result.step == 6 and result.checkpoint.is_file()
    assert "psnr" in result.val_metrics
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert rows[0] == "step,split,name,value" and any(",val,psnr," in r for r in rows)
    out = tmp_path / "m.safetensors"
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "run"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    wf = load_weights(out)
    assert wf.kind == "vq" and wf.training["steps"] == 6
    assert not [k for k in wf.tensors["model"] if k.endswith("embed_avg")]  # EMA state is rebuilt on load
    model = VQVAE(VQVAEConfig.from_dict(wf.config["model"]))
    model.load_state_dict(wf.tensors["model"])
    x = torch.rand(1, 3, 32, 32)
    idx = model.eval().encode(x)
    assert idx.shape == (1, 8, 8, 2) and model.decode(idx).shape == x.shape


def test_resume_after_ctrl_c_equals_uninterrupted_run(samples_dir: Path, tmp_path: Path) -> None:
    steps = 40
    full = train(_cfg(samples_dir, tmp_path / "full", steps=steps, ckpt_every=100, eval_every=100), progress=False)
    run = tmp_path / "cut"
    cfg = _cfg(samples_dir, run, steps=steps, ckpt_every=100, eval_every=100, workers=1)
    code = ("import sys, json; from vqcodec.train import TrainConfig, train; "
            "train(TrainConfig(**json.loads(sys.argv[1])), progress=False)")
    # its own process group, so the signal reaches the DataLoader worker too, as Ctrl-C in a terminal does
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(cfg.to_dict())], start_new_session=True)
    metrics = run / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and metrics.read_text().count(",train,loss,") >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 0
    stopped = load_checkpoint(run)["step"]
    assert 3 <= stopped < steps, "the run should have been interrupted midway"
    resumed = train(cfg, resume=True, progress=False)
    assert resumed.step == steps
    a, b = load_checkpoint(tmp_path / "full")["model"], load_checkpoint(run)["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert full.step == steps


def test_torchrun_two_ranks_identical_codebooks(samples_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29531",
           "-m", "vqcodec.train", "--data", str(samples_dir), "--out", str(tmp_path / "ddp"), "--steps", "4",
           "--batch-size", "2", "--crop", "32", "--workers", "0", "--threads", "1", "--no-progress",
           "--set", f"model={json.dumps(TINY)}", "--set", "val_crop=32", "--set", "val_items=2"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    digests = load_checkpoint(tmp_path / "ddp")["ddp_codebook_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


@pytest.mark.parametrize("make", ["missing", "empty", "not_images", "corrupt"])
def test_bad_data_folders_give_one_line_errors(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "data"
    if make != "missing":
        folder.mkdir()
    if make == "not_images":
        (folder / "notes.txt").write_text("hello")
    if make == "corrupt":
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    res = CliRunner().invoke(cli, ["train", "--data", str(folder), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert res.output.startswith("Error: ") and len(res.output.strip().splitlines()) == 1, res.output


@pytest.mark.parametrize("args", [["--set", "model.vq.codebook_sise=3"], ["--set", "bogus=1"], ["--set", "nokey"],
                                  ["--kind", "vqvae", "--steps", "0"], ["--set", "crop=30"]])
def test_bad_configs_give_one_line_errors(samples_dir: Path, tmp_path: Path, args: list[str]) -> None:
    res = CliRunner().invoke(cli, ["train", "--data", str(samples_dir), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code != 0
    assert res.output.startswith("Error: ") and len(res.output.strip().splitlines()) == 1, res.output


def test_checkpoint_of_another_model_is_rejected(samples_dir: Path, tmp_path: Path) -> None:
    train(_cfg(samples_dir, tmp_path / "run", steps=2), progress=False)
    other = _cfg(samples_dir, tmp_path / "run", steps=4, model={**TINY, "vq": {**TINY["vq"], "codebook_size": 8}})
    with pytest.raises(ValueError, match="other settings"):
        train(other, resume=True, progress=False)
    with pytest.raises(ValueError, match="--resume"):
        train(_cfg(samples_dir, tmp_path / "run"), progress=False)


def test_two_stage_run_exports_a_codec_that_encodes_and_decodes(samples_dir: Path, tmp_path: Path) -> None:
    train(_cfg(samples_dir, tmp_path / "vq", steps=3), progress=False)
    prior = _cfg(samples_dir, tmp_path / "prior", kind="vq", stage="prior", steps=3, base_model=str(tmp_path / "vq"),
                 model={"channels": 8, "num_layers": 2, "tile_shape": [4, 4]})
    result = train(prior, progress=False)
    assert {"bpp_1", "bpp_2", "bits_per_index"} <= set(result.val_metrics)
    weights = tmp_path / "codec.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "prior"), "-o", str(weights), "--half"]).exit_code == 0
    vq, png = tmp_path / "a.vq", tmp_path / "a.png"
    res = CliRunner().invoke(cli, ["encode", str(samples_dir / "crop_a.png"), "-o", str(vq), "--model", str(weights)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["decode", str(vq), "-o", str(png), "--model", str(weights)])
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 0


def test_adapt_codebook_reports_before_and_after(samples_dir: Path, tmp_path: Path) -> None:
    train(_cfg(samples_dir, tmp_path / "base", steps=3), progress=False)
    weights = tmp_path / "base.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "base"), "-o", str(weights)]).exit_code == 0
    adapted = _cfg(samples_dir, tmp_path / "adapted", model={}, init_from=str(weights), adapt_codebook=True, steps=4)
    result = train(adapted, progress=False)
    assert "psnr" in result.initial_val_metrics and "psnr" in result.val_metrics
    before = load_weights(weights).tensors["model"]
    after = load_checkpoint(tmp_path / "adapted")["model"]
    assert torch.equal(before["encoder.net.0.weight"], after["encoder.net.0.weight"]), "encoder must stay frozen"
    assert not torch.equal(before["quantizer.core.stages.0.codebook.embed"],
                           after["quantizer.core.stages.0.codebook.embed"]), "the codebook must be re-learned"


def test_prior_on_an_adapted_codebook(samples_dir: Path, tmp_path: Path) -> None:
    """Stage 2 of the adaptation: a prior over a VQ-VAE run that was itself started with --init-from."""
    train(_cfg(samples_dir, tmp_path / "base", steps=2), progress=False)
    weights = tmp_path / "base.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "base"), "-o", str(weights)]).exit_code == 0
    train(_cfg(samples_dir, tmp_path / "adapted", model={}, init_from=str(weights), adapt_codebook=True, steps=2),
          progress=False)
    prior = _cfg(samples_dir, tmp_path / "prior", kind="vq", stage="prior", steps=2,
                 base_model=str(tmp_path / "adapted"),
                 model={"channels": 8, "num_layers": 2, "tile_shape": [4, 4]})
    assert "bpp_1" in train(prior, progress=False).val_metrics


def test_init_from_can_grow_the_residual_vq(samples_dir: Path, tmp_path: Path) -> None:
    """``--init-from`` with ``model.vq.num_stages`` larger: old weights kept, new stages k-means initialised."""
    train(_cfg(samples_dir, tmp_path / "base", steps=2), progress=False)
    weights = tmp_path / "base.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "base"), "-o", str(weights)]).exit_code == 0
    have = TINY["vq"]["num_stages"]  # type: ignore[index]
    grown = _cfg(samples_dir, tmp_path / "grown", model={"vq": {"num_stages": have + 1}}, init_from=str(weights),
                 steps=6)  # under quantizer dropout a step may skip the new stage; the seed is fixed
    task = build_task(grown, False)
    initialise_from(task, str(weights))
    before, loaded = load_weights(weights).tensors["model"], task.model.state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in before.items()), "every old tensor is kept"
    assert not bool(loaded[f"quantizer.core.stages.{have}.codebook.initialized"])
    train(grown, progress=False)
    after = load_checkpoint(tmp_path / "grown")["model"]
    assert bool(after[f"quantizer.core.stages.{have}.codebook.initialized"]), "the new stage is k-means initialised"
    out = tmp_path / "grown.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "grown"), "-o", str(out)]).exit_code == 0
    assert load_weights(out).config["model"]["vq"]["num_stages"] == have + 1
    with pytest.raises(ValueError, match="only model key"):
        build_task(_cfg(samples_dir, tmp_path / "x", model={"vq": {"codebook_size": 8}}, init_from=str(weights)), False)
    for bad in ({"vq": 8}, {"vq": {"num_stages": 2, "codebook_size": 8}}, {"net": {"hidden": 4}},
                {"net": {"decoder_level_blocks": 1, "hidden": 4}}, {"prior": {"num_stages": 2}}):
        with pytest.raises(ValueError, match="only model key"):
            build_task(_cfg(samples_dir, tmp_path / "x", model=bad, init_from=str(weights)), False)
    with pytest.raises(ValueError, match="not a VQ model"):
        _grown({"net": {}, "latent_channels": 4}, {"vq": {"num_stages": 3}}, "gaussian.safetensors")
    for stages in (0, "abc", 2.5):
        with pytest.raises(ValueError, match="must be an integer"):
            build_task(_cfg(samples_dir, tmp_path / "x", model={"vq": {"num_stages": stages}},
                            init_from=str(weights)), False)


@pytest.mark.parametrize("level_blocks", [0, 1])
def test_decoder_finetune_keeps_indices_prior_and_rates(samples_dir: Path, tmp_path: Path, level_blocks: int) -> None:
    """``--finetune decoder`` (optionally growing decoder level blocks): only decoder tensors change; the export
    keeps the source's prior, so bits match."""
    train(_cfg(samples_dir, tmp_path / "vq", steps=3), progress=False)
    prior = _cfg(samples_dir, tmp_path / "prior", kind="vq", stage="prior", steps=3, base_model=str(tmp_path / "vq"),
                 model={"channels": 8, "num_layers": 2, "tile_shape": [4, 4]})
    train(prior, progress=False)
    source = tmp_path / "codec.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "prior"), "-o", str(source), "--half"]).exit_code == 0
    res = CliRunner().invoke(cli, ["train", "--data", str(samples_dir), "--out", str(tmp_path / "dec"), "--init-from",
                                   str(source), "--finetune", "decoder", "--steps", "4", "--lr", "0.01", "--crop",
                                   "32", "--set", "val_crop=32", "--set", "val_items=2", "--batch-size", "2",
                                   "--workers", "0", "--threads", "1", "--no-progress",
                                   "--set", f"model.net.decoder_level_blocks={level_blocks}"])
    assert res.exit_code == 0, res.output
    tuned = tmp_path / "tuned.safetensors"
    assert CliRunner().invoke(cli, ["export", str(tmp_path / "dec"), "-o", str(tuned), "--half"]).exit_code == 0
    old, new = load_weights(source), load_weights(tuned)
    assert new.kind == "vq" and new.config["prior"] == old.config["prior"]
    assert all(torch.equal(v, new.tensors["prior"][k]) for k, v in old.tensors["prior"].items())
    frozen = [k for k in old.tensors["model"] if not k.startswith("decoder.")]
    assert frozen and all(torch.equal(old.tensors["model"][k], new.tensors["model"][k]) for k in frozen)
    assert any(not torch.equal(old.tensors["model"][k], new.tensors["model"][k])
               for k in old.tensors["model"] if k.startswith("decoder.")), "the decoder must learn"
    assert new.config["model"]["net"]["decoder_level_blocks"] == level_blocks
    assert any(k.startswith("decoder.levels.") for k in new.tensors["model"]) == bool(level_blocks)
    sizes = []
    for weights in (source, tuned):
        out = tmp_path / f"{weights.stem}.vq"
        res = CliRunner().invoke(cli, ["encode", str(samples_dir / "crop_a.png"), "-o", str(out), "--model",
                                       str(weights)])
        assert res.exit_code == 0, res.output
        sizes.append(out.stat().st_size)
    assert sizes[0] == sizes[1], "same indices and prior: the same number of bytes"


@pytest.mark.parametrize("kw, match", [({"finetune": "decoder", "kind": "vae"}, "finetune=decoder"),
                                       ({"finetune": "encoder"}, "finetune must be"),
                                       ({"ms_ssim_weight": 0.1}, "crop > 160"),
                                       ({"ms_ssim_weight": -1.0}, "ms_ssim_weight"),
                                       ({"quantizer_dropout": 1.5}, "quantizer_dropout"),
                                       ({"quantizer_dropout": 0.5, "stage": "prior"}, "quantizer_dropout")])
def test_finetune_and_ms_ssim_settings_are_validated(samples_dir: Path, tmp_path: Path, kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _cfg(samples_dir, tmp_path / "x", **kw)
    with pytest.raises(ValueError, match="needs --init-from"):
        build_task(_cfg(samples_dir, tmp_path / "x", finetune="decoder"), False)


def test_a_run_may_set_its_own_quantizer_dropout(samples_dir: Path, tmp_path: Path) -> None:
    """``quantizer_dropout`` replaces the model's for this run, also for a run --init-from weights (whose model
    settings come from the file)."""
    assert build_task(_cfg(samples_dir, tmp_path / "a"), False).model.config.vq.quantizer_dropout == \
        VQVAEConfig.from_dict(TINY).vq.quantizer_dropout
    task = build_task(_cfg(samples_dir, tmp_path / "b", quantizer_dropout=1.0), False)
    assert task.model.config.vq.quantizer_dropout == 1.0
    never = build_task(_cfg(samples_dir, tmp_path / "c", quantizer_dropout=0.0), False)
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8)

    def dropped(model: VQVAE) -> int:  # forwards that left the last stage unused (index -1)
        model.train()
        return sum(int(model(x).indices.min()) < 0 for _ in range(200))

    assert dropped(never.model) == 0 and 60 < dropped(task.model) < 140  # p = 1 with 2 stages: 1 stage half the time


def test_ms_ssim_term_is_zero_for_a_perfect_match_and_pulls_towards_it() -> None:
    from vqcodec.train.losses import ms_ssim_term

    torch.manual_seed(0)
    x = torch.rand(1, 3, 176, 176)
    assert float(ms_ssim_term(x, x, 0.5)) == pytest.approx(0.0, abs=1e-5)
    assert float(ms_ssim_term(x, x.flip(-1), 0.0)) == 0.0
    noisy = (x + 0.1 * torch.randn_like(x)).clamp(0, 1).requires_grad_(True)
    term = ms_ssim_term(noisy, x, 0.5)
    term.backward()
    assert 0 < float(term.detach()) <= 0.5 and noisy.grad is not None
    step = (noisy - 0.02 * noisy.grad / noisy.grad.abs().max()).detach()  # a small step against the gradient
    assert float(ms_ssim_term(step, x, 0.5)) < float(term)


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.json")),
                         ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    """Every config in ``configs/`` parses into a valid ``TrainConfig`` (unknown or bad keys would be errors)."""
    from vqcodec.train import build_config, read_config_file

    cfg = build_config(read_config_file(path), {})
    # video trains on the folder `scripts/make_video_bench_set.py --split train` builds (the bench clips left out)
    training_sets = {"image": "images-train", "audio": "speech-train", "video": "video-train"}
    assert Path(cfg.data).name == training_sets[cfg.modality], "training configs must never point at a benchmark set"


def test_training_kinds_come_from_the_kind_registry_and_old_names_still_read() -> None:
    assert (TrainConfig(kind="prior").kind, TrainConfig(kind="prior").stage) == ("vq", "prior")
    assert TrainConfig(kind="vqvae").kind == "vq" and TrainConfig(kind="gaussian").kind == "vae"
    with pytest.raises(ValueError, match="kind 'smell' is not supported"):
        TrainConfig(kind="smell")
    with pytest.raises(ValueError, match="stage"):
        TrainConfig(kind="vae", stage="prior")
    saved = TrainConfig(kind="vqvae").to_dict()
    assert TrainConfig.from_dict(saved) == TrainConfig(kind="vq")

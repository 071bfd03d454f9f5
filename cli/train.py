"""``vqcodec train``: train a VQ-VAE, its prior or a Gaussian VAE on a folder of media (also under torchrun)."""

from __future__ import annotations

import json
import sys

import click

from vqcodec.train import build_config, read_config_file, train

_FLAG_KEYS = ("kind", "stage", "modality", "data", "val_data", "out", "steps", "batch_size", "lr", "crop", "workers",
              "threads", "device", "seed", "init_from", "base_model", "eval_every", "ckpt_every", "finetune",
              "ms_ssim_weight")


@click.command("train")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--kind", help="Model kind to train: vq (default) or vae (the textbook Gaussian VAE).")
@click.option("--stage", type=click.Choice(["model", "prior"]),
              help="vq runs: 'model' (the VQ-VAE, default) or 'prior' (the prior over --base-model's indices).")
@click.option("--modality", type=click.Choice(["image", "audio", "video"]),
              help="What --data holds (default image; the model's net.dims must be 2, 1 or 3).")
@click.option("--data", help="Folder of training media (images, audio files under it, or videos).")
@click.option("--val-data", help="Held-out folder (default: every 25th file of --data).")
@click.option("--out", help="Run folder: checkpoint last.pt, metrics.csv (default runs/default).")
@click.option("--steps", type=int, help="Total optimizer steps.")
@click.option("--batch-size", type=int)
@click.option("--lr", type=float, help="Peak learning rate (warm-up, then cosine decay).")
@click.option("--crop", type=int, help="Training crop size in pixels (audio: segment length in samples).")
@click.option("--workers", type=int, help="DataLoader worker processes.")
@click.option("--threads", type=int, help="torch CPU threads (0 = torch default).")
@click.option("--device", help="cpu, cuda, cuda:N or auto (default cpu).")
@click.option("--seed", type=int)
@click.option("--init-from", help="Start from this checkpoint or weights file (model settings come from it).")
@click.option("--adapt-codebook", is_flag=True, default=None,
              help="With --init-from: freeze encoder/decoder, re-learn the codebook on --data (k-means + EMA).")
@click.option("--finetune", type=click.Choice(["all", "decoder"]),
              help="With --init-from: 'decoder' trains only the decoder; indices, prior and rates stay the same.")
@click.option("--ms-ssim-weight", type=float, help="Add W * (1 - MS-SSIM) to the reconstruction loss (crop > 160).")
@click.option("--base-model", help="For --stage prior: the frozen VQ-VAE (checkpoint or weights file).")
@click.option("--eval-every", type=int)
@click.option("--ckpt-every", type=int)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Set any config key, e.g. --set model.vq.codebook_size=512 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the checkpoint in --out at its step, same data order.")
@click.option("--tensorboard", is_flag=True, default=None, help="Also log to TensorBoard (needs tensorboard).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(config: str | None, sets: tuple[str, ...], resume: bool, no_progress: bool, **flags: object) -> None:
    """Train a model. CONFIG is an optional JSON/TOML file; flags and --set override it.

    \b
    Examples:
      vqcodec train configs/image-vq.json --out runs/img
      vqcodec train configs/speech-vq.json --out runs/speech
      vqcodec train configs/image-prior.json --base-model runs/img --out runs/img-prior
      vqcodec train --data photos/ --set model.vq.codebook_size=256 --steps 2000
      vqcodec train --init-from img.safetensors --adapt-codebook --data my_photos/ --out runs/mine
      vqcodec train --init-from img.safetensors --finetune decoder --ms-ssim-weight 0.1 --crop 192 --data photos/
      torchrun --nproc_per_node=2 -m vqcodec.train configs/image-vq.json --out runs/ddp
    """
    try:
        base = read_config_file(config) if config else {}
        flags["adapt_codebook"] = flags.pop("adapt_codebook")
        cfg = build_config(base, {k: flags.get(k) for k in (*_FLAG_KEYS, "adapt_codebook", "tensorboard")}, sets)
        result = train(cfg, resume=resume, progress=not no_progress)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    summary = {"step": result.step, "checkpoint": str(result.checkpoint), "wall_s": round(result.wall_s, 1),
               "val": result.val_metrics, "interrupted": result.interrupted}
    if result.initial_val_metrics:
        summary["val_before"] = result.initial_val_metrics
    click.echo(json.dumps(summary, indent=2), file=sys.stdout)


@click.command("export")
@click.argument("checkpoint", type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="NAME.safetensors to write.")
@click.option("--half", is_flag=True, help="Store floating-point tensors as fp16 (half the size).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def export_command(checkpoint: str, output: str, half: bool, force: bool) -> None:
    """Export a training checkpoint (run folder or last.pt) to a weights file usable with --model."""
    from pathlib import Path

    from vqcodec.train.export import export_checkpoint

    if Path(output).exists() and not force:
        raise click.ClickException(f"{output} exists (use --force to overwrite)")
    try:
        digest = export_checkpoint(checkpoint, output, half=half)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    click.echo(f"wrote {output} (sha256 {digest[:16]})")

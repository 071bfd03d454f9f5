"""``vqcodec demo``: encode and decode the bundled sample photo with the default model and report the numbers."""

from __future__ import annotations

from pathlib import Path

import click

from vqcodec.cli.common import one_line_errors, timed

import vqcodec

SAMPLE = Path(vqcodec.__file__).resolve().parent / "samples" / "photo.png"


@click.command("demo")
@click.option("--out", default="demo-out", show_default=True, help="Folder for sample.vq and sample-decoded.png.")
@click.option("-q", "--quality", type=int, help="Quality level (default: the model's default).")
@click.option("-m", "--model", "model_name", help="Model name or path (default: the built-in image model).")
def command(out: str, quality: int | None, model_name: str | None) -> None:
    """Round-trip the bundled photo: prints bpp, PSNR, MS-SSIM, encode/decode seconds and the output paths."""
    from vqcodec.api import compress_image, decompress_image
    from vqcodec.fileio import atomic_write_bytes
    from vqcodec.media import encode_image, load_image
    from vqcodec.metrics import ms_ssim_uint8, psnr_uint8
    from vqcodec.registry import default_image_model, default_quality, load_model

    with one_line_errors():
        model = load_model(model_name or default_image_model().name)
        q = quality if quality is not None else default_quality(model)
        pixels = load_image(SAMPLE).pixels
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        comp, t_enc = timed(lambda: compress_image(pixels, model, q))
        dec, t_dec = timed(lambda: decompress_image(comp.data, model))
        vq_path, png_path = folder / "sample.vq", folder / "sample-decoded.png"
        atomic_write_bytes(vq_path, comp.data)
        atomic_write_bytes(png_path, encode_image(dec.pixels, "PNG"))
    ref, hat = pixels.permute(1, 2, 0).numpy(), dec.pixels.permute(1, 2, 0).numpy()
    _, h, w = pixels.shape
    click.echo(f"model      {model.name} (sha256 {model.sha256[:8]}), quality {q}")
    click.echo(f"input      {SAMPLE} ({w}x{h})")
    est = comp.estimated_bits / (h * w)
    click.echo(f"size       {len(comp.data)} bytes = {comp.bpp:.4f} bpp (prior estimate {est:.4f} bpp)")
    click.echo(f"PSNR       {psnr_uint8(ref, hat):.2f} dB")
    click.echo(f"MS-SSIM    {ms_ssim_uint8(ref, hat):.4f}")
    click.echo(f"encode     {t_enc:.3f} s    decode {t_dec:.3f} s   (CPU)")
    click.echo(f"outputs    {vq_path}  {png_path}")

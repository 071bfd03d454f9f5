"""``vqcodec encode``: images -> ``.vq`` files with a built-in or exported model."""

from __future__ import annotations

import click

from vqcodec.cli.common import echo_err, one_line_errors, plan_outputs, read_input, run_all, timed, write_output


@click.command("encode")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output .vq file for one input ('-' = stdout).")
@click.option("-d", "--outdir", help="Folder for the outputs of several inputs (NAME.vq each).")
@click.option("-q", "--quality", type=int, help="Quality level 1..S of the model (default: the model's default).")
@click.option("-m", "--model", "model_name", help="Built-in model name or path to an exported .safetensors.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or auto (the entropy coder is CPU).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--quiet", is_flag=True, help="No per-file report.")
def command(inputs: tuple[str, ...], output: str | None, outdir: str | None, quality: int | None,
            model_name: str | None, device: str, force: bool, quiet: bool) -> None:
    """Compress images (PNG, JPEG, WebP, TIFF, BMP, PPM; '-' = stdin) into .vq files.

    \b
    Examples:
      vqcodec encode img.png -o img.vq
      vqcodec encode img.png -o img.vq --quality 5
      vqcodec encode a.png b.jpg -d out/
      cat img.png | vqcodec encode - -o - > img.vq
    """
    from vqcodec.api import compress_image
    from vqcodec.media import load_image
    from vqcodec.registry import default_image_model, default_quality, load_model

    outs = plan_outputs(inputs, output, outdir, ".vq", force)
    with one_line_errors():
        model = load_model(model_name or default_image_model().name)
        q = quality if quality is not None else default_quality(model)
        dev = _device(device)

    def one(src: str, dst: str) -> None:
        pixels = load_image(read_input(src) if src == "-" else src).pixels
        result, secs = timed(lambda: compress_image(pixels, model, q, dev))
        write_output(dst, result.data)
        if not quiet:
            _, h, w = result.header.shape
            echo_err(f"{src} -> {dst}: {w}x{h}, {len(result.data)} bytes, {result.bpp:.4f} bpp, "
                     f"quality {q}, {secs:.2f} s")

    run_all(list(zip(inputs, outs)), quiet, "encode", one)


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda requested but no CUDA device is available")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r} (cpu, cuda, cuda:N or auto)")
    return name

"""``vqcodec decode``: ``.vq`` files -> images."""

from __future__ import annotations

import click

from vqcodec.cli.common import echo_err, one_line_errors, plan_outputs, read_input, run_all, timed, write_output
from vqcodec.cli.encode import _device


@click.command("decode")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output image for one input ('-' = stdout, PNG); format from the suffix.")
@click.option("-d", "--outdir", help="Folder for the outputs of several inputs (NAME.png each).")
@click.option("-m", "--model", "model_path",
              help="Exported .safetensors the file was made with (built-ins load by name).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or auto.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--quiet", is_flag=True, help="No per-file report.")
def command(inputs: tuple[str, ...], output: str | None, outdir: str | None, model_path: str | None,
            device: str, force: bool, quiet: bool) -> None:
    """Decode .vq files ('-' = stdin) to images (PNG unless the output suffix says otherwise).

    \b
    Examples:
      vqcodec decode img.vq -o out.png
      vqcodec decode *.vq -d decoded/
    """
    from vqcodec.api import decompress_image
    from vqcodec.media import encode_image, format_for_path
    from vqcodec.registry import load_model

    outs = plan_outputs(inputs, output, outdir, ".png", force)
    with one_line_errors():
        model = load_model(model_path) if model_path else None
        dev = _device(device)

    def one(src: str, dst: str) -> None:
        data = read_input(src)
        decoded, secs = timed(lambda: decompress_image(data, model, dev))
        fmt = "PNG" if dst == "-" else format_for_path(dst)
        write_output(dst, encode_image(decoded.pixels, fmt))
        if not quiet:
            _, h, w = decoded.header.shape
            echo_err(f"{src} -> {dst}: {w}x{h}, model {decoded.header.model}, quality {decoded.header.quality}, "
                     f"{secs:.2f} s")

    run_all(list(zip(inputs, outs)), quiet, "decode", one)

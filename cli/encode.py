"""``vqcodec encode``: images, sounds and videos -> ``.vq`` files with a built-in or exported model."""

from __future__ import annotations

from pathlib import Path

import click

from vqcodec.cli.common import (
    describe_media,
    device_option,
    echo_err,
    one_line_errors,
    plan_outputs,
    progress_bars,
    read_input,
    run_all,
    timed,
    write_output,
)


@click.command("encode")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output .vq file for one input ('-' = stdout).")
@click.option("-d", "--outdir", help="Folder for the outputs of several inputs (NAME.vq each; created if missing).")
@click.option("-q", "--quality", type=int, help="Quality level of the model (see `vqcodec models`; default: the "
              "model's default). For VQ models, the number of residual stages coded.")
@click.option("-b", "--bitrate", type=float, metavar="KBPS",
              help="Audio: pick the quality whose measured rate (`vqcodec models`) is nearest to KBPS.")
@click.option("-m", "--model", "model_name",
              help="Built-in model name or path to an exported .safetensors (default: the modality's built-in).")
@click.option("--size", metavar="WxH", help="Frame size of a raw yuv420p video input.")
@click.option("--fps", type=float, help="Frame rate of a video input that carries none (bare .h264, PNG folder).")
@click.option("--no-audio", is_flag=True, help="Video: drop the sound track (by default a video's first audio "
              "stream is coded with the built-in speech model into the same .vq).")
@click.option("--audio-quality", type=int, metavar="Q",
              help="Video: quality level of the speech model for the sound track (default: its default).")
@device_option
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs (regular files only).")
@click.option("--quiet", is_flag=True, help="No per-file report.")
def command(inputs: tuple[str, ...], output: str | None, outdir: str | None, quality: int | None,
            bitrate: float | None, model_name: str | None, size: str | None, fps: float | None, no_audio: bool,
            audio_quality: int | None, device: str, force: bool, quiet: bool) -> None:
    """Compress images, audio or videos into .vq files ('-' = stdin, images and audio only).

    The modality is recognised from each input's content: images (PNG, JPEG, WebP, TIFF, BMP, PPM, GIF),
    audio (WAV, FLAC, OGG, MP3, and what FFmpeg reads; any sample rate, resampled to the model's rate;
    several channels are downmixed to mono), videos (MP4, MKV, WebM, AVI, Y4M, bare H.264/H.265, a folder of
    PNG frames, raw yuv420p with --size). Each uses its modality's default model unless --model is given. A
    video's sound track (its first audio stream) is coded with the built-in speech model (mono, 16 kHz inside)
    into the same .vq, and restored by `vqcodec decode` into .mkv/.mp4; --no-audio drops it.

    \b
    Examples:
      vqcodec encode img.png -o img.vq
      vqcodec encode img.png -o img.vq --quality 5
      vqcodec encode talk.wav -o talk.vq --bitrate 6
      vqcodec encode clip.mp4 -o clip.vq
      vqcodec encode clip.mp4 -o clip.vq --no-audio
      vqcodec encode a.png b.jpg -d out/
      cat img.png | vqcodec encode - -o - > img.vq
    """
    from vqcodec.api import encode
    from vqcodec.media.load import load_media

    if quality is not None and bitrate is not None:
        raise click.ClickException("give --quality or --bitrate, not both")
    outs = plan_outputs(inputs, output, outdir, [Path(i).stem + ".vq" for i in inputs], force)
    with one_line_errors():
        model = _load(model_name)
        dev = _device(device)

    def one(src: str, dst: str) -> None:
        media = load_media(read_input(src) if src == "-" else src, size=size, fps=fps, audio=not no_audio)
        loaded = model if model is not None else _default(media)
        q = quality if bitrate is None else _quality_for(loaded, bitrate)
        with progress_bars(media, quiet):
            result, secs = timed(lambda: encode(media, loaded, q, dev, audio_quality=audio_quality))
        write_output(dst, result.data)
        if not quiet:
            rate, unit = result.rate
            picked = f" (nearest to {bitrate:g} kbps)" if bitrate is not None else ""
            echo_err(f"{src} -> {dst}: {describe_media(media)}, {len(result.data)} bytes, {rate:.4g} {unit}, "
                     f"model {result.header.model}, quality {result.header.quality}{picked}, {secs:.2f} s")

    run_all(list(zip(inputs, outs)), quiet, "encode", one)


def _load(name: str | None):  # type: ignore[no-untyped-def]
    from vqcodec.registry import BUILTIN, builtin_model, load_model

    if name is None:
        return None
    return builtin_model(name) if name in BUILTIN else load_model(name)


def _default(media):  # type: ignore[no-untyped-def]
    from vqcodec.media.adapters import adapter_for
    from vqcodec.registry import builtin_model, default_model

    return builtin_model(default_model(adapter_for(media).name).name)


def _quality_for(model, kbps: float) -> int:  # type: ignore[no-untyped-def]
    """The quality whose measured rate is nearest ``kbps`` (built-in models carry their measurements)."""
    info = model.builtin
    if info is None or not info.qualities or info.qualities[0].rate_unit != "kbps":
        raise ValueError(f"--bitrate needs a built-in audio model with measured rates; {model.name} has none "
                         "(use --quality)")
    return min(info.qualities, key=lambda m: abs(m.rate - kbps)).quality


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda requested but no CUDA device is available")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r} (cpu, cuda, cuda:N or auto)")
    return name

"""``vqcodec decode``: ``.vq`` files -> images, sounds or videos, as each file's header says."""

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
from vqcodec.cli.encode import _device

DEFAULT_SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mkv"}
OUTPUT_SUFFIXES = {
    "image": (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm", ".pnm"),
    "audio": (".wav", ".flac"),
    "video": (".mkv", ".mp4", ".y4m", ""),
}


@click.command("decode")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output for one input ('-' = stdout: PNG, WAV or Y4M); format from the suffix.")
@click.option("-d", "--outdir", help="Folder for the outputs of several inputs (created if missing).")
@click.option("-m", "--model", "model_path",
              help="Exported .safetensors the file was made with (built-ins load by the name in the header).")
@click.option("--rate", "rate", metavar="HZ|input",
              help="Audio: resample the decoded sound to HZ, or to the input's original rate with 'input' "
                   "(default: the model's rate, 16 kHz for speech).")
@device_option
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs (regular files only).")
@click.option("--quiet", is_flag=True, help="No per-file report.")
def command(inputs: tuple[str, ...], output: str | None, outdir: str | None, model_path: str | None,
            rate: str | None, device: str, force: bool, quiet: bool) -> None:
    """Decode .vq files ('-' = stdin) into what each header holds: an image, a sound or a video.

    Without -o the output is NAME.decoded.png (images), NAME.decoded.wav (audio, mono) or NAME.decoded.mkv
    (video, lossless FFV1) next to NAME.vq, so it never replaces the original input. Output suffixes: images
    .png .jpg .webp .tif .bmp .ppm; audio .wav .flac; video .mkv (FFV1, exact frames), .mp4 (lossless H.264 RGB),
    .y4m (4:4:4), or a path without suffix for a folder of PNG frames. A video's sound track, if the file has
    one, goes into .mkv (FLAC) and .mp4 (AAC) outputs, mono at the input's sample rate.

    \b
    Examples:
      vqcodec decode img.vq -o out.png
      vqcodec decode talk.vq -o talk.wav --rate input
      vqcodec decode clip.vq -o clip.mkv
      vqcodec decode *.vq -d decoded/
    """
    from vqcodec.api import decode, read_header
    from vqcodec.registry import load_model

    names = [Path(src).stem + ".decoded" + _default_suffix(src) for src in inputs]
    outs = plan_outputs(inputs, output, outdir, names, force)
    with one_line_errors():
        model = load_model(model_path) if model_path else None
        dev = _device(device)
        target = _rate(rate)

    def one(src: str, dst: str) -> None:
        data = read_input(src)
        header = read_header(data)
        _check_suffix(dst, header.modality)
        with progress_bars(header, quiet):
            decoded, secs = timed(lambda: decode(data, model, dev, target))
        media = decoded.media
        _write(media, dst)
        if not quiet:
            echo_err(f"{src} -> {dst}: {describe_media(media)}, model {header.model}, quality {header.quality}, "
                     f"{secs:.2f} s")

    run_all(list(zip(inputs, outs)), quiet, "decode", one)


def _default_suffix(src: str) -> str:
    """The output suffix for the modality ``src``'s header names (an unreadable file is reported when decoded)."""
    from vqcodec.api import read_header

    if src == "-":
        return ""
    try:
        return DEFAULT_SUFFIX.get(read_header(read_input(src)).modality, "")
    except (ValueError, OSError, click.ClickException):
        return ""


def _rate(text: str | None) -> int | str | None:
    if text is None or text == "input":
        return text
    if not text.isdigit() or not 1000 <= int(text) <= 384000:
        raise ValueError(f"--rate must be 'input' or a sample rate in Hz (1000..384000), got {text!r}")
    return int(text)


def _check_suffix(dst: str, modality: str) -> None:
    if dst == "-":
        return
    suffix = Path(dst).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES.get(modality, ()):
        allowed = " ".join(s or "(a folder)" for s in OUTPUT_SUFFIXES.get(modality, ()))
        raise ValueError(f"this file holds {'an' if modality[0] in 'aeiou' else 'a'} {modality}; "
                         f"write it as one of {allowed}, not {suffix or 'a folder'}")


def _write(media, dst: str) -> None:  # type: ignore[no-untyped-def]
    from vqcodec.media import encode_audio, encode_image, format_for_path
    from vqcodec.media.types import Audio, Image
    from vqcodec.media.video import encode_y4m, save_video

    if isinstance(media, Image):
        write_output(dst, encode_image(media.pixels, "PNG" if dst == "-" else format_for_path(dst)))
    elif isinstance(media, Audio):
        fmt = "FLAC" if dst != "-" and Path(dst).suffix.lower() == ".flac" else "WAV"
        write_output(dst, encode_audio(media.samples, media.sample_rate, fmt))
    else:
        sound_written = False
        if dst == "-":
            write_output(dst, encode_y4m(media.frames, media.fps))
        else:
            sound_written = save_video(media.frames, media.fps, dst, media.audio)
        if media.audio is not None and not sound_written:
            echo_err(f"{dst}: the file's sound track is not written (only .mkv and .mp4 outputs hold sound)")

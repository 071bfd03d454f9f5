"""``vqcodec demo``: round-trip the bundled samples with the built-in models and report the numbers."""

from __future__ import annotations

from pathlib import Path

import click

from vqcodec.cli.common import one_line_errors, timed

import vqcodec

SAMPLES = Path(vqcodec.__file__).resolve().parent / "samples"
CASES = {"image": SAMPLES / "photo.png", "audio": SAMPLES / "speech_a.flac", "video": SAMPLES / "clip.mp4"}


@click.command("demo")
@click.option("--out", default="demo-out", show_default=True,
              help="Folder for the .vq files and the decoded samples (created if missing).")
@click.option("-q", "--quality", type=int, help="Quality level for --model's modality (default: the model's).")
@click.option("-m", "--model", "model_name", help="Model name or path used for its modality instead of the built-in.")
@click.option("-f", "--force", is_flag=True, help="Replace outputs left in --out by an earlier demo.")
def command(out: str, quality: int | None, model_name: str | None, force: bool) -> None:
    """Encode and decode the bundled photo, utterance and clip with every built-in model of their modality (the
    photo with both image codecs, side by side), or with --model only: prints rate, quality metrics,
    encode/decode seconds and the output paths. -q applies to --model."""
    from vqcodec.fileio import WriteError
    from vqcodec.registry import DEFAULT_MODELS, load_model

    folder = Path(out)
    with one_line_errors():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"cannot write {folder}: {(exc.strerror or str(exc)).lower()}") from None
        override = load_model(model_name) if model_name else None
        runs = _plan(override)
        existing = [p for _, sample, _, stem in runs for p in (folder / f"{stem}.vq", folder / f"{stem}.decoded.png",
                                                               folder / f"{stem}.decoded.wav",
                                                               folder / f"{stem}.decoded.mkv") if p.exists()]
        if existing and not force:
            raise click.ClickException(f"{existing[0]} exists (use --force to replace the demo's outputs)")
    for modality in CASES:
        if modality not in DEFAULT_MODELS and not any(m == modality for m, *_ in runs):
            click.echo(f"{modality:<6} no built-in {modality} model in this vqcodec yet (skipped)")
    for modality, sample, model, stem in runs:
        with one_line_errors():
            _round_trip(modality, sample, folder / stem, model, quality if override is not None else None)
    if override is not None and not runs:
        raise click.ClickException(f"model {override.name} codes none of the bundled samples")


def _plan(override):  # type: ignore[no-untyped-def]
    """``[(modality, sample, model, output stem)]``: with ``--model``, that model on its modality's sample;
    otherwise every built-in model of each modality, the default first (output ``photo.vq``), the others side by
    side (``photo.NAME.vq``)."""
    from vqcodec.registry import BUILTIN, DEFAULT_MODELS, load_model

    if override is not None:
        modality = _modality(override)
        return [(modality, CASES[modality], override, CASES[modality].stem)] if modality in CASES else []
    runs = []
    for modality, sample in CASES.items():
        default = DEFAULT_MODELS.get(modality)
        if default is None:
            continue
        others = sorted(m.name for m in BUILTIN.values() if m.modality == modality and m.name != default)
        runs.append((modality, sample, None, sample.stem))
        runs += [(modality, sample, load_model(name), f"{sample.stem}.{name}") for name in others]
    return runs


def _modality(model) -> str:  # type: ignore[no-untyped-def]
    from vqcodec.media.adapters import DIMS_TO_MODALITY

    return DIMS_TO_MODALITY.get(getattr(model.module, "dims", 0), "")


def _round_trip(modality: str, sample: Path, stem: Path, model, quality: int | None) -> None:  # type: ignore[no-untyped-def]
    from vqcodec.api import decode, encode
    from vqcodec.fileio import atomic_write_bytes
    from vqcodec.media.load import load_media

    media = load_media(sample)
    comp, t_enc = timed(lambda: encode(media, model, quality))
    dec, t_dec = timed(lambda: decode(comp.data, model))
    vq_path = stem.parent / f"{stem.name}.vq"
    atomic_write_bytes(vq_path, comp.data)
    out_path = _save(dec.media, stem.parent / f"{stem.name}.decoded")
    rate, unit = comp.rate
    h = comp.header
    click.echo(f"{modality:<6} {sample.name}: model {h.model} (sha256 {h.weights_sha256}), quality {h.quality}")
    click.echo(f"       size {len(comp.data)} bytes = {rate:.4g} {unit} (entropy-model estimate "
               f"{rate * comp.estimated_bits / (8 * len(comp.data)):.4g} {unit})")
    click.echo(f"       {_metrics(media, dec.media)}")
    click.echo(f"       encode {t_enc:.3f} s, decode {t_dec:.3f} s (CPU); outputs {vq_path} {out_path}")


def _save(media, stem: Path) -> Path:  # type: ignore[no-untyped-def]
    from vqcodec.fileio import atomic_write_bytes
    from vqcodec.media import encode_audio, encode_image
    from vqcodec.media.types import Audio, Image, Video

    if isinstance(media, Image):
        path = stem.parent / f"{stem.name}.png"
        atomic_write_bytes(path, encode_image(media.pixels, "PNG"))
        return path
    if isinstance(media, Video):
        from vqcodec.media.video import save_video

        path = stem.parent / f"{stem.name}.mkv"
        save_video(media.frames, media.fps, path, media.audio)
        return path
    assert isinstance(media, Audio)
    path = stem.parent / f"{stem.name}.wav"
    atomic_write_bytes(path, encode_audio(media.samples, media.sample_rate, "WAV"))
    return path


def _metrics(ref, test) -> str:  # type: ignore[no-untyped-def]
    from vqcodec.media.types import Audio, Image, Video
    from vqcodec.metrics import ms_ssim_uint8, psnr_uint8, si_sdr

    if isinstance(ref, Image):
        a, b = ref.pixels.permute(1, 2, 0).numpy(), test.pixels.permute(1, 2, 0).numpy()
        return f"PSNR {psnr_uint8(a, b):.2f} dB, MS-SSIM {ms_ssim_uint8(a, b):.4f}"
    if isinstance(ref, Video):
        a, b = ref.frames.permute(1, 2, 3, 0).numpy(), test.frames.permute(1, 2, 3, 0).numpy()
        mean = sum(psnr_uint8(x, y) for x, y in zip(a, b)) / len(a)
        sound = "" if ref.audio is None or test.audio is None else f"; sound track: {_metrics(ref.audio, test.audio)}"
        return f"PSNR {mean:.2f} dB (RGB, mean over {len(a)} frames of {a.shape[2]}x{a.shape[1]}){sound}"
    assert isinstance(ref, Audio) and isinstance(test, Audio)
    from vqcodec.media.audio import resample

    mono = resample(ref.samples.mean(0, keepdim=True), ref.sample_rate, test.sample_rate)[0]
    n = min(mono.shape[0], test.samples.shape[1])
    from vqcodec.spectral import log_mel_distance

    ref_n, test_n = mono[:n], test.samples[0, :n]
    return (f"log-mel distance {log_mel_distance(ref_n, test_n, test.sample_rate):.3f}, SI-SDR "
            f"{si_sdr(ref_n, test_n):.2f} dB (phase-blind speech synthesis: SI-SDR is not its measure) at "
            f"{test.sample_rate} Hz (mono)")

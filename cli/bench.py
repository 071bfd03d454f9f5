"""``vqcodec bench``: rate-distortion and speed of codecs on a folder of items; reports, BD-rates and plots."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

_DEFAULT_IMAGE_CODECS = "jpeg,jpeg444,webp,avif,jpeg2000"


@click.group("bench")
def command() -> None:
    """Benchmark codecs: rate, distortion, speed, BD-rate, RD plots."""


@command.command("codecs")
def list_codecs() -> None:
    """List the registered codec adapters."""
    from vqcodec.bench.codecs import available_codecs

    for name, desc in available_codecs().items():
        click.echo(f"{name:12s} {desc}")


def _check_out_dir(out: Path, force: bool) -> None:
    if (out / "results.json").exists() and not force:
        raise click.ClickException(f"{out}/results.json exists (use --force to overwrite)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".vqcodec-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise click.ClickException(f"output folder {out} is not writable: {e.strerror or e}") from None


def _command_line(modality: str, data: Path, codecs: list[str], out: Path, device: str, limit: int | None,
                  workers: int, anchor: str | None, repeats: int, threads: int, references: str,
                  extra: dict[str, int]) -> str:
    args = ["vqcodec", "bench", modality, "--data", str(data), "--codecs", ",".join(codecs), "--out", str(out),
            "--device", device, "--workers", str(workers), "--repeats", str(repeats), "--threads", str(threads),
            "--references", references]
    args += [a for k, v in extra.items() for a in (f"--{k}", str(v))]
    args += ["--limit", str(limit)] if limit is not None else []
    args += ["--anchor", anchor] if anchor else []
    return shlex.join(args)


def _frames_option(fn):  # type: ignore[no-untyped-def]
    return click.option("--frames", type=click.IntRange(min=1), default=30, show_default=True,
                        help="Bench the first N frames of each clip.")(fn)


def _bench_command(modality_name: str, default_codecs: str, default_anchor: str, what: str,  # type: ignore[no-untyped-def]
                   frames: bool = False):
    """The ``vqcodec bench <modality>`` command: the same options and runner for every modality (video adds
    ``--frames``)."""

    def options(fn):  # type: ignore[no-untyped-def]
        return _frames_option(fn) if frames else fn

    @command.command(modality_name)
    @options
    @click.option("--data", "data", type=click.Path(path_type=Path), required=True, help=f"Folder of {what}.")
    @click.option("--codecs", default=default_codecs, show_default=True, help="Comma-separated codec specs.")
    @click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Output folder.")
    @click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
                  help="Where learned codecs run their networks (timings synchronise CUDA).")
    @click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N items.")
    @click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes.")
    @click.option("--anchor", default=None,
                  help=f"BD-rate anchor codec [default: {default_anchor} if benched, else the first].")
    @click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed runs (median).")
    @click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="torch threads.")
    @click.option("--references", default="auto", show_default=True,
                  help="Published curves to plot: a dataset name (kodak), 'auto' (the data folder's name) or 'none'.")
    @click.option("--force", is_flag=True, help="Overwrite existing results in --out.")
    def run(data: Path, codecs: str, out: Path, device: str, limit: int | None, workers: int, anchor: str | None,
            repeats: int, threads: int, references: str, force: bool, **extra: int) -> None:
        _bench(modality_name, default_anchor, what, data, codecs, out, device, limit, workers, anchor, repeats, threads,
               references, force, extra)

    run.__doc__ = (f"Bench {modality_name} codecs on every item in --data; write results.json/.csv, summary.md "
                   "and RD plots to --out.")
    return run


def _bench(modality_name: str, default_anchor: str, what: str, data: Path, codecs: str, out: Path, device: str,
           limit: int | None, workers: int, anchor: str | None, repeats: int, threads: int, references: str,
           force: bool, extra: dict[str, int]) -> None:
    import torch
    from vqcodec.bench.codecs import check_specs
    from vqcodec.bench.modality import MODALITIES
    from vqcodec.bench.reference_curves import available_reference_sets
    from vqcodec.bench.report import write_outputs
    from vqcodec.bench.runner import BenchConfig, run_bench

    specs = [s.strip() for s in codecs.split(",") if s.strip()]
    if not specs:
        raise click.ClickException("--codecs is empty")
    if unknown := check_specs(specs):
        raise click.ClickException(f"unknown codec(s) {', '.join(unknown)}; see `vqcodec bench codecs`")
    anchor = anchor or (default_anchor if default_anchor in specs else specs[0])
    if anchor not in specs:
        raise click.ClickException(f"anchor {anchor!r} is not among --codecs")
    if device == "cuda" and not torch.cuda.is_available():
        raise click.ClickException("--device cuda requested but CUDA is not available")
    if not data.is_dir():
        raise click.ClickException(f"data folder {data} does not exist or is not a folder")
    modality = MODALITIES[modality_name](**extra)
    items = modality.list_items(data, limit)
    if not items:
        noun = what.split(" (")[0]
        raise click.ClickException(f"no {noun} ({', '.join(modality.extensions)}) in {data}")
    _check_out_dir(out, force)
    dataset = data.resolve().name
    refs = dataset if references == "auto" else (None if references == "none" else references)
    if refs is not None and refs not in available_reference_sets():
        if references != "auto":
            raise click.ClickException(f"no reference curves for {refs!r}; have {available_reference_sets()}")
        refs = None
    cmd = _command_line(modality_name, data, specs, out, device, limit, workers, anchor, repeats, threads,
                        references, extra)
    try:
        cfg = BenchConfig(device=device, repeats=repeats, workers=workers, threads=threads)
        result = run_bench(modality, items, specs, cfg, dataset=dataset, command=cmd)
        written = write_outputs(result, modality, out, anchor=anchor, references=refs)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    for p in written:
        click.echo(str(p))


image = _bench_command("image", _DEFAULT_IMAGE_CODECS, "jpeg", "images")
speech = _bench_command("speech", "opus,opus-ogg,codec2,mp3", "opus", "speech recordings (searched recursively)")
video = _bench_command("video", "x264,x264-veryfast,x265,av1,mjpeg,vq-image", "x264",
                       "video clips (files PyAV reads, raw .yuv named WxH, PNG-frame folders)", frames=True)


@command.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--anchor", default=None, help="BD-rate anchor codec [default: jpeg if present, else the first].")
@click.option("--references", default="auto", show_default=True,
              help="Published curves to plot: a dataset name, 'auto' (the results' dataset) or 'none'.")
@click.option("--force", is_flag=True, help="Overwrite existing results in --out.")
def report(results: tuple[Path, ...], out: Path, anchor: str | None, references: str, force: bool) -> None:
    """Re-render (and merge) results.json files into tables and plots, without re-running any codec."""
    from vqcodec.bench.modality import MODALITIES
    from vqcodec.bench.report import write_outputs
    from vqcodec.bench.results import BenchResult, merge_results

    try:
        merged = merge_results([BenchResult.read_json(p) for p in results])
    except (ValueError, KeyError) as e:
        raise click.ClickException(f"cannot read results: {e}") from None
    if any(out.resolve() == p.resolve().parent for p in results):
        force = True  # re-rendering in place rewrites the same results
    _check_out_dir(out, force)
    names = [c.name for c in merged.codecs]
    anchor = anchor or ("jpeg" if "jpeg" in names else names[0])
    refs = merged.dataset if references == "auto" else (None if references == "none" else references)
    try:
        modality = MODALITIES[merged.modality](**merged.config.get("modality_options", {}))
        written = write_outputs(merged, modality, out, anchor=anchor, references=refs)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    for p in written:
        click.echo(str(p))

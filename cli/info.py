"""``vqcodec info FILE [--json]``: print the header of a .vq file, common fields and the kind's own section."""

from __future__ import annotations

import dataclasses
import json

import click

from vqcodec.api import adapter_of
from vqcodec.bitstream import read
from vqcodec.cli.common import one_line_errors, read_input


@click.command("info")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def command(path: str, as_json: bool) -> None:
    """Print the header of the .vq file PATH ('-' = stdin): model, weights hash, modality, codec kind, shape,
    rates, padding, quality, coder, precision, then the kind's section (for VQ: latent grid, coding tile, stages,
    codebook size, symbol CRC), the format version, the byte counts and the file's rate (bpp or kbps)."""
    with one_line_errors(f"{path}: "):
        data = read_input(path)
        header, sections = read(data)
    fields = {k: v for k, v in dataclasses.asdict(header).items() if k != "fields"}
    fields.update({f"{header.codec_kind}.{k}": v for k, v in dataclasses.asdict(header.fields).items()})
    fields.update(format_version=data[3], file_bytes=len(data), payload_sections=len(sections),
                  payload_bytes=sum(len(s) for s in sections))
    value, unit = adapter_of(header).rate(8.0 * len(data), header)
    fields["rate"] = f"{value:.4g} {unit}"  # of the whole file, header included
    if header.modality == "audio" and header.sample_rate:
        fields["duration_s"] = round(header.shape[-1] / header.sample_rate, 3)
    if header.audio_track:
        track, _ = read(sections[-1])
        fields.update({"audio_track.model": track.model, "audio_track.quality": track.quality,
                       "audio_track.shape": track.shape, "audio_track.sample_rate": track.sample_rate,
                       "audio_track.bytes": len(sections[-1])})
        value, unit = adapter_of(track).rate(8.0 * len(sections[-1]), track)
        fields["audio_track.rate"] = f"{value:.4g} {unit}"
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        click.echo(f"{key:<{width}}  {value}")

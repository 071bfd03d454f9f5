"""``vqcodec info FILE [--json]``: print the header of a .vq file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from vqcodec.bitstream import VQCodecError, read


@click.command("info")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def command(path: Path, as_json: bool) -> None:
    """Print the header of the .vq file PATH."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        header, sections = read(data)
    except VQCodecError as exc:
        raise click.ClickException(f"{path}: {type(exc).__name__}: {exc}") from exc
    fields = dataclasses.asdict(header)
    fields.update(file_bytes=len(data), payload_bytes=sum(len(s) for s in sections))
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        click.echo(f"{key:<{width}}  {value}")

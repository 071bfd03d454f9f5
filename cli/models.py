"""``vqcodec models``: list the built-in models (name, modality, quality, size, measured rate and quality)."""

from __future__ import annotations

import json

import click

from vqcodec.registry import models


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> None:
    """List the built-in models shipped with this vqcodec."""
    rows = []
    for m in models():
        size = m.path.stat().st_size if m.path.exists() else 0
        rows.append({"name": m.name, "modality": m.modality, "quality": m.quality, "size_bytes": size,
                     "description": m.description})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no built-in models in this installation")
        return
    click.echo(f"{'name':<22} {'modality':<8} {'quality':>7} {'size':>9}  description")
    for r in rows:
        click.echo(f"{r['name']:<22} {r['modality']:<8} {r['quality']:>7} {r['size_bytes'] / 1e6:>8.2f}M  "
                   f"{r['description']}")

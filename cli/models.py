"""``vqcodec models``: the built-in models with their measured rate and quality at every level."""

from __future__ import annotations

import json

import click

from vqcodec.registry import models


@click.command("models")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable: name, modality, kind, default_quality, qualities "
                   "[{quality, rate, rate_unit, metrics, dataset}], size_bytes, description.")
def command(as_json: bool) -> None:
    """List the built-in models shipped with this vqcodec and what `vqcodec bench` measured for them."""
    rows = []
    for m in models():
        rows.append({**m.to_dict(), "size_bytes": m.path.stat().st_size if m.path.exists() else 0})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no built-in models in this installation")
        return
    for r in rows:
        click.echo(f"{r['name']}  ({r['modality']}, kind {r['kind']}, {r['size_bytes'] / 1e6:.2f} MB, default quality "
                   f"{r['default_quality']}): {r['description']}")
        for q in r["qualities"]:
            metrics = ", ".join(f"{k} {v:.4g}" for k, v in q["metrics"].items())
            click.echo(f"    quality {q['quality']}: {q['rate']:.4g} {q['rate_unit']}, {metrics} ({q['dataset']})")

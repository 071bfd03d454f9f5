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
        rows.append({"name": m.name, "modality": m.modality, "default_quality": m.default_quality,
                     "size_bytes": size, "description": m.description,
                     "kodak": [{"quality": q, "bpp": b, "psnr": p, "ms_ssim": s} for q, b, p, s in m.rates]})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no built-in models in this installation")
        return
    for r in rows:
        click.echo(f"{r['name']}  ({r['modality']}, {r['size_bytes'] / 1e6:.2f} MB, default quality "
                   f"{r['default_quality']}): {r['description']}")
        for k in r["kodak"]:
            click.echo(f"    quality {k['quality']}: {k['bpp']:.3f} bpp, {k['psnr']:.2f} dB PSNR, "
                       f"MS-SSIM {k['ms_ssim']:.4f} (Kodak)")

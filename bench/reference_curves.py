"""Published reference rate-distortion curves, shipped as data in ``vqcodec/bench/references/<dataset>.json``.

They are plotted (dashed) next to measured curves and never enter the measured tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ReferenceCurve:
    """One published curve: averaged rate and metric values with where they come from."""

    name: str
    citation: str
    source_file: str
    results: dict[str, list[float]]


def available_reference_sets() -> list[str]:
    """Dataset names that have published reference curves."""
    folder = resources.files("vqcodec.bench").joinpath("references")
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_references(dataset: str) -> tuple[str, list[ReferenceCurve]]:
    """The source note and the curves for ``dataset`` (``("", [])`` when none ship for it)."""
    if dataset not in available_reference_sets():
        return "", []
    text = resources.files("vqcodec.bench").joinpath("references", f"{dataset}.json").read_text("utf-8")
    d = json.loads(text)
    curves = [ReferenceCurve(c["name"], c["citation"], c["source_file"], c["results"]) for c in d["curves"]]
    return d["source"], curves

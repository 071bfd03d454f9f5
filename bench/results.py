"""The bench's results: per-item rows, per-setting averages, and the one JSON/CSV schema for all modalities.

``results.json``::

    {"schema_version": 1, "modality": "image", "rate_key": "bpp", "metrics": ["psnr", "ms_ssim"],
     "averaging": "...", "dataset": "...", "command": "...", "machine": {...}, "config": {...},
     "codecs": [{"name", "description", "setting_name", "settings": [...],
                 "results": {"bpp": [], "bpp_est": [], "psnr": [], "ms_ssim": [], "enc_s": [], "dec_s": []},
                 "items": [{"item", "setting", "bytes", "bpp", "bpp_est", "psnr", "ms_ssim", "enc_s", "dec_s"}]}]}

``results`` lists are parallel to ``settings``; the rate keys follow ``rate_key`` (``kbps`` for speech) and the
metric keys follow ``metrics``. Undefined values (no estimate, metric undefined for an item) are ``null``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
AVERAGING = (
    "per setting, the arithmetic mean over items of each item's rate and of each item's metric "
    "(PSNR averaged in dB, MS-SSIM averaged linearly, then shown as -10 log10(1 - mean) in dB); "
    "times are the mean over items of each item's median time"
)


@dataclass(frozen=True)
class Row:
    """One item coded by one codec at one setting."""

    item: str
    setting: float | int
    bytes: int
    rate: float
    rate_est: float | None
    metrics: dict[str, float | None]
    enc_s: float
    dec_s: float
    frames: int = 1
    """Frames in the item (video; 1 for images and speech): speed in frames per second is ``frames / enc_s``."""


@dataclass
class CodecResult:
    """All rows of one codec plus what describes it."""

    name: str
    description: str
    setting_name: str
    settings: list[float | int]
    rows: list[Row] = field(default_factory=list)

    def averaged(self, rate_key: str, metric_names: list[str]) -> dict[str, list[float | None]]:
        """Per-setting means over items (see :data:`AVERAGING`), keyed like the JSON ``results``."""
        out: dict[str, list[float | None]] = {k: [] for k in (rate_key, f"{rate_key}_est", *metric_names)}
        out.update(enc_s=[], dec_s=[])
        for s in self.settings:
            rows = [r for r in self.rows if r.setting == s]
            out[rate_key].append(_mean([r.rate for r in rows]))
            out[f"{rate_key}_est"].append(_mean([r.rate_est for r in rows]))
            for m in metric_names:
                out[m].append(_mean([r.metrics.get(m) for r in rows]))
            out["enc_s"].append(_mean([r.enc_s for r in rows]))
            out["dec_s"].append(_mean([r.dec_s for r in rows]))
        return out


@dataclass
class BenchResult:
    """A whole bench run: what ran where, and one :class:`CodecResult` per codec."""

    modality: str
    rate_key: str
    metrics: list[str]
    codecs: list[CodecResult]
    dataset: str = ""
    command: str = ""
    machine: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def codec(self, name: str) -> CodecResult:
        """The result of the codec called ``name``."""
        for c in self.codecs:
            if c.name == name:
                return c
        raise KeyError(f"no codec {name!r} in results; have {[c.name for c in self.codecs]}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON schema of this module's docstring."""
        return {
            "schema_version": SCHEMA_VERSION, "modality": self.modality, "rate_key": self.rate_key,
            "metrics": self.metrics, "averaging": AVERAGING, "dataset": self.dataset, "command": self.command,
            "machine": self.machine, "config": self.config,
            "codecs": [self._codec_dict(c) for c in self.codecs],
        }

    def _codec_dict(self, c: CodecResult) -> dict[str, Any]:
        k = self.rate_key
        items = [
            {"item": r.item, "setting": r.setting, "bytes": r.bytes, k: r.rate, f"{k}_est": r.rate_est,
             **{m: r.metrics.get(m) for m in self.metrics}, "enc_s": r.enc_s, "dec_s": r.dec_s,
             **({"frames": r.frames} if r.frames != 1 else {})}
            for r in c.rows
        ]
        return {"name": c.name, "description": c.description, "setting_name": c.setting_name,
                "settings": c.settings, "results": c.averaged(k, self.metrics), "items": items}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchResult:
        """Inverse of :meth:`to_dict`."""
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported results schema_version {d.get('schema_version')!r}")
        k, names = d["rate_key"], list(d["metrics"])
        codecs = [
            CodecResult(c["name"], c["description"], c["setting_name"], list(c["settings"]), [
                Row(r["item"], r["setting"], r["bytes"], r[k], r[f"{k}_est"], {m: r[m] for m in names},
                    r["enc_s"], r["dec_s"], int(r.get("frames", 1))) for r in c["items"]])
            for c in d["codecs"]
        ]
        return cls(d["modality"], k, names, codecs, d.get("dataset", ""), d.get("command", ""),
                   d.get("machine", {}), d.get("config", {}))

    def write_json(self, path: Path) -> None:
        """Write strict JSON (non-finite numbers become ``null``)."""
        path.write_text(json.dumps(_finite(self.to_dict()), indent=1, allow_nan=False) + "\n")

    @classmethod
    def read_json(cls, path: Path) -> BenchResult:
        """Load a ``results.json`` written by :meth:`write_json`."""
        return cls.from_dict(json.loads(path.read_text()))

    def write_csv(self, path: Path) -> None:
        """One row per item x codec x setting."""
        k = self.rate_key
        cols = ["codec", "item", "setting", "bytes", k, f"{k}_est", *self.metrics, "enc_s", "dec_s"]
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for c in self.codecs:
                for r in c.rows:
                    vals = [c.name, r.item, r.setting, r.bytes, r.rate, r.rate_est,
                            *(r.metrics.get(m) for m in self.metrics), r.enc_s, r.dec_s]
                    w.writerow(["" if v is None else v for v in vals])


def _mean(values: list[float | None]) -> float | None:
    """Arithmetic mean; ``None`` when empty or when any value is undefined."""
    if not values or any(v is None for v in values):
        return None
    return float(sum(values)) / len(values)  # type: ignore[arg-type]


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def merge_results(results: list[BenchResult]) -> BenchResult:
    """Combine runs of the same modality (e.g. baselines and a learned codec benched separately) into one.

    Codec names must be unique across runs; the machine and config of each run stay recorded per codec
    name in ``config["runs"]``.

    Raises:
        ValueError: no runs, different modality / rate unit / metrics / modality options (a video's frame count),
            or a codec name in two runs.
    """
    if not results:
        raise ValueError("nothing to merge")
    first = results[0]
    names: set[str] = set()
    for r in results:
        if (r.modality, r.rate_key, r.metrics) != (first.modality, first.rate_key, first.metrics):
            raise ValueError(f"cannot merge {r.modality}/{r.rate_key}/{r.metrics} into "
                             f"{first.modality}/{first.rate_key}/{first.metrics}")
        if dup := names & {c.name for c in r.codecs}:
            raise ValueError(f"codec(s) {sorted(dup)} appear in more than one results file")
        names |= {c.name for c in r.codecs}
        if r.config.get("modality_options", {}) != first.config.get("modality_options", {}):
            raise ValueError(f"runs with different modality options ({r.config.get('modality_options', {})} vs "
                             f"{first.config.get('modality_options', {})}) do not compare")
    if len(results) == 1:
        return first
    options = first.config.get("modality_options")
    runs = [{"codecs": [c.name for c in r.codecs], "command": r.command, "machine": r.machine, "config": r.config}
            for r in results]
    return BenchResult(first.modality, first.rate_key, first.metrics, [c for r in results for c in r.codecs],
                       first.dataset, "\n".join(r.command for r in results), first.machine,
                       {"runs": runs, **({"modality_options": options} if options else {})})

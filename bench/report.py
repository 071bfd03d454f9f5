"""Bench outputs: ``results.json``, ``results.csv``, ``summary.md`` and the RD plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from vqcodec.bench.bdrate import bd_quality, bd_rate
from vqcodec.bench.modality import Metric, Modality
from vqcodec.bench.plots import plot_filename, plot_rd
from vqcodec.bench.reference_curves import load_references
from vqcodec.bench.results import AVERAGING, BenchResult, CodecResult


def curve(result: BenchResult, codec: CodecResult, metric: Metric) -> tuple[list[float], list[float]]:
    """The averaged (rate, quality) points of ``codec`` for ``metric`` (quality in dB where the metric has one)."""
    avg = codec.averaged(result.rate_key, result.metrics)
    pts = [(r, q if metric.to_db is None else metric.to_db(q))
           for r, q in zip(avg[result.rate_key], avg[metric.name]) if r is not None and q is not None]
    pts = [(r, q) for r, q in pts if math.isfinite(q)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _bd(fn, anchor: tuple[list[float], list[float]], test: tuple[list[float], list[float]]) -> float | None:  # type: ignore[no-untyped-def]
    try:
        return fn(anchor[0], anchor[1], test[0], test[1])
    except ValueError:
        return None


def _fmt(v: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:{spec}}{suffix}"


def quality_at(rates: Sequence[float], quality: Sequence[float], target: float) -> float | None:
    """Quality at ``target`` rate, linear in log-rate between the nearest measured points; ``None`` outside."""
    if len(rates) < 2 or not min(rates) <= target <= max(rates):
        return None
    order = np.argsort(rates)
    return float(np.interp(np.log(target), np.log(np.asarray(rates)[order]), np.asarray(quality)[order]))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _per_codec_tables(result: BenchResult) -> list[str]:
    k = result.rate_key
    lines: list[str] = []
    for c in result.codecs:
        avg = c.averaged(k, result.metrics)
        has_est = any(v is not None for v in avg[f"{k}_est"])
        head = [c.setting_name, k, *([f"{k}_est"] if has_est else []), *result.metrics, "enc ms", "dec ms"]
        rows = []
        for i, s in enumerate(c.settings):
            vals = [str(s), _fmt(avg[k][i], ".4f"), *([_fmt(avg[f"{k}_est"][i], ".4f")] if has_est else [])]
            vals += [_fmt(avg[m][i], ".4f" if m == "ms_ssim" else ".2f") for m in result.metrics]
            vals += [_fmt(1e3 * avg["enc_s"][i], ".1f"), _fmt(1e3 * avg["dec_s"][i], ".1f")]
            rows.append(vals)
        lines += [f"### {c.name}", "", c.description, "", *_table(head, rows), ""]
    return lines


def _at_rates_table(result: BenchResult, metrics: Sequence[Metric], targets: Sequence[float]) -> list[str]:
    head = ["codec"] + [f"{m.name}{' (dB)' if m.to_db else ''} @ {t} {result.rate_key}"
                        for m in metrics for t in targets]
    rows = []
    for c in result.codecs:
        vals = [c.name]
        for m in metrics:
            xs, ys = curve(result, c, m)
            vals += [_fmt(quality_at(xs, ys, t)) for t in targets]
        rows.append(vals)
    return _table(head, rows)


def _bd_vs_anchor(result: BenchResult, metrics: Sequence[Metric], anchor: str) -> list[str]:
    a = result.codec(anchor)
    head = ["codec"] + [f"BD-rate {m.name} (%)" for m in metrics] + [f"BD-{m.name} (dB)" for m in metrics]
    rows = []
    for c in result.codecs:
        pairs = [(curve(result, a, m), curve(result, c, m)) for m in metrics]
        rows.append([c.name] + [_fmt(_bd(bd_rate, pa, pc), "+.1f") for pa, pc in pairs]
                    + [_fmt(_bd(bd_quality, pa, pc), "+.2f") for pa, pc in pairs])
    return _table(head, rows)


def _bd_matrix(result: BenchResult, metric: Metric) -> list[str]:
    curves = {c.name: curve(result, c, metric) for c in result.codecs}
    head = ["test \\ anchor", *curves]
    rows = [[t] + [_fmt(_bd(bd_rate, curves[a], curves[t]), "+.1f") for a in curves] for t in curves]
    return _table(head, rows)


def _speed_table(result: BenchResult) -> list[str]:
    """Milliseconds per item; for video (items of several frames) also frames per second, ``sum(frames) /
    sum(seconds)`` over the codec's rows."""
    video = any(r.frames > 1 for c in result.codecs for r in c.rows)
    rows = []
    for c in result.codecs:
        enc = [r.enc_s for r in c.rows]
        dec = [r.dec_s for r in c.rows]
        row = [c.name, f"{1e3 * np.mean(enc):.1f}", f"{1e3 * min(enc):.1f}-{1e3 * max(enc):.1f}",
               f"{1e3 * np.mean(dec):.1f}", f"{1e3 * min(dec):.1f}-{1e3 * max(dec):.1f}"]
        if video:
            frames = sum(r.frames for r in c.rows)
            row += [f"{frames / sum(enc):.1f}", f"{frames / sum(dec):.1f}"]
        rows.append(row)
    head = ["codec", "encode ms (mean)", "encode ms (range)", "decode ms (mean)", "decode ms (range)"]
    return _table(head + (["encode fps", "decode fps"] if video else []), rows)


def _machine_lines(result: BenchResult) -> list[str]:
    m = result.machine
    keys = ["device", "gpu", "cpu", "cpu_count", "load_avg_1_5_15", "torch_threads", "workers", "platform",
            "python", "torch", "numpy", "pillow", "pytorch_msssim", "libs"]
    return [f"- {key}: {m[key]}" for key in keys if key in m] + [f"- config: {result.config}"]


def summary_markdown(result: BenchResult, modality: Modality, anchor: str | None, ref_source: str = "",
                     ref_names: Sequence[str] = (), plots: Sequence[str] = ()) -> str:
    """The human-readable report: averaged tables, quality at fixed rates, BD-rates, speed, machine, command."""
    metrics = list(modality.metrics)
    n_items = len({r.item for c in result.codecs for r in c.rows})
    lines = [f"# Bench: {result.modality}{', ' + result.dataset if result.dataset else ''}", "",
             f"{n_items} items, codecs: {', '.join(c.name for c in result.codecs)}.", "",
             "Command:", "", "```", result.command or "(library call)", "```", "",
             f"Averaging: {AVERAGING}.", "", modality.notes, "",
             ("BD metrics: Bjøntegaard deltas with PCHIP interpolation over the overlapping range, computed on "
              "the averaged curves (metrics with a dB form use it). Negative BD-rate = fewer bits than the "
              "anchor at equal quality."), ""]
    lines += [*(f"![{p}]({p})" for p in plots), ""]
    lines += ["## Quality at fixed rates (interpolated linearly in log-rate)", "",
              *_at_rates_table(result, metrics, modality.report_rates), ""]
    if anchor is not None:
        lines += [f"## BD vs anchor `{anchor}`", "", *_bd_vs_anchor(result, metrics, anchor), ""]
    for m in metrics:
        lines += [f"## BD-rate matrix, {m.name} (%; row = test, column = anchor)", "", *_bd_matrix(result, m), ""]
    lines += ["## Speed (median of repeats per item and setting)", "", *_speed_table(result), ""]
    lines += ["## Per-codec averages", "", *_per_codec_tables(result)]
    lines += ["## Machine", "", *_machine_lines(result), ""]
    if ref_names:
        lines += ["## Published reference curves (plotted dashed only, never in the tables)", "",
                  *(f"- {n}" for n in ref_names), "", f"Source: {ref_source}", ""]
    return "\n".join(lines)


def write_outputs(result: BenchResult, modality: Modality, out: Path, anchor: str | None = None,
                  references: str | None = None) -> list[Path]:
    """Write ``results.json``, ``results.csv``, one ``rd_<metric>.png`` per metric and ``summary.md`` into ``out``.

    Args:
        anchor: codec name for the BD-vs-anchor table (``None`` to skip it).
        references: dataset name whose published curves are plotted (``None`` for none).

    Returns:
        The paths written.
    """
    if anchor is not None and anchor not in {c.name for c in result.codecs}:
        raise ValueError(f"anchor {anchor!r} is not among the benched codecs")
    out.mkdir(parents=True, exist_ok=True)
    ref_source, refs = load_references(references) if references else ("", [])
    written = [out / "results.json", out / "results.csv"]
    result.write_json(written[0])
    result.write_csv(written[1])
    plots = []
    for m in modality.metrics:
        path = out / plot_filename(m.name)
        if plot_rd(result, m, path, refs, max_rate=modality.plot_max_rate, rate_label=modality.rate_label):
            plots.append(path.name)
            written.append(path)
    summary = summary_markdown(result, modality, anchor, ref_source, [f"{r.name}: {r.citation}" for r in refs], plots)
    (out / "summary.md").write_text(summary)
    return [*written, out / "summary.md"]

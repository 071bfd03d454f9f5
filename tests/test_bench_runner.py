"""The bench runner and reports: every output file, a valid JSON schema, consistent averages, merging."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from vqcodec.bench.modality import ImageModality
from vqcodec.bench.report import quality_at, write_outputs
from vqcodec.bench.results import BenchResult, merge_results
from vqcodec.bench.runner import BenchConfig, run_bench, timed

RESULT_KEYS = {"bpp", "bpp_est", "psnr", "ms_ssim", "enc_s", "dec_s"}
ROW_KEYS = {"item", "setting", "bytes", "bpp", "bpp_est", "psnr", "ms_ssim", "enc_s", "dec_s"}


@pytest.fixture(scope="module")
def crops_result() -> BenchResult:
    samples = Path(__file__).resolve().parents[1] / "codec" / "samples"
    items = [samples / "crop_a.png", samples / "crop_b.png"]
    cfg = BenchConfig(repeats=1, warmup=0)
    return run_bench(ImageModality(), items, ["jpeg:5/20/50/80", "webp:5/30/60/90"], cfg, progress=False,
                     dataset="samples", command="test")


def _check_schema(d: dict) -> None:
    assert d["schema_version"] == 1 and d["modality"] == "image" and d["rate_key"] == "bpp"
    assert d["metrics"] == ["psnr", "ms_ssim"] and d["machine"]["cpu"] and d["machine"]["torch"]
    for c in d["codecs"]:
        assert {"name", "description", "results", "settings", "items"} <= set(c)
        assert set(c["results"]) == RESULT_KEYS
        assert all(len(v) == len(c["settings"]) for v in c["results"].values())
        for row in c["items"]:
            assert set(row) == ROW_KEYS
            assert row["bpp"] > 0 and row["enc_s"] >= 0 and row["dec_s"] >= 0


def test_bench_writes_every_output(crops_result: BenchResult, tmp_path: Path) -> None:
    written = write_outputs(crops_result, ImageModality(), tmp_path, anchor="jpeg:5/20/50/80")
    names = {p.name for p in written}
    assert {"results.json", "results.csv", "summary.md", "rd_psnr.png"} <= names
    assert all((tmp_path / n).stat().st_size > 0 for n in names)
    _check_schema(json.loads((tmp_path / "results.json").read_text()))
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 2 * (4 + 4)
    summary = (tmp_path / "summary.md").read_text()
    assert "BD vs anchor" in summary and "```\ntest\n```" in summary and "webp" in summary


def test_rows_and_averages_are_consistent(crops_result: BenchResult) -> None:
    jpeg = crops_result.codecs[0]
    assert [r.item for r in jpeg.rows] == ["crop_a.png"] * 4 + ["crop_b.png"] * 4
    for r in jpeg.rows:
        assert r.rate == pytest.approx(8 * r.bytes / (128 * 128))
        assert r.metrics["ms_ssim"] is None  # 128 px is too small for 5-scale MS-SSIM
        assert 15 < r.metrics["psnr"] < 60  # type: ignore[operator]
    avg = jpeg.averaged("bpp", crops_result.metrics)
    first = [r for r in jpeg.rows if r.setting == 5]
    assert avg["bpp"][0] == pytest.approx(sum(r.rate for r in first) / 2)
    assert avg["bpp_est"] == [None] * 4 and avg["ms_ssim"] == [None] * 4
    assert avg["bpp"] == sorted(avg["bpp"]) and avg["psnr"] == sorted(avg["psnr"])


def test_json_round_trip(crops_result: BenchResult, tmp_path: Path) -> None:
    crops_result.write_json(tmp_path / "r.json")
    again = BenchResult.read_json(tmp_path / "r.json")
    assert again.to_dict() == json.loads((tmp_path / "r.json").read_text())
    assert [c.rows for c in again.codecs] == [c.rows for c in crops_result.codecs]


def test_merge_keeps_codecs_and_rejects_duplicates(crops_result: BenchResult) -> None:
    a = BenchResult.from_dict(crops_result.to_dict())
    b = BenchResult.from_dict(crops_result.to_dict())
    a.codecs, b.codecs = a.codecs[:1], b.codecs[1:]
    merged = merge_results([a, b])
    assert [c.name for c in merged.codecs] == [c.name for c in crops_result.codecs]
    with pytest.raises(ValueError, match="more than one"):
        merge_results([crops_result, crops_result])


def test_photo_gets_ms_ssim_and_plot(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[1] / "codec" / "samples"
    res = run_bench(ImageModality(), [samples / "photo.png"], ["jpeg:10/60", "jpeg2000:0.2/1.0"],
                    BenchConfig(repeats=1, warmup=0), progress=False, dataset="kodak")
    for c in res.codecs:
        ms = [r.metrics["ms_ssim"] for r in c.rows]
        assert all(v is not None and 0.5 < v <= 1.0 for v in ms) and ms[0] < ms[1]  # type: ignore[operator]
    written = {p.name for p in write_outputs(res, ImageModality(), tmp_path, anchor="jpeg:10/60",
                                             references="kodak")}
    assert {"rd_psnr.png", "rd_msssim.png"} <= written
    assert "Ballé 2018 hyperprior" in (tmp_path / "summary.md").read_text()


def test_workers_give_the_same_rows_as_in_process(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "codec" / "samples"
    items = [shutil.copy(src / n, tmp_path / n) for n in ("crop_a.png", "crop_b.png")]
    cfg = BenchConfig(repeats=1, warmup=0)
    one = run_bench(ImageModality(), [Path(p) for p in items], ["jpeg:10/50"], cfg, progress=False)
    two = run_bench(ImageModality(), [Path(p) for p in items], ["jpeg:10/50"],
                    BenchConfig(repeats=1, warmup=0, workers=2), progress=False)
    key = lambda r: (r.item, r.setting, r.bytes, r.metrics["psnr"])
    assert [key(r) for r in one.codecs[0].rows] == [key(r) for r in two.codecs[0].rows]


def test_timed_reports_median_and_last_result() -> None:
    calls: list[int] = []
    out, seconds = timed(lambda: calls.append(1) or len(calls), repeats=3, warmup=1, sync=lambda: None)
    assert out == 4 and len(calls) == 4 and seconds >= 0


def test_quality_at_interpolates_inside_range_only() -> None:
    assert quality_at([0.1, 1.0], [20.0, 30.0], 0.1 ** 0.5) == pytest.approx(25.0)
    assert quality_at([0.1, 1.0], [20.0, 30.0], 2.0) is None


def test_bad_config_raises() -> None:
    with pytest.raises(ValueError):
        BenchConfig(repeats=0)

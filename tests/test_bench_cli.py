"""``vqcodec bench``: a small run end to end, and one-line errors with a non-zero exit for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from vqcodec.cli.main import cli

SAMPLES = Path(__file__).resolve().parents[1] / "codec" / "samples"


@pytest.fixture
def crops(tmp_path: Path) -> Path:
    d = tmp_path / "crops"
    d.mkdir()
    for n in ("crop_a.png", "crop_b.png"):
        shutil.copy(SAMPLES / n, d / n)
    return d


def _run(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["bench", *args])


def _one_line_error(res, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert res.exit_code != 0
    err = res.output.strip()
    assert err.startswith("Error:") and len(err.splitlines()) == 1 and fragment in err, err


def test_bench_image_end_to_end(crops: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = _run(["image", "--data", str(crops), "--codecs", "jpeg:5/50,webp:5/50", "--out", str(out),
                "--repeats", "1", "--anchor", "webp:5/50"])
    assert res.exit_code == 0, res.output
    for name in ("results.json", "results.csv", "summary.md", "rd_psnr.png"):
        assert (out / name).is_file()
    d = json.loads((out / "results.json").read_text())
    assert [c["name"] for c in d["codecs"]] == ["jpeg:5/50", "webp:5/50"]
    assert "vqcodec bench image --data" in d["command"]
    _one_line_error(_run(["image", "--data", str(crops), "--codecs", "jpeg:5", "--out", str(out)]), "--force")
    res = _run(["report", str(out / "results.json"), "--out", str(tmp_path / "re")])
    assert res.exit_code == 0 and (tmp_path / "re" / "summary.md").is_file(), res.output


def test_missing_data_dir(tmp_path: Path) -> None:
    _one_line_error(_run(["image", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]), "does not exist")


def test_empty_data_dir(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _one_line_error(_run(["image", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]), "no images")


def test_unknown_codec(crops: Path, tmp_path: Path) -> None:
    res = _run(["image", "--data", str(crops), "--codecs", "jpeg,bpg", "--out", str(tmp_path / "o")])
    _one_line_error(res, "unknown codec(s) bpg")


def test_anchor_must_be_benched(crops: Path, tmp_path: Path) -> None:
    res = _run(["image", "--data", str(crops), "--codecs", "jpeg", "--anchor", "webp", "--out", str(tmp_path / "o")])
    _one_line_error(res, "anchor")


def test_unwritable_out_dir(crops: Path, tmp_path: Path) -> None:
    """A folder beneath a regular file cannot be made even by root (ENOTDIR): one line, no traceback."""
    (tmp_path / "file").write_text("x")
    _one_line_error(_run(["image", "--data", str(crops), "--out", str(tmp_path / "file" / "x")]), "not writable")


def test_out_is_a_file(crops: Path, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    _one_line_error(_run(["image", "--data", str(crops), "--codecs", "jpeg", "--out", str(f)]), "not writable")


def test_codecs_lists_baselines() -> None:
    res = _run(["codecs"])
    assert res.exit_code == 0
    assert all(n in res.output for n in ("jpeg", "jpeg444", "webp", "avif", "jpeg2000"))

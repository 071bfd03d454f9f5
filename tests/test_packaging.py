"""The wheel holds only ``vqcodec/...``; the console script answers ``--help`` and ``--version``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import vqcodec
from vqcodec.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


def test_cli_help_and_version() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0 and "vqcodec" in res.output
    res = runner.invoke(cli, ["--version"])
    assert res.exit_code == 0 and vqcodec.__version__ in res.output


def test_console_script_runs() -> None:
    exe = Path(sys.executable).parent / "vqcodec"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and vqcodec.__version__ in out.stdout


def test_wheel_contains_only_the_vqcodec_package(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if res.returncode != 0 and "No module named" in res.stderr:
        pytest.skip(f"cannot build a wheel here: {res.stderr.strip().splitlines()[-1]}")
    assert res.returncode == 0, res.stderr
    log = res.stdout + res.stderr
    assert "deprecated" not in log.lower() and "absent from the `packages`" not in log, log[-2000:]
    wheel = next(tmp_path.glob("vqcodec-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"vqcodec"}, top
    for sub in ("vqcodec/cli/main.py", "vqcodec/train/__init__.py", "vqcodec/bench/__init__.py",
                "vqcodec/quantizers/vq.py", "vqcodec/py.typed", "vqcodec/samples/photo.png",
                "vqcodec/bench/references/kodak.json", "vqcodec/samples/speech_a.flac",
                "vqcodec/weights/vq-image.safetensors", "vqcodec/weights/gauss-image.safetensors",
                "vqcodec/weights/vq-video.safetensors",
                "vqcodec/samples/clip.mp4"):
        assert sub in names, sub

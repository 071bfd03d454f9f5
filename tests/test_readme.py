"""The README's command-line block works as written (run in a temp folder with real sample images)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _cli_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README has no command-line block"
    return [ln.split("  #")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]


@pytest.mark.pretrained
def test_readme_command_line_block(tmp_path: Path, samples_dir: Path, tiny_codec_path: Path) -> None:
    from vqcodec.registry import BUILTIN, DEFAULT_MODELS

    for modality in ("image", "audio"):
        if modality not in DEFAULT_MODELS or not BUILTIN[DEFAULT_MODELS[modality]].path.is_file():
            pytest.skip(f"the default built-in {modality} model is not shipped in this checkout")
    shutil.copy(samples_dir / "photo.png", tmp_path / "img.png")
    shutil.copy(samples_dir / "crop_a.png", tmp_path / "a.png")
    Image.open(samples_dir / "crop_b.png").save(tmp_path / "b.jpg")
    Image.open(samples_dir / "crop_a.png").save(tmp_path / "c.webp")
    shutil.copy(tiny_codec_path, tmp_path / "my-model.safetensors")
    samples, rate = sf.read(samples_dir / "speech_a.flac")
    sf.write(tmp_path / "talk.wav", samples, rate)
    shutil.copy(samples_dir / "clip.mp4", tmp_path / "clip.mp4")
    (tmp_path / "out").mkdir()
    exe = str(Path(sys.executable).parent / "vqcodec")
    for line in _cli_block():
        cmd = line.replace("vqcodec ", f"{shlex.quote(exe)} ")
        if "--force" not in cmd and (" encode " in cmd or " decode " in cmd):
            cmd = cmd.replace(" -o ", " --force -o ", 1) if " -o " in cmd else cmd
        res = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"{line}\n{res.stderr[-1000:]}"
    assert (tmp_path / "out.png").is_file() and (tmp_path / "out" / "a.vq").is_file()


@pytest.mark.parametrize("name, run_dir, codec, rate, metrics, digits, dataset", [
    ("vq-image", "kodak-vq", "vq", "bpp", ("psnr", "ms_ssim"), (4, 2, 4), "kodak"),
    ("vq-speech", "speech-vq", "vq", "kbps", ("pesq", "stoi"), (3, 3, 3), "speech-test"),
    ("gauss-image", "kodak-gauss", "gauss", "bpp", ("psnr", "ms_ssim"), (4, 2, 4), "kodak"),
    ("vq-video", "video-vq", "vq:vq-video", "bpp", ("psnr_y", "ms_ssim"), (4, 2, 4), "video-bench"),
])
def test_model_zoo_rates_are_the_committed_bench_measurements(name: str, run_dir: str, codec: str, rate: str,
                                                              metrics: tuple[str, str], digits: tuple[int, ...],
                                                              dataset: str) -> None:
    """``vqcodec models`` shows the rates and qualities the committed bench run measured for the shipped weights
    of each built-in model, not numbers typed in."""
    import json

    from vqcodec.registry import BUILTIN

    if name not in BUILTIN:
        pytest.skip(f"this vqcodec has no built-in {name}")
    info = BUILTIN[name]
    run = json.loads((ROOT / "bench" / "results" / run_dir / "results.json").read_text())
    (vq,) = [c for c in run["codecs"] if c["name"] == codec]
    assert f"sha256 {info.sha256}" in vq["description"], f"the committed {run_dir} run is of other weights"
    res = vq["results"]
    columns = zip(vq["settings"], res[rate], res[metrics[0]], res[metrics[1]])
    measured = [(q, *(round(v, d) for v, d in zip(values, digits))) for q, *values in columns]
    listed = [(m.quality, m.rate, m.metrics[metrics[0]], m.metrics[metrics[1]]) for m in info.qualities]
    assert listed == measured and {(m.rate_unit, m.dataset) for m in info.qualities} == {(rate, dataset)}

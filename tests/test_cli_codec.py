"""`vqcodec encode/decode/info` as a user runs them: formats and modes, many files, pipes, every bad input."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from cli_helpers import one_error_line, run
from PIL import Image

from vqcodec.cli.main import cli


@pytest.mark.parametrize("mode,suffix", [("RGB", ".png"), ("L", ".png"), ("RGBA", ".png"), ("P", ".png"),
                                         ("I;16", ".png"), ("RGB", ".jpg"), ("RGB", ".webp"), ("RGB", ".tif"),
                                         ("RGB", ".bmp"), ("RGB", ".ppm")])
def test_round_trip_formats_and_modes(tiny_codec_path: Path, tmp_path: Path, mode: str, suffix: str) -> None:
    arr = np.random.default_rng(0).integers(0, 256, (13, 21, 3), dtype=np.uint8)
    if mode == "I;16":
        img = Image.frombytes("I;16", (21, 13), (arr[..., 0].astype("<u2") * 257).tobytes())
    else:
        img = Image.fromarray(arr).convert(mode)
    src = tmp_path / f"in{suffix}"
    img.save(src)
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "a.vq"), "-m", str(tiny_codec_path), "-q", "2")
    assert code == 0, err
    code, err, _ = run("decode", str(tmp_path / "a.vq"), "-o", str(tmp_path / "out.png"), "-m", str(tiny_codec_path))
    assert code == 0, err
    out = Image.open(tmp_path / "out.png")
    assert out.size == (21, 13) and out.mode == "RGB"


def test_many_files_and_pipes(tiny_codec_path: Path, tmp_path: Path, samples_dir: Path) -> None:
    outdir = tmp_path / "vq"
    outdir.mkdir()
    a, b = samples_dir / "crop_a.png", samples_dir / "crop_b.png"
    code, err, _ = run("encode", str(a), str(b), "-d", str(outdir), "-m", str(tiny_codec_path))
    assert code == 0, err
    assert sorted(p.name for p in outdir.iterdir()) == ["crop_a.vq", "crop_b.vq"]
    code, err, vq = run("encode", "-", "-o", "-", "-m", str(tiny_codec_path), "--quiet", input=a.read_bytes())
    assert code == 0 and vq[:3] == b"VQC"
    code, err, png = run("decode", "-", "-o", "-", "-m", str(tiny_codec_path), "--quiet", input=vq)
    assert code == 0 and png[:8] == b"\x89PNG\r\n\x1a\n"
    code, err, _ = run("encode", str(a), "-o", str(outdir / "crop_a.vq"), "-m", str(tiny_codec_path))
    assert code != 0 and "--force" in err
    code, err, _ = run("encode", str(a), "-o", str(outdir / "crop_a.vq"), "-m", str(tiny_codec_path), "--force")
    assert code == 0
    code, _, out = run("info", str(outdir / "crop_a.vq"), "--json")
    assert code == 0 and b'"modality": "image"' in out


def _bomb_png(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def _bad_inputs(tmp_path: Path, samples_dir: Path) -> dict[str, Path]:
    bad = {"text": tmp_path / "notes.png", "empty": tmp_path / "empty.png", "truncated": tmp_path / "trunc.png",
           "bomb": tmp_path / "bomb.png", "directory": tmp_path / "adir", "missing": tmp_path / "nope.png"}
    bad["text"].write_text("not an image at all")
    bad["empty"].write_bytes(b"")
    bad["truncated"].write_bytes((samples_dir / "crop_a.png").read_bytes()[:2000])
    _bomb_png(bad["bomb"], 30000, 30000)
    bad["directory"].mkdir()
    return bad


@pytest.mark.parametrize("case", ["text", "empty", "truncated", "bomb", "directory", "missing"])
def test_bad_images_give_one_line_errors(tiny_codec_path: Path, tmp_path: Path, samples_dir: Path, case: str) -> None:
    src = _bad_inputs(tmp_path, samples_dir)[case]
    out = tmp_path / "out.vq"
    out.write_bytes(b"previous content")
    code, err, _ = run("encode", str(src), "-o", str(out), "-m", str(tiny_codec_path), "--force")
    assert code != 0 and one_error_line(err), err
    assert out.read_bytes() == b"previous content", "an existing output must never be touched on failure"


def test_bad_vq_files(tiny_codec_path: Path, tmp_path: Path, samples_dir: Path) -> None:
    import dataclasses

    from vqcodec.bitstream import container

    vq = tmp_path / "a.vq"
    assert run("encode", str(samples_dir / "crop_a.png"), "-o", str(vq), "-m", str(tiny_codec_path))[0] == 0
    header, sections = container.read(vq.read_bytes())
    audio = tmp_path / "audio.vq"
    audio.write_bytes(container.write(dataclasses.replace(header, modality="audio"), sections))
    unknown = tmp_path / "unknown.vq"
    unknown.write_bytes(container.write(dataclasses.replace(header, model="no-such-model"), sections))
    for path, extra in ((audio, ["-m", str(tiny_codec_path)]), (unknown, []), (tmp_path / "missing.vq", []),
                        (samples_dir / "crop_a.png", ["-m", str(tiny_codec_path)])):
        code, err, _ = run("decode", str(path), "-o", str(tmp_path / "o.png"), *extra)
        assert code != 0 and one_error_line(err), (path, err)
    code, err, _ = run("decode", str(vq), "-o", str(tmp_path / "no" / "dir" / "o.png"), "-m", str(tiny_codec_path))
    assert code != 0 and one_error_line(err), err
    code, err, _ = run("info", str(samples_dir / "crop_a.png"))
    assert code != 0 and one_error_line(err), err


def test_decode_in_another_process_is_bit_exact(tiny_codec_path: Path, tmp_path: Path, samples_dir: Path) -> None:
    vq, here, there = tmp_path / "a.vq", tmp_path / "here.png", tmp_path / "there.png"
    assert run("encode", str(samples_dir / "photo.png"), "-o", str(vq), "-m", str(tiny_codec_path))[0] == 0
    assert run("decode", str(vq), "-o", str(here), "-m", str(tiny_codec_path))[0] == 0
    exe = [sys.executable, "-m", "vqcodec.cli.main", "decode", str(vq), "-o", str(there), "-m", str(tiny_codec_path)]
    res = subprocess.run(exe, capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1",
                         **{k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}})
    assert res.returncode == 0, res.stderr
    assert np.array_equal(np.asarray(Image.open(here)), np.asarray(Image.open(there)))


def test_crafted_headers_are_refused_before_any_allocation(tiny_codec_path: Path, tmp_path: Path,
                                                           samples_dir: Path) -> None:
    """A header within every field's range but describing a gigapixel image, or another codebook, is one line."""
    import dataclasses

    from vqcodec.bitstream import container

    vq = tmp_path / "a.vq"
    assert run("encode", str(samples_dir / "crop_a.png"), "-o", str(vq), "-m", str(tiny_codec_path))[0] == 0
    header, sections = container.read(vq.read_bytes())
    f = header.fields
    stride = (header.shape[1] + header.padding[0]) // f.latent_grid[0]
    side = 10240 // stride
    huge = dataclasses.replace(header, shape=(3, 10240, 10240), padding=(0, 0),
                               fields=dataclasses.replace(f, latent_grid=(side, side)))  # 105 MP
    for bad, match in ((huge, "MP limit"),
                       (dataclasses.replace(header, fields=dataclasses.replace(f, codebook_size=f.codebook_size * 4)),
                        "codebook size"),
                       (dataclasses.replace(header, precision=header.precision - 1), "tables"),
                       (dataclasses.replace(header, fields=dataclasses.replace(f, num_stages=f.num_stages + 8)),
                        "residual stages"),
                       (dataclasses.replace(header, shape=(1, *header.shape[1:])), "shape (3, height, width)")):
        path = tmp_path / "bad.vq"
        path.write_bytes(container.write(bad, sections))
        code, err, _ = run("decode", str(path), "-o", str(tmp_path / "o.png"), "-m", str(tiny_codec_path), "--force")
        assert code != 0 and one_error_line(err) and match in err, err
    path = tmp_path / "path-model.vq"
    path.write_bytes(container.write(dataclasses.replace(header, model=str(tiny_codec_path)), sections))
    code, err, _ = run("decode", str(path), "-o", str(tmp_path / "o.png"))
    assert code != 0 and one_error_line(err) and "not a built-in model" in err, "a header never names a file to open"
    code, err, out = run("info", "-", input=vq.read_bytes())
    assert code == 0 and b"latent_grid" in out, err
    code, err, _ = run("info", str(tmp_path))
    assert code != 0 and one_error_line(err) and "directory" in err, err


def test_batches_outputs_and_quality_rules(tiny_codec_path: Path, tmp_path: Path, samples_dir: Path) -> None:
    """``-d`` creates its folder; a bad file in a batch does not stop the others; outputs must be regular files
    (a symlink is written through); quality 0 names the valid range."""
    a, b = samples_dir / "crop_a.png", samples_dir / "crop_b.png"
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    out = tmp_path / "new" / "folder"
    code, err, _ = run("encode", str(a), str(junk), str(b), "-d", str(out), "-m", str(tiny_codec_path))
    assert code != 0 and "junk.png" in err and err.strip().splitlines()[-1] == "Error: 1 of 3 files failed", err
    assert sorted(p.name for p in out.iterdir()) == ["crop_a.vq", "crop_b.vq"]
    code, err, _ = run("encode", "-", "-d", str(out), "-m", str(tiny_codec_path), input=a.read_bytes())
    assert code != 0 and one_error_line(err) and "stdin" in err, err
    code, err, _ = run("encode", str(a), "-o", str(tmp_path), "--force", "-m", str(tiny_codec_path))
    assert code != 0 and one_error_line(err) and "not a regular file" in err, err
    target, link = tmp_path / "target.vq", tmp_path / "link.vq"
    target.write_bytes(b"old")
    link.symlink_to(target)
    assert run("encode", str(a), "-o", str(link), "--force", "-m", str(tiny_codec_path))[0] == 0
    assert link.is_symlink() and target.read_bytes()[:3] == b"VQC"
    for q in ("0", "-1"):
        code, err, _ = run("encode", str(a), "-o", str(tmp_path / "q.vq"), "-q", q, "-m", str(tiny_codec_path))
        assert code != 0 and one_error_line(err) and "quality must be in 1.." in err, err


def test_default_quality_follows_the_weights_not_the_file_name(tmp_path: Path) -> None:
    import shutil

    from vqcodec.registry import BUILTIN, default_quality, load_model

    info = BUILTIN["vq-image"]
    copy = tmp_path / "my-model.safetensors"
    shutil.copyfile(info.path, copy)
    assert default_quality(load_model(copy)) == default_quality(load_model("vq-image")) == info.default_quality


def test_debug_variable_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    code, err, _ = run("encode", str(junk), "-o", str(tmp_path / "a.vq"))
    assert code == 1 and one_error_line(err)
    monkeypatch.setenv("VQCODEC_DEBUG", "1")
    res = CliRunner().invoke(cli, ["encode", str(junk), "-o", str(tmp_path / "a.vq")])
    assert res.exit_code != 0 and isinstance(res.exception, ValueError)


def test_decode_default_output_never_names_the_source(tiny_codec_path: Path, tmp_path: Path,
                                                      samples_dir: Path) -> None:
    """``decode img.vq`` writes img.decoded.png, so even ``--force`` cannot replace the original img.png."""
    src = tmp_path / "img.png"
    src.write_bytes((samples_dir / "crop_a.png").read_bytes())
    original = src.read_bytes()
    assert run("encode", str(src), "-m", str(tiny_codec_path))[0] == 0
    assert (tmp_path / "img.vq").is_file()
    code, err, _ = run("decode", str(tmp_path / "img.vq"), "-m", str(tiny_codec_path), "--force")
    assert code == 0, err
    assert src.read_bytes() == original and (tmp_path / "img.decoded.png").is_file()


def test_decode_refuses_an_output_that_does_not_fit_the_modality(tiny_codec_path: Path, tmp_path: Path,
                                                                 samples_dir: Path) -> None:
    vq = tmp_path / "a.vq"
    assert run("encode", str(samples_dir / "crop_a.png"), "-o", str(vq), "-m", str(tiny_codec_path))[0] == 0
    for bad in ("out.wav", "out.mkv", "out.txt"):
        code, err, _ = run("decode", str(vq), "-o", str(tmp_path / bad), "-m", str(tiny_codec_path))
        assert code != 0 and one_error_line(err) and "holds an image" in err, err
        assert not (tmp_path / bad).exists()


def test_demo_with_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, err, _ = run("demo", "--out", str(tmp_path / "file" / "out"))
    assert code != 0 and one_error_line(err) and "Errno" not in err and "cannot write" in err, err


def test_bench_with_a_model_of_another_kind_is_one_line(tmp_path: Path, samples_dir: Path) -> None:
    from vqcodec import GaussianVAE, GaussianVAEConfig, NetConfig
    from vqcodec.weights_io import save_weights

    cfg = GaussianVAEConfig(net=NetConfig(hidden=4, max_hidden=4, strides=(2,), num_res_blocks=0), latent_dim=2)
    vae = tmp_path / "vae.safetensors"
    save_weights(vae, "vae", {"model": cfg.to_dict()}, {"model": GaussianVAE(cfg).state_dict()})
    data = tmp_path / "imgs"
    data.mkdir()
    (data / "a.png").write_bytes((samples_dir / "crop_a.png").read_bytes())
    code, err, _ = run("bench", "image", "--data", str(data), "--codecs", f"vq:{vae}", "--out", str(tmp_path / "o"))
    assert code != 0 and one_error_line(err) and "vae model, not a vq codec" in err, err

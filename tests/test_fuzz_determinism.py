"""Robustness and bit-exactness: fuzzed streams end in typed errors; decoding is identical across processes,
thread counts and tile batch layouts; a committed golden .vq keeps decoding identically."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from prior_helpers import one_thread, tiny_config, tiny_prior  # noqa: F401 (fixture)
from vqcodec.bitstream import Header, VQCodecError, VQFields, read
from vqcodec.config import PriorConfig
from vqcodec.entropy import compress_indices, decompress_indices
from vqcodec.priors import GatedPixelCNN, build_prior

GOLDEN = Path(__file__).parent / "golden"
TEMPLATE = Header("tiny-test", "00c0ffee", "image", "vq", (3, 40, 48), (0, 0), 0, VQFields((5, 6), (4, 4), 2, 16))

_PRIOR = tiny_prior(2, stages=2)
_INDICES = torch.randint(0, 16, (1, 5, 6, 2), generator=torch.Generator().manual_seed(7))
_STREAM = compress_indices(_INDICES, _PRIOR, TEMPLATE)
_FUZZ = settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _decode_or_typed_error(data: bytes) -> None:
    try:
        _, out = decompress_indices(data, _PRIOR, max_indices=4 * _INDICES.numel())
    except VQCodecError:
        return
    assert torch.equal(out, _INDICES), "corrupt input decoded to different indices without an error"


def _recrc(data: bytes) -> bytes:
    body = data[:-4]
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


@_FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4), st.booleans())
def test_fuzz_byte_flips(flips: list[tuple[int, int]], fix_crc: bool) -> None:
    data = bytearray(_STREAM)
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    _decode_or_typed_error(_recrc(bytes(data)) if fix_crc else bytes(data))


@_FUZZ
@given(st.integers(0, 10**6), st.binary(max_size=64), st.booleans())
def test_fuzz_truncation_and_extension(cut: int, tail: bytes, fix_crc: bool) -> None:
    data = _STREAM[: cut % len(_STREAM)] + tail
    _decode_or_typed_error(_recrc(data) if fix_crc and len(data) >= 4 else data)


@_FUZZ
@given(st.binary(max_size=256), st.booleans())
def test_fuzz_garbage(garbage: bytes, with_magic: bool) -> None:
    data = (b"VQC\x02" + garbage) if with_magic else garbage
    _decode_or_typed_error(_recrc(data + b"\0\0\0\0") if with_magic else data)


def _save_prior(prior: torch.nn.Module, config: PriorConfig, folder: Path) -> None:
    save_file({k: v.contiguous() for k, v in prior.state_dict().items()}, str(folder / "prior.safetensors"))
    (folder / "prior.json").write_text(json.dumps(config.to_dict()))


def _load_prior(folder: Path) -> torch.nn.Module:
    prior = build_prior(PriorConfig.from_dict(json.loads((folder / "prior.json").read_text())))
    prior.load_state_dict(load_file(str(folder / "prior.safetensors")))
    return prior.eval()


_SUBPROCESS_DECODE = """
import sys, json, torch, numpy as np
from pathlib import Path
from safetensors.torch import load_file
from vqcodec.config import PriorConfig
from vqcodec.priors import build_prior
from vqcodec.entropy import decompress_indices
torch.set_num_threads(2)
folder = Path(sys.argv[1])
prior = build_prior(PriorConfig.from_dict(json.loads((folder / "prior.json").read_text())))
prior.load_state_dict(load_file(str(folder / "prior.safetensors")))
_, idx = decompress_indices((folder / "x.vq").read_bytes(), prior.eval(), chunk=int(sys.argv[2]))
(folder / "out.bin").write_bytes(idx.numpy().astype("<i8").tobytes())
"""


def test_bit_exact_across_processes_threads_and_tile_batches(tmp_path: Path) -> None:
    config = tiny_config(2, stages=2, k=64, tile_shape=(4, 4))
    torch.manual_seed(1)
    prior = GatedPixelCNN(config).eval()
    with torch.no_grad():  # larger weights: sharper, more varied distributions
        for p in prior.parameters():
            p.mul_(3.0)
    idx = torch.randint(0, 64, (2, 11, 13, 2))
    data = compress_indices(idx, prior, dataclasses.replace(TEMPLATE, fields=VQFields((11, 13), (4, 4), 2, 64)))
    _save_prior(prior, config, tmp_path)
    (tmp_path / "x.vq").write_bytes(data)
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    res = subprocess.run([sys.executable, "-c", _SUBPROCESS_DECODE, str(tmp_path), "5"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype="<i8").reshape(idx.shape)
    assert np.array_equal(out, idx.numpy())


def test_golden_files_decode_identically() -> None:
    """``tiny.vq`` (format version 1) and ``tiny-v2.vq`` keep decoding to the same indices, the encoder still makes
    version 1's payload bit for bit, and it reproduces the version-2 file exactly (``VQCODEC_REGEN=1`` rewrites
    the version-2 file; version 1 is never rewritten)."""
    expected = (torch.arange(6 * 7 * 2).reshape(1, 6, 7, 2) * 5 + 3) % 16
    prior = _load_prior(GOLDEN)
    header = dataclasses.replace(TEMPLATE, quality=1, fields=VQFields((6, 7), (4, 4), 2, 16))
    if os.environ.get("VQCODEC_REGEN") == "1":
        (GOLDEN / "tiny-v2.vq").write_bytes(compress_indices(expected, prior, header))
    old = (GOLDEN / "tiny.vq").read_bytes()
    old_header, out = decompress_indices(old, prior, model="tiny-test", weights_sha256="00c0ffee")
    assert old[3] == 1 and torch.equal(out, expected) and old_header.quality == 1
    new = (GOLDEN / "tiny-v2.vq").read_bytes()
    new_header, out = decompress_indices(new, prior, model="tiny-test", weights_sha256="00c0ffee")
    assert new[3] == 2 and torch.equal(out, expected) and new_header.fields == old_header.fields
    again = compress_indices(expected, prior, header)
    assert read(again)[1] == read(old)[1], "the encoder no longer reproduces the version-1 payload"
    assert again == new, "the encoder no longer reproduces the golden bytes"

"""The shipped vq-image codes all 24 Kodak images at all 8 qualities into the same payload bytes as vqcodec 0.1.0
did before the codec contract (hashes taken then, with format version 1 files; the container around them is now
version 2)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import vqcodec
from vqcodec.bitstream import container
from vqcodec.media import Image, load_image
from vqcodec.registry import BUILTIN

GOLDEN = Path(__file__).parent / "golden" / "kodak-vq-image-payloads.json"


@pytest.mark.data
@pytest.mark.pretrained
def test_kodak_payloads_are_byte_identical(shared_data: Path) -> None:
    expected = json.loads(GOLDEN.read_text())
    assert BUILTIN["vq-image"].sha256 == expected["weights_sha256"]
    kodak = shared_data / "kodak"
    if not kodak.is_dir():
        pytest.skip(f"{kodak} is absent")
    got = {}
    for path in sorted(kodak.glob("kodim*.png")):
        image = Image(load_image(path).pixels)
        for q in range(1, 9):
            data = vqcodec.compress(image, "vq-image", q)
            got[f"{path.stem}/{q}"] = hashlib.sha256(container.read(data)[1][0]).hexdigest()[:16]
    assert len(got) == 24 * 8
    assert {k: v for k, v in got.items() if v != expected["payloads"][k]} == {}

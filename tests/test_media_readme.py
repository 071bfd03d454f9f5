"""The snippet in codec/media/README.md runs as written; odd-sized, gray, 1x1 and RGBA inputs go through."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig

README = Path(__file__).resolve().parents[1] / "codec" / "media" / "README.md"


@pytest.mark.parametrize("mode,size", [("RGB", (37, 23)), ("L", (1, 1)), ("RGBA", (5, 9))])
def test_readme_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                        size: tuple[int, int]) -> None:
    snippet = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)  # type: ignore[union-attr]
    # JPEG cannot hold alpha: the RGBA case is a PNG named photo.jpg (the content decides the format)
    Image.new(mode, size, 90).save(tmp_path / "photo.jpg", format="PNG" if mode == "RGBA" else "JPEG")
    net = NetConfig(dims=2, in_channels=3, hidden=8, max_hidden=8, strides=(2, 2), num_res_blocks=1)
    model = VQVAE(VQVAEConfig(net=net, vq=VQConfig(codebook_size=8, codebook_dim=4)))
    monkeypatch.chdir(tmp_path)
    with torch.no_grad():
        exec(snippet, {"model": model})  # noqa: S102 - our own README
    out = Image.open(tmp_path / "out.png")
    assert out.mode == "RGB" and out.size == size

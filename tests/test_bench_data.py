"""The bench on real Kodak images (skips when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from vqcodec.bench.modality import ImageModality
from vqcodec.bench.runner import BenchConfig, run_bench


@pytest.mark.data
def test_kodak_image_rates_and_quality(shared_data: Path) -> None:
    kodak = shared_data / "kodak"
    if not kodak.is_dir():
        pytest.skip(f"{kodak} is absent")
    items = ImageModality().list_items(kodak, limit=1)
    assert [p.name for p in items] == ["kodim01.png"]
    res = run_bench(ImageModality(), items, ["jpeg:50", "jpeg2000:0.5"], BenchConfig(repeats=1, warmup=0),
                    progress=False)
    jpeg, j2k = (c.rows[0] for c in res.codecs)
    assert jpeg.rate == pytest.approx(8 * jpeg.bytes / (768 * 512))
    assert 0.4 < j2k.rate <= 0.51
    for row in (jpeg, j2k):
        assert 22 < row.metrics["psnr"] < 40  # type: ignore[operator]
        assert 0.8 < row.metrics["ms_ssim"] < 1.0  # type: ignore[operator]

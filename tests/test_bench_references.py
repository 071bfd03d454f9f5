"""Published reference curves ship as package data, with citations and consistent arrays."""

from __future__ import annotations

from vqcodec.bench.bdrate import bd_rate
from vqcodec.bench.reference_curves import available_reference_sets, load_references


def test_kodak_references_are_complete() -> None:
    assert "kodak" in available_reference_sets()
    source, curves = load_references("kodak")
    assert "CompressAI" in source
    names = [c.name for c in curves]
    for expected in ("Ballé 2017", "Ballé 2018", "Minnen 2018", "Cheng 2020", "VTM"):
        assert any(n.startswith(expected) for n in names), names
    for c in curves:
        assert c.citation and c.source_file.startswith("results/image/kodak/")
        n = len(c.results["bpp"])
        assert n >= 6 and all(len(v) == n for v in c.results.values())
        assert c.results["bpp"] == sorted(c.results["bpp"]) and c.results["psnr"] == sorted(c.results["psnr"])


def test_references_are_ordered_as_published() -> None:
    """Sanity of the data: the hyperprior beats the factorized prior, VTM beats the hyperprior (PSNR BD-rate)."""
    curves = load_references("kodak")[1]
    fact, hyper, vtm = (next(c.results for c in curves if c.name.startswith(p))
                        for p in ("Ballé 2017", "Ballé 2018", "VTM"))
    assert bd_rate(fact["bpp"], fact["psnr"], hyper["bpp"], hyper["psnr"]) < -10
    assert bd_rate(hyper["bpp"], hyper["psnr"], vtm["bpp"], vtm["psnr"]) < 0


def test_unknown_dataset_has_no_references() -> None:
    assert load_references("no-such-set") == ("", [])

"""vqcodec.bench: rate-distortion and speed of codecs on folders of items, BD-rates, reports and plots.

>>> from vqcodec.bench import BenchConfig, ImageModality, run_bench
>>> result = run_bench(ImageModality(), items, ["jpeg", "webp"], BenchConfig())   # doctest: +SKIP

Reports and plots (matplotlib) live in :mod:`vqcodec.bench.report` (``write_outputs``).
"""

from vqcodec.bench.bdrate import bd_quality, bd_rate
from vqcodec.bench.codecs import CODECS, Codec, available_codecs, make_codec, register_codec
from vqcodec.bench.modality import MODALITIES, ImageModality, Metric, Modality
from vqcodec.bench.results import BenchResult, CodecResult, Row, merge_results
from vqcodec.bench.runner import BenchConfig, run_bench

__all__ = [
    "CODECS",
    "MODALITIES",
    "BenchConfig",
    "BenchResult",
    "Codec",
    "CodecResult",
    "ImageModality",
    "Metric",
    "Modality",
    "Row",
    "available_codecs",
    "bd_quality",
    "bd_rate",
    "make_codec",
    "merge_results",
    "register_codec",
    "run_bench",
]

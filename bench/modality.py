"""What the bench runner needs to know about a kind of media: its items, rate unit and distortion metrics.

Images are implemented here; speech (kbps; PESQ, STOI, SI-SDR; ``speech.py``) and video (bpp per frame; PSNR-Y,
PSNR-RGB, MS-SSIM; ``video.py``) plug in as further :class:`Modality` subclasses without touching the runner, the
results schema or the reports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image
from vqcodec.metrics import MS_SSIM_MIN_SIDE, ms_ssim_db, ms_ssim_uint8, psnr_uint8


@dataclass(frozen=True)
class Metric:
    """A full-reference distortion metric.

    Attributes:
        name: key in the results (``psnr``, ``ms_ssim``).
        fn: ``fn(reference, reconstruction) -> value``, or ``None`` where the metric is undefined for the item.
        label: axis label for plots.
        to_db: optional map to a dB-like scale used for plots and BD-rate (e.g. MS-SSIM -> -10 log10(1 - v)).
    """

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float | None]
    label: str
    to_db: Callable[[float], float] | None = None


class Modality(ABC):
    """A media type: how to list and load items, how to turn bits into a rate, which metrics to compute."""

    name: ClassVar[str]
    rate_key: ClassVar[str]  # "bpp" for images, "kbps" for speech
    rate_label: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    report_rates: ClassVar[tuple[float, ...]] = ()  # rates at which the summary interpolates each metric
    plot_max_rate: ClassVar[float | None] = None  # right end of the RD plots' rate axis
    notes: ClassVar[str] = ""  # how rate and metrics are measured, for the summary

    @property
    @abstractmethod
    def metrics(self) -> tuple[Metric, ...]:
        """The distortion metrics computed on every decoded item."""

    @abstractmethod
    def load(self, path: Path) -> np.ndarray:
        """Load one item as the array the codecs take."""

    @abstractmethod
    def rate(self, bits: float, item: np.ndarray) -> float:
        """Rate in ``rate_key`` units for ``bits`` spent on ``item``."""

    def options(self) -> dict[str, int]:
        """The constructor arguments of this instance (stored in the results, so a report rebuilds it)."""
        return {}

    def frames_of(self, item: np.ndarray) -> int:
        """Frames in ``item`` (video speed is reported in frames per second); 1 by default."""
        return 1

    def scored(self, item: np.ndarray, rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``(reference, decoded)`` pair every metric scores (speech removes the codec's delay first); by
        default the two as they are. Computed once per decoded item."""
        return item, rec

    def fit(self, rec: np.ndarray, item: np.ndarray) -> np.ndarray:
        """A decoded item brought to the reference's shape where the modality allows (audio codecs pad or drop a
        few samples); by default unchanged."""
        return rec

    def list_items(self, folder: Path, limit: int | None = None) -> list[Path]:
        """Files of this modality in ``folder`` (not recursive), sorted by name, at most ``limit``."""
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in self.extensions)
        return files if limit is None else files[:limit]


def _ms_ssim_or_none(ref: np.ndarray, rec: np.ndarray) -> float | None:
    """MS-SSIM, or ``None`` for images too small for its 5 scales (shorter side <= 160 px)."""
    if min(ref.shape[:2]) <= MS_SSIM_MIN_SIDE:
        return None
    return ms_ssim_uint8(ref, rec)


class ImageModality(Modality):
    """8-bit RGB images; rate in bits per pixel; PSNR and MS-SSIM on 8-bit RGB."""

    name = "image"
    rate_key = "bpp"
    rate_label = "bits per pixel (bpp)"
    notes = (
        "Rate is bits per pixel from the real file bytes (container headers included). PSNR is on 8-bit RGB "
        "(MSE over all three channels). MS-SSIM (pytorch-msssim, 5 scales, 11x11 window) is on 8-bit RGB as "
        "floats with data_range=255, undefined (null) for images with a side <= 160 px; in dB it is "
        "-10 log10(1 - MS-SSIM)."
    )
    report_rates = (0.25, 0.5, 1.0)
    plot_max_rate = 2.0
    extensions = (".png", ".ppm", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".webp")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (
            Metric("psnr", psnr_uint8, "PSNR RGB (dB)"),
            Metric("ms_ssim", _ms_ssim_or_none, "MS-SSIM RGB (dB, -10 log10(1 - MS-SSIM))", ms_ssim_db),
        )

    def load(self, path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    def rate(self, bits: float, item: np.ndarray) -> float:
        return bits / float(item.shape[0] * item.shape[1])


def _speech() -> type[Modality]:
    from vqcodec.bench.speech import SpeechModality

    return SpeechModality


def _video() -> type[Modality]:
    from vqcodec.bench.video import VideoModality

    return VideoModality


MODALITIES: dict[str, type[Modality]] = {"image": ImageModality, "speech": _speech(), "video": _video()}

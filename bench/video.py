"""The video modality of the bench: clips as ``(T, H, W, 3)`` uint8 RGB, rate in bits per pixel per frame.

Items are video files PyAV reads (mp4, mkv, webm, avi, bare .h264/.hevc, y4m), raw yuv420p files whose name
carries the size (``cars_320x240_25fps_30f.yuv``) and folders of PNG frames; the first ``frames`` frames of
each are benched. PSNR-Y uses the BT.601 luma of the RGB frames (``0.299 R + 0.587 G + 0.114 B``, full range,
peak 255); PSNR-RGB the MSE over all three channels; both and MS-SSIM are per-frame values averaged over the clip.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from vqcodec.bench.modality import Metric, Modality
from vqcodec.metrics import MS_SSIM_MIN_SIDE, ms_ssim_db, ms_ssim_uint8, psnr_uint8

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".h264", ".264", ".hevc", ".265", ".y4m", ".yuv")
_SIZE_IN_NAME = re.compile(r"(?<![0-9])(\d{2,5})x(\d{2,5})(?![0-9])")
_LUMA = np.array([0.299, 0.587, 0.114])
MAX_PSNR = 100.0
"""PSNR of an exact frame (instead of infinity, so that means stay finite)."""


def luma(frames: np.ndarray) -> np.ndarray:
    """BT.601 luma ``(..., H, W)`` float64 of RGB ``(..., H, W, 3)`` uint8 (full range, 0..255)."""
    return frames.astype(np.float64) @ _LUMA


def _frame_psnr(mse: float) -> float:
    return MAX_PSNR if mse == 0 else min(MAX_PSNR, 10.0 * math.log10(255.0**2 / mse))


def psnr_y(ref: np.ndarray, rec: np.ndarray) -> float:
    """Mean over frames of the PSNR of the BT.601 luma, ``(T, H, W, 3)`` uint8 clips."""
    err = (luma(ref) - luma(rec)) ** 2
    return float(np.mean([_frame_psnr(float(e.mean())) for e in err]))


def psnr_rgb(ref: np.ndarray, rec: np.ndarray) -> float:
    """Mean over frames of the RGB PSNR (MSE over the three channels)."""
    return float(np.mean([min(MAX_PSNR, psnr_uint8(a, b)) for a, b in zip(ref, rec)]))


def ms_ssim_frames(ref: np.ndarray, rec: np.ndarray) -> float | None:
    """Mean over frames of the RGB MS-SSIM; ``None`` when a side is too short for its 5 scales (<= 160 px)."""
    if min(ref.shape[1:3]) <= MS_SSIM_MIN_SIDE:
        return None
    return float(np.mean([ms_ssim_uint8(a, b) for a, b in zip(ref, rec)]))


def size_from_name(path: Path) -> tuple[int, int] | None:
    """``(W, H)`` written in a file name as ``WxH`` (``cars_320x240.yuv``), or ``None``."""
    m = _SIZE_IN_NAME.search(path.name)
    return (int(m.group(1)), int(m.group(2))) if m else None


class VideoModality(Modality):
    """RGB clips; rate in bits per pixel per frame; PSNR-Y, PSNR-RGB and MS-SSIM averaged over frames."""

    name = "video"
    rate_key = "bpp"
    rate_label = "bits per pixel per frame (bpp)"
    extensions = VIDEO_SUFFIXES
    report_rates = (0.05, 0.1, 0.2)
    plot_max_rate = 1.0

    def __init__(self, frames: int = 30) -> None:
        if frames < 1:
            raise ValueError(f"frames must be positive, got {frames}")
        self.frames = frames

    @property
    def notes(self) -> str:  # type: ignore[override]
        return (f"Each item is the first {self.frames} frames of a clip (fewer if it is shorter), as 8-bit RGB. "
                "Rate is bits per pixel per frame from the real file bytes (whole raw streams: H.264/HEVC Annex-B, "
                "AV1 in IVF, MJPEG; for vq-image per frame, every frame's .vq file); kbps = bpp x W x H x fps. "
                "Classical codecs get yuv420p (MJPEG yuvj420p) converted from RGB by FFmpeg (BT.601) and are "
                "scored after conversion back to RGB. PSNR-Y is on the BT.601 luma of the RGB frames (0.299 R + "
                "0.587 G + 0.114 B, peak 255), PSNR-RGB on all three channels, MS-SSIM on RGB; all are per-frame "
                f"values averaged over the clip (an exact frame counts {MAX_PSNR:g} dB). Speed: frames per second = "
                "frames / seconds.")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (
            Metric("psnr_y", psnr_y, "PSNR-Y BT.601 (dB)"),
            Metric("psnr", psnr_rgb, "PSNR RGB (dB)"),
            Metric("ms_ssim", ms_ssim_frames, "MS-SSIM RGB (dB, -10 log10(1 - MS-SSIM))", ms_ssim_db),
        )

    def list_items(self, folder: Path, limit: int | None = None) -> list[Path]:
        """Video files and folders of PNG frames directly in ``folder``, sorted by name (raw .yuv files only when
        their name gives the size)."""
        items = []
        for p in sorted(folder.iterdir()):
            if p.is_dir() and any(q.suffix.lower() == ".png" for q in p.iterdir()):
                items.append(p)
            elif p.is_file() and p.suffix.lower() in self.extensions:
                if p.suffix.lower() != ".yuv" or size_from_name(p) is not None:
                    items.append(p)
        return items if limit is None else items[:limit]

    def load(self, path: Path) -> np.ndarray:
        from vqcodec.media.video import load_video

        size = size_from_name(path) if path.suffix.lower() == ".yuv" else None
        video = load_video(path, self.frames, size=size)
        return np.ascontiguousarray(video.frames.permute(1, 2, 3, 0).numpy())

    def options(self) -> dict[str, int]:
        return {"frames": self.frames}

    def frames_of(self, item: np.ndarray) -> int:
        return int(item.shape[0])

    def rate(self, bits: float, item: np.ndarray) -> float:
        return bits / float(item.shape[0] * item.shape[1] * item.shape[2])

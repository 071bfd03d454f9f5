"""What the bench ran on: device, threads, CPU/GPU model, library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
from PIL import features


def cpu_model() -> str:
    """CPU model name from ``/proc/cpuinfo`` (falls back to ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(device: str, threads: int, workers: int) -> dict[str, Any]:
    """A JSON-able description of the machine and software the bench ran with."""
    info: dict[str, Any] = {
        "device": device,
        "torch_threads": threads,
        "workers": workers,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "libs": {f: features.version(f) for f in ("libjpeg_turbo", "webp", "avif", "jpg_2000")},
    }
    try:
        info["pytorch_msssim"] = metadata.version("pytorch-msssim")
    except metadata.PackageNotFoundError:
        info["pytorch_msssim"] = None
    return info

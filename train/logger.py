"""Metrics log: a long-format CSV (``step,split,name,value``), optionally mirrored to TensorBoard."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append metrics rows to ``out/metrics.csv`` (created with a header when new)."""

    def __init__(self, out_dir: Path, tensorboard: bool = False) -> None:
        self.path = out_dir / "metrics.csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text("step,split,name,value\n")
        self._tb: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ValueError("--tensorboard needs the 'tensorboard' package (pip install tensorboard)") from None
            self._tb = SummaryWriter(str(out_dir / "tb"))

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        with self.path.open("a", newline="") as f:
            w = csv.writer(f)
            for name, value in metrics.items():
                w.writerow([step, split, name, f"{float(value):.6g}"])
        if self._tb is not None:
            for name, value in metrics.items():
                self._tb.add_scalar(f"{split}/{name}", float(value), step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()

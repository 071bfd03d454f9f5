"""Training checkpoints: ``{format_version, config, state, step, ...}`` written atomically, read with weights_only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "last.pt"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or belongs to another model/config."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (plus the format version) atomically: temp file in the same folder, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        torch.save({"format_version": CHECKPOINT_VERSION, **payload}, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint (no arbitrary pickle: ``weights_only=True``) and check its version."""
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/IO failure is one line
        raise CheckpointError(f"unreadable checkpoint {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format_version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{p} is not a vqcodec training checkpoint (version {CHECKPOINT_VERSION})")
    return data

"""The weights-file format: safetensors tensors + JSON metadata, hash-checked, never pickle.

Metadata keys (all strings): ``format`` = ``vqcodec-weights``, ``format_version``, ``kind`` (``vqvae``,
``gaussian`` or ``vqcodec`` = VQ-VAE + prior), ``config`` (JSON of the model config(s)), ``training``
(JSON training summary). Tensor names are prefixed by the component (``model.``, ``prior.``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

WEIGHTS_FORMAT = "vqcodec-weights"
WEIGHTS_VERSION = 1


class WeightsError(ValueError):
    """A weights file is missing, corrupt, of another format, or fails its hash check."""


@dataclass(frozen=True)
class WeightsFile:
    """A loaded weights file: its kind, config dict, component state dicts, summary and sha256."""

    kind: str
    config: dict[str, Any]
    tensors: dict[str, dict[str, Tensor]]
    training: dict[str, Any]
    sha256: str


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(
    path: str | Path,
    kind: str,
    config: dict[str, Any],
    components: dict[str, dict[str, Tensor]],
    training: dict[str, Any] | None = None,
    half: bool = False,
) -> str:
    """Write a weights file atomically; returns its sha256.

    Args:
        components: e.g. ``{"model": vqvae.state_dict(), "prior": prior.state_dict()}``.
        half: store floating tensors as fp16 (bool/int buffers keep their dtype).
    """
    flat: dict[str, Tensor] = {}
    for comp, state in components.items():
        for name, t in state.items():
            t = t.detach().cpu()
            if half and t.is_floating_point():
                t = t.half()
            flat[f"{comp}.{name}"] = t.contiguous()
    meta = {
        "format": WEIGHTS_FORMAT,
        "format_version": str(WEIGHTS_VERSION),
        "kind": kind,
        "config": json.dumps(config, sort_keys=True),
        "training": json.dumps(training or {}, sort_keys=True),
    }
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        save_file(flat, str(tmp), metadata=meta)
        tmp.chmod(0o644)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return file_sha256(target)


def load_weights(path: str | Path, expect_sha256_prefix: str = "") -> WeightsFile:
    """Read and validate a weights file; float tensors come back as fp32."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file not found: {p}")
    digest = file_sha256(p)
    if expect_sha256_prefix and not digest.startswith(expect_sha256_prefix):
        raise WeightsError(f"{p.name}: sha256 {digest[:12]} does not match the expected {expect_sha256_prefix}")
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
        flat = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{p.name}: not a readable safetensors file ({exc})") from None
    if meta.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{p.name}: not a vqcodec weights file")
    if meta.get("format_version") != str(WEIGHTS_VERSION):
        raise WeightsError(f"{p.name}: weights format version {meta.get('format_version')} is not supported")
    tensors: dict[str, dict[str, Tensor]] = {}
    for name, t in flat.items():
        comp, _, rest = name.partition(".")
        tensors.setdefault(comp, {})[rest] = t.float() if t.is_floating_point() else t
    return WeightsFile(
        kind=meta["kind"],
        config=json.loads(meta["config"]),
        tensors=tensors,
        training=json.loads(meta.get("training", "{}")),
        sha256=digest,
    )


def load_state(module: torch.nn.Module, state: dict[str, Tensor], what: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line error naming ``what``."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{what}: weights do not fit the model ({first})") from None

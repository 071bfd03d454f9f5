"""Checkpoint -> weights file (safetensors + config + training summary)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from vqcodec.kinds import kind_spec
from vqcodec.quantizers.codebook import DERIVED_BUFFERS
from vqcodec.weights_io import save_weights

from vqcodec.train.checkpoint import load_checkpoint
from vqcodec.train.config import TrainConfig
from vqcodec.train.finetune import attach_prior
from vqcodec.train.tasks import build_task


def export_checkpoint(checkpoint: str | Path, out: str | Path, half: bool = False) -> str:
    """Write the model of ``checkpoint`` (a ``last.pt`` or its folder) to ``out``; returns the file's sha256."""
    ck = load_checkpoint(checkpoint)
    cfg = TrainConfig.from_dict({**ck["config"], "init_from": "", "adapt_codebook": False, "finetune": "all"})
    if ck["config"].get("init_from") and cfg.stage != "prior" and kind_spec(cfg.kind).task.endswith(".tasks_vq"):
        # a VQ run started from weights takes its model config from them (a gauss run only copies transforms)
        cfg = TrainConfig.from_dict({**cfg.to_dict(), "model": _model_dict(ck)})
    task = build_task(cfg, distributed=False)
    task.model.load_state_dict(ck["model"])
    kind, config, components = task.export()
    if ck["config"].get("finetune") == "decoder":  # same indices as the source: its prior still fits
        kind, config, components = attach_prior(kind, config, components, ck["config"]["init_from"])
    components = {name: _without_derived(state) for name, state in components.items()}
    summary = {
        "steps": ck["step"],
        "wall_s": round(float(ck["wall_s"]), 1),
        "data": cfg.data,
        "command": ck.get("argv", ""),
        "val_metrics": ck.get("val_metrics", {}),
        "init_from": ck["config"].get("init_from", ""),
    }
    return save_weights(out, kind, config, components, summary, half=half)


def _model_dict(ck: dict) -> dict:
    """Model config of a run started with ``--init-from`` (its source's, maybe with residual stages grown)."""
    from vqcodec.train.tasks_vq import _grown, _source

    src = ck["config"]["init_from"]
    return _grown(_source(src)[1], ck["config"]["model"], src)


def _without_derived(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """``state`` less the codebook buffers that loading rebuilds (``DERIVED_BUFFERS``: EMA training state)."""
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in DERIVED_BUFFERS}

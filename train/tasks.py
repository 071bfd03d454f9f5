"""What is trained: one ``Task`` per model kind (and stage), all driven by the same loop (``vqcodec.train.loop``).

A task owns its model, computes the training loss of a batch, evaluates a held-out set and says what to export.
Which task trains a kind comes from the kind registry (``vqcodec.kinds``): its spec names the module here that
builds the kind's tasks (``build_task(cfg, distributed)``), so a new kind adds a module, not a branch.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from vqcodec.kinds import kind_spec

from vqcodec.train.losses import AudioDistortion, AudioLossWeights, Distortion, PixelDistortion


class Task(ABC):
    """A trainable model plus its loss and evaluation. ``forward_module`` may be a DDP wrapper of ``model``."""

    kind: str
    model: nn.Module
    forward_module: nn.Module

    def parameters(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    @property
    def stride(self) -> int:
        """Media sizes the task's data must be multiples of."""
        return int(getattr(self.model, "stride", 1))

    @property
    def dims(self) -> int:
        """Grid dimensionality of the media the task trains on (1 audio, 2 images, 3 video)."""
        return int(self.model.config.net.dims)  # type: ignore[union-attr]

    def to(self, device: torch.device) -> None:
        self.model.to(device)

    def init_from(self, path: str) -> None:
        """Load the weights of ``path`` (checkpoint or weights file) before training (``--init-from``)."""
        raise ValueError(f"--init-from is not supported for {self.kind} runs")

    @abstractmethod
    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Loss (scalar, differentiable) and metrics of one batch ``x (B, C, *grid)``."""

    @abstractmethod
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        """Held-out metrics (the model is put in eval mode and back)."""

    @abstractmethod
    def export(self) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
        """``(kind, config dict, {component: state_dict})`` for a weights file."""


def mse_psnr(mse: float) -> float:
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def distortion_for(cfg: Any, recon_loss: str = "l2") -> Distortion:
    """The reconstruction loss of ``cfg.modality`` with the run's settings."""
    if cfg.modality == "audio":
        weights = AudioLossWeights(cfg.mel_weight, cfg.stft_weight, cfg.wave_weight)
        return AudioDistortion(cfg.sample_rate, weights)
    return PixelDistortion(recon_loss, cfg.ms_ssim_weight)


def build_task(cfg: Any, distributed: bool) -> Task:
    """The task of ``cfg.kind`` (and ``cfg.stage``), from the module the kind registry names."""
    module = importlib.import_module(kind_spec(cfg.kind).task)
    return module.build_task(cfg, distributed)  # type: ignore[no-any-return]


def initialise_from(task: Task, path: str) -> None:
    """Load the model weights of ``path`` into ``task`` (``--init-from``)."""
    task.init_from(path)

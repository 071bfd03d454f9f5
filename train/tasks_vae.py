"""Training of the textbook ``vae`` kind (Gaussian VAE, negative ELBO)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from vqcodec import GaussianVAE
from vqcodec.config import GaussianVAEConfig
from vqcodec.metrics import psnr

from vqcodec.train.tasks import Task, mse_psnr


class GaussianTask(Task):
    """Gaussian VAE: reconstruction + KL (negative ELBO per item)."""

    kind = "vae"

    def __init__(self, config: GaussianVAEConfig) -> None:
        self.config = config
        self.model = GaussianVAE(config)
        self.forward_module = self.model

    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        out = self.forward_module(x)
        mse = float((out.x_hat.detach() - x).pow(2).mean())
        return out.loss, {"loss": float(out.loss.detach()), "kl": float(out.kl.detach()), "psnr": mse_psnr(mse)}

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        was = self.model.training
        self.model.eval()
        psnrs, kls = [], []
        for x in batches:
            out = self.model(x)
            psnrs += [psnr(out.x_hat[i].clamp(0, 1), x[i]) for i in range(x.shape[0])]
            kls.append(float(out.kl))
        self.model.train(was)
        n_latent = self.config.latent_dim
        return {"psnr": sum(psnrs) / max(len(psnrs), 1), "kl_nats": sum(kls) / max(len(kls), 1), "latent_dim": n_latent}

    def export(self) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
        return "vae", {"model": self.config.to_dict()}, {"model": self.model.state_dict()}


def model_config(cfg: Any) -> GaussianVAEConfig:
    """The Gaussian VAE config of a run."""
    return GaussianVAEConfig.from_dict(cfg.model)


def build_task(cfg: Any, distributed: bool) -> Task:
    """The textbook Gaussian VAE task."""
    if cfg.init_from:
        raise ValueError("--init-from is not supported for vae runs")
    return GaussianTask(GaussianVAEConfig.from_dict(cfg.model))

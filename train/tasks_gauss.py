"""Training of the ``gauss`` kind: rate + lambda * distortion at a random quality (gain) per batch."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from vqcodec.metrics import psnr
from vqcodec.config import NetConfig
from vqcodec.models.gauss import GaussCodec, GaussConfig

from vqcodec.train.tasks import Task, mse_psnr


class GaussTask(Task):
    """``loss = bpp + lambda_q * 255^2 * MSE`` with ``q`` drawn per batch, so one model serves every quality."""

    kind = "gauss"

    def __init__(self, config: GaussConfig) -> None:
        self.config = config
        self.model = GaussCodec(config)
        self.forward_module = self.model

    @property
    def stride(self) -> int:
        return self.model.strides[0]

    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        out = self.forward_module(x)
        mse = float(out.mse.detach())
        return out.loss, {"loss": float(out.loss.detach()), "bpp": float(out.bpp.detach()), "psnr": mse_psnr(mse)}

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        """PSNR and bpp (rounded latents, the coder's discretized densities in float) at every quality."""
        was = self.model.training
        self.model.eval()
        scores: dict[str, list[float]] = {}
        for x in batches:
            for q in range(1, len(self.config.lambdas) + 1):
                out = self.model(x, quality=q)
                scores.setdefault(f"bpp_{q}", []).append(float(out.bpp))
                scores.setdefault(f"psnr_{q}", []).extend(psnr(out.x_hat[i].clamp(0, 1), x[i])
                                                         for i in range(x.shape[0]))
        self.model.train(was)
        return {k: sum(v) / len(v) for k, v in scores.items()}

    def export(self) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
        return "gauss", {"model": self.config.to_dict()}, {"model": self.model.state_dict()}

    def init_from(self, path: str) -> None:
        """Start from the weights of a gauss checkpoint or weights file, or take the analysis/synthesis transforms
        of a trained image VQ model (``vq-image`` or an export): its encoder becomes ``g_a`` and its decoder
        ``g_s`` (same ``net`` config, ``latent`` = its ``codebook_dim``); the hyper networks, density and gains
        start fresh."""
        from vqcodec.weights_io import load_state, load_weights

        from vqcodec.train.checkpoint import load_checkpoint

        if not path.endswith(".safetensors"):
            load_state(self.model, load_checkpoint(path)["model"], path)
            return
        weights = load_weights(path)
        if weights.kind == "gauss":
            load_state(self.model, self._with_gains(weights.tensors["model"],
                                                    tuple(weights.config["model"]["lambdas"]), path), path)
            return
        vq = weights.config.get("model", {})
        net, dim = vq.get("net"), vq.get("vq", {}).get("codebook_dim")
        fits = net is not None and NetConfig.from_dict(net) == self.config.net and dim == self.config.latent
        if weights.kind not in ("vq", "vqcodec") or not fits:
            raise ValueError(f"{path}: neither a gauss model nor an image VQ model with this net and latent "
                             f"{self.config.latent} (set model.net to its net and model.latent to its codebook_dim)")
        state = self.model.state_dict()
        for ours, theirs in (("g_a.", "encoder."), ("g_s.", "decoder.")):
            taken = {k: v for k, v in weights.tensors["model"].items() if k.startswith(theirs)}
            for k, v in taken.items():
                state[ours + k[len(theirs):]] = v.to(state[ours + k[len(theirs):]].dtype)
        load_state(self.model, state, path)

    def _with_gains(self, state: dict[str, Tensor], lambdas: tuple[float, ...], path: str) -> dict[str, Tensor]:
        """``state`` of a gauss model trained at ``lambdas``, with a gain vector for each of this run's lambdas:
        a lambda the source has keeps its gains; a new one starts from the source's nearest lambda, its log-gain
        moved by ``0.5 * log(lambda_new / lambda_near)`` (the MSE-optimal step scales as ``lambda^-1/2``). So
        quality levels can be added below or above the trained ones and trained on from there."""
        ours = tuple(self.config.lambdas)
        if ours == lambdas:
            return state
        if not set(lambdas) <= set(ours):
            raise ValueError(f"{path}: trained at lambdas {list(lambdas)}; a run from it may add lambdas but must "
                             f"keep those (got {list(ours)})")
        out = dict(state)
        for name, sign in (("log_gain", 1.0), ("log_inv_gain", -1.0)):
            src = state[name]
            rows = []
            for lam in ours:
                near = min(range(len(lambdas)), key=lambda i: abs(math.log(lambdas[i] / lam)))
                rows.append(src[near] + sign * 0.5 * math.log(lam / lambdas[near]))
            out[name] = torch.stack(rows)
        return out


def model_config(cfg: Any) -> GaussConfig:
    """The gauss config of a run."""
    return GaussConfig.from_dict(cfg.model)


def build_task(cfg: Any, distributed: bool) -> Task:
    """The gauss task (image modality)."""
    if cfg.modality != "image":
        raise ValueError("gauss models code images (modality image)")
    return GaussTask(model_config(cfg))

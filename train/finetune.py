"""Decoder-only fine-tuning: better pixels from the same indices, so the prior and the rates do not move.

With ``finetune="decoder"`` the encoder and the codebooks are frozen (their parameters and buffers never change),
so every image maps to exactly the indices it mapped to before. Only the decoder learns, from the codewords the
codec's decoder actually sees (``quantizer.decode`` of the indices, for a random number of stages under the
model's quantizer dropout). A model started from a ``vqcodec`` weights file keeps that file's prior when exported:
the prior still predicts the same indices, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from vqcodec.config import VQVAEConfig
from vqcodec.metrics import ms_ssim
from vqcodec.nn.speech import SpeechDecoder
from vqcodec.quantizers.vq import dropout_stages

from vqcodec.train.losses import Distortion, PixelDistortion
from vqcodec.train.tasks_vq import VQVAETask


class DecoderTask(VQVAETask):
    """Train the decoder of a VQ-VAE on frozen indices; ``ms_ssim_weight`` adds ``w * (1 - MS-SSIM)``."""

    kind = "vqvae"

    def __init__(self, config: VQVAEConfig, distortion: Distortion | None = None) -> None:
        super().__init__(config, distributed=False, distortion=distortion)
        for module in (self.model.encoder, self.model.quantizer):
            for p in module.parameters():
                p.requires_grad_(False)

    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Distortion of the decoder's output for ``x (B, C, *grid)`` from frozen codewords (no VQ losses).

        A speech decoder keeps stage 1's supervision of its pitch, voicing and envelope by the frozen encoder's
        analysis (``aux``) and its random synthesis noise: the same loss as stage 1 minus the VQ terms."""
        self.model.encoder.eval(), self.model.quantizer.eval()  # no EMA updates, restarts or k-means
        n = dropout_stages(self.config.vq.num_stages, self.config.vq.quantizer_dropout)  # as in stage-1 training
        if isinstance(self.model.decoder, SpeechDecoder):
            out = self.model(x, stages=n)  # the frozen quantizer in eval mode codes greedily, as the codec does
            recon, terms = self.distortion(out.x_hat, x)
            aux = out.aux_loss if out.aux_loss is not None else recon.new_zeros(())
            loss = recon + aux
            return loss, {"loss": float(loss.detach()), **terms, "pitch": float(aux.detach()), "stages": float(n)}
        with torch.no_grad():
            z_q = self.model.quantizer.decode(self.model.encode(x, stages=n), stages=n)
        x_hat = self.model.decoder(z_q)
        loss, terms = self.distortion(x_hat, x)
        return loss, {"loss": float(loss.detach()), **terms, "stages": float(n)}

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        """The VQ-VAE metrics plus ``psnr_q`` (and ``ms_ssim_q`` with an MS-SSIM weight) for each stage count q."""
        out = super().evaluate(batches)
        if self.config.net.dims == 1:  # stage 1's evaluation already scores every stage count of a 1-D model
            return out
        was = self.model.training
        self.model.eval()
        stages = self.config.vq.num_stages
        msssim = isinstance(self.distortion, PixelDistortion) and self.distortion.ms_ssim_weight > 0
        scores: dict[str, list[float]] = {f"ms_ssim_{q}": [] for q in range(1, stages + 1)} if msssim else {}
        for x in batches:
            idx = self.model.encode(x)  # greedy residual VQ: the first q stages are the q-stage indices
            for q in range(1, stages + 1):
                x_hat = self.model.decode(idx[..., :q])
                for name, values in self.distortion.item_metrics(x_hat, x).items():
                    scores.setdefault(f"{name}_{q}", []).extend(values)
                if msssim:
                    scores[f"ms_ssim_{q}"].append(ms_ssim(x_hat.clamp(0, 1), x))
        out.update({k: sum(v) / len(v) for k, v in scores.items() if v})
        self.model.train(was)
        return out


def attach_prior(kind: str, config: dict[str, Any], components: dict[str, dict[str, Tensor]],
                 source: str) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
    """A decoder-fine-tuned VQ-VAE export, with the prior of ``source`` when that is a ``vq`` weights file with one."""
    if not source.endswith(".safetensors"):
        return kind, config, components
    from vqcodec.weights_io import load_weights

    wf = load_weights(source)
    if "prior" not in wf.tensors:
        return kind, config, components
    return "vq", {**config, "prior": wf.config["prior"]}, {**components, "prior": wf.tensors["prior"]}

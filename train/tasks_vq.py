"""Training of the ``vq`` kind: the VQ-VAE (stage ``model``), the prior over its indices (stage ``prior``) and the
decoder-only fine-tune (``vqcodec.train.finetune``), plus loading and growing models for ``--init-from``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from vqcodec import VQVAE
from vqcodec.config import PriorConfig, VQVAEConfig
from vqcodec.priors import CodewordBase, build_prior

from vqcodec.train.losses import Distortion, PixelDistortion
from vqcodec.train.tasks import Task, distortion_for

class VQVAETask(Task):
    """Stage 1: reconstruction + VQ losses; EMA codebooks, k-means init and dead-code restarts happen in forward."""

    kind = "vq"

    def __init__(self, config: VQVAEConfig, distributed: bool, adapt_codebook: bool = False,
                 distortion: Distortion | None = None) -> None:
        if distributed:
            config = dataclasses.replace(config, vq=dataclasses.replace(config.vq, sync_distributed=True))
        self.config = config
        self.model = VQVAE(config)
        self.forward_module = self.model
        self.adapt_codebook = adapt_codebook
        self.distortion = distortion or PixelDistortion(config.recon_loss)

    def prepare_adaptation(self) -> None:
        """Freeze encoder/decoder and make every codebook re-initialise by k-means on the next batch."""
        for p in self.model.parameters():
            p.requires_grad_(False)
        for module in self.model.modules():
            if hasattr(module, "initialized") and isinstance(module.initialized, Tensor):
                module.initialized.fill_(False)

    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        if self.adapt_codebook:
            self.model.encoder.eval(), self.model.decoder.eval()
        out = self.forward_module(x)
        recon, terms = self.distortion(out.x_hat, x)
        aux = out.aux_loss if out.aux_loss is not None else recon.new_zeros(())
        loss = recon + out.commit_loss + out.codebook_loss + aux
        return loss, {
            "loss": float(loss.detach()),
            **terms,
            "commit": float(out.commit_loss.detach()),
            "pitch": float(aux.detach()),
            "perplexity": out.perplexity,
            "dead": out.dead_fraction,
        }

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        """Validation metrics through all stages, codebook usage, and (for 1-D models) the metrics at every
        stage count ``q`` as ``NAME_q``: audio models serve every bitrate from the same weights."""
        was = self.model.training
        self.model.eval()
        scores: dict[str, list[float]] = {}
        used = None
        k, stages = self.config.vq.codebook_size, self.config.vq.num_stages
        per_stage = self.config.net.dims == 1
        for x in batches:
            idx = self.model.encode(x)
            for q in range(1, stages + 1) if per_stage else (stages,):
                for name, values in self.distortion.item_metrics(self.model.decode(idx[..., :q]), x).items():
                    scores.setdefault(name if q == stages else f"{name}_{q}", []).extend(values)
            flat = idx.reshape(-1, stages)
            hits = torch.stack([torch.bincount(flat[:, s], minlength=k) > 0 for s in range(stages)])
            used = hits if used is None else used | hits
        self.model.train(was)
        out = {name: sum(v) / max(len(v), 1) for name, v in scores.items()}
        return {
            **out,
            "codebook_usage": float(used.float().mean()) if used is not None else 0.0,
            "bits_per_index_uniform": math.log2(k),
            "bpp_uniform": stages * math.log2(k) / math.prod(self.model.axis_strides),
        }

    def export(self) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
        cfg = dataclasses.replace(self.config, vq=dataclasses.replace(self.config.vq, sync_distributed=False))
        return "vq", {"model": cfg.to_dict()}, {"model": self.model.state_dict()}

    def init_from(self, path: str) -> None:
        """Start from the VQ-VAE of ``path`` (maybe grown), and prepare codebook adaptation if asked."""
        _, _, state = _source(path)
        _load_grown(self.model, state, path)
        if self.adapt_codebook:
            self.prepare_adaptation()


class PriorTask(Task):
    """Stage 2: a prior over the indices of a frozen VQ-VAE (cross-entropy in bits per index).

    With S > 1 residual stages each batch keeps only its first ``q ~ U{1..S}`` stages, so one prior codes every
    quality level (the first q stages) well.
    """

    kind = "vq-prior"

    def __init__(self, config: PriorConfig, base: VQVAE) -> None:
        self.config = config
        self.base = base.eval()
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.model = build_prior(config)
        if isinstance(self.model, CodewordBase):  # it scores the base model's own codewords
            if config.channels != base.config.vq.codebook_dim:
                raise ValueError(f"a codeword prior needs channels = the codeword dimension "
                                 f"{base.config.vq.codebook_dim}, not {config.channels}")
            self.model.use_codebooks(base.quantizer.core.codebooks())
        self.forward_module = self.model

    @property
    def stride(self) -> int:
        return self.base.stride

    @property
    def dims(self) -> int:
        return int(self.base.config.net.dims)

    def to(self, device: torch.device) -> None:
        self.model.to(device)
        self.base.to(device)

    def _indices(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self.base.encode(x)

    def _bits(self, module: nn.Module, idx: Tensor) -> Tensor:
        logits = module(idx)
        ce = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx.reshape(-1))
        return ce / math.log(2.0)

    def train_step(self, x: Tensor) -> tuple[Tensor, dict[str, float]]:
        idx = self._indices(x)
        q = int(torch.randint(1, idx.shape[-1] + 1, ())) if idx.shape[-1] > 1 else 1
        bits = self._bits(self.forward_module, idx[..., :q])
        return bits, {"loss": float(bits.detach()), "bits": float(bits.detach()), "stages": float(q)}

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Tensor]) -> dict[str, float]:
        was = self.model.training
        self.model.eval()
        stages = self.config.num_stages
        total = [0.0] * stages
        pixels = 0
        for x in batches:
            idx = self._indices(x)
            pixels += x.shape[0] * math.prod(x.shape[2:])
            for q in range(1, stages + 1):
                total[q - 1] += float(self._bits(self.model, idx[..., :q])) * idx[..., :q].numel()
        self.model.train(was)
        out = {f"bpp_{q}": total[q - 1] / max(pixels, 1) for q in range(1, stages + 1)}
        rate = self.base.config.sample_rate
        if rate:  # audio: bits per sample -> kbps
            out.update({f"kbps_{q}": out[f"bpp_{q}"] * rate / 1000 for q in range(1, stages + 1)})
        n_idx = pixels / math.prod(self.base.axis_strides) * stages
        out["bits_per_index"] = total[-1] / max(n_idx, 1)
        return out

    def export(self) -> tuple[str, dict[str, Any], dict[str, dict[str, Tensor]]]:
        base_cfg = self.base.config
        base_cfg = dataclasses.replace(base_cfg, vq=dataclasses.replace(base_cfg.vq, sync_distributed=False))
        config = {"model": base_cfg.to_dict(), "prior": self.config.to_dict()}
        return "vq", config, {"model": self.base.state_dict(), "prior": self.model.state_dict()}

    def init_from(self, path: str) -> None:
        """Start from the prior of a ``vq`` weights file; a video (3-D) prior may start from an image (2-D) prior of
        the same shape, inflated so that it starts as that prior on every frame (``inflated_state``)."""
        from vqcodec.priors.pixelcnn import GatedPixelCNN, inflated_state
        from vqcodec.weights_io import load_state, load_weights

        wf = load_weights(path) if path.endswith(".safetensors") else None
        if wf is None or "prior" not in wf.tensors:
            raise ValueError(f"--init-from {path}: a prior run starts from a vq weights file with a prior")
        state = wf.tensors["prior"]
        if int(wf.config["prior"].get("dims", 0)) == self.config.dims - 1 and isinstance(self.model, GatedPixelCNN):
            state = inflated_state(self.model, {k: v.float() for k, v in state.items()})
        load_state(self.model, state, path)


def load_base_vqvae(path: str) -> VQVAE:
    """The frozen VQ-VAE of a prior run: a stage-1 checkpoint/run folder, or a vq weights file."""
    if not path:
        raise ValueError("--stage prior needs --base-model (a VQ-VAE checkpoint or weights file)")
    kind, cfg, state = _source(path)
    if kind != "vq":
        raise ValueError(f"--base-model {path} holds a {kind} model, not a VQ-VAE")
    from vqcodec.weights_io import load_state

    model = VQVAE(VQVAEConfig.from_dict(cfg))
    load_state(model, state, path)
    return model


def frame_wise_video(image_model: VQVAE) -> VQVAE:
    """A 2-D image VQ-VAE as a video model: the same weights run on every frame (``net.frame_wise``), the latent
    grid ``(T, H/s, W/s)`` keeps every frame, so a 3-D prior over it is the only temporal model."""
    net = dataclasses.replace(image_model.config.net, dims=3, frame_wise=True)
    config = dataclasses.replace(image_model.config, net=net)
    video = VQVAE(config)
    video.load_state_dict(image_model.state_dict())
    return video.eval()


def prior_config_for(base: VQVAE, overrides: dict[str, Any]) -> PriorConfig:
    """Prior config: ``dims``, ``codebook_size``, ``num_stages`` from the base model; the rest from ``overrides``."""
    derived = {"dims": base.config.net.dims, "codebook_size": base.config.vq.codebook_size,
               "num_stages": base.config.vq.num_stages}
    clash = sorted(k for k in derived if k in overrides and overrides[k] != derived[k])
    if clash:
        raise ValueError(f"prior settings {', '.join(clash)} must match the base model ({derived})")
    data = {**overrides, **derived}
    if "tile_shape" not in data:
        data["tile_shape"] = [16] * derived["dims"]
    return PriorConfig.from_dict(data)

def _source(path: str) -> tuple[str, dict[str, Any], dict[str, Tensor]]:
    """``(kind, model config dict, model state)`` of a training checkpoint or a weights file (kinds by their
    current names: a ``vqcodec``/``vqvae`` file of an earlier version is ``vq``)."""
    from vqcodec.kinds import kind_spec
    from vqcodec.weights_io import load_weights

    from vqcodec.train.checkpoint import load_checkpoint
    from vqcodec.train.config import TrainConfig

    if path.endswith(".safetensors"):
        wf = load_weights(path)
        try:
            kind = kind_spec(wf.kind).name
        except KeyError as exc:
            raise ValueError(f"{path}: {exc.args[0]}") from None
        return kind, wf.config["model"], wf.tensors["model"]
    ck = load_checkpoint(path)
    run = TrainConfig.from_dict(ck["config"])  # names of earlier versions are normalised here
    if run.stage == "prior":
        raise ValueError(f"{path} is a prior checkpoint; export it first (vqcodec export) to use it as a model")
    model_dict = ck["config"]["model"]
    if ck["config"].get("init_from"):  # a run started --init-from: its model config is there (maybe grown)
        model_dict = _grown(_source(ck["config"]["init_from"])[1], model_dict, ck["config"]["init_from"])
    return run.kind, model_dict, ck["model"]


def model_config(cfg: Any) -> VQVAEConfig:
    """The VQ-VAE config of a stage-``model`` run."""
    return VQVAEConfig.from_dict(cfg.model)


def build_task(cfg: Any, distributed: bool) -> Task:
    """The task of a ``vq`` run: ``cfg.stage`` model (VQ-VAE, or its decoder with ``finetune=decoder``) or prior;
    with ``init_from`` the model config comes from that file."""
    if cfg.stage == "prior":
        base = load_base_vqvae(cfg.base_model)
        if cfg.modality == "video" and base.config.net.dims == 2:
            base = frame_wise_video(base)
        if cfg.modality == "audio" and not base.config.sample_rate:  # a stage-1 checkpoint: the run's rate
            base.config = dataclasses.replace(base.config, sample_rate=cfg.sample_rate)
        return PriorTask(prior_config_for(base, cfg.model), base)
    model_dict = cfg.model
    if cfg.init_from:
        kind, model_dict, _ = _source(cfg.init_from)
        if kind != "vq":
            raise ValueError(f"--init-from {cfg.init_from} holds a {kind} model, not a vq model")
        model_dict = _grown(model_dict, cfg.model, cfg.init_from)
    config = VQVAEConfig.from_dict(model_dict)
    if cfg.modality == "audio":  # the exported model says which rate it codes
        config = dataclasses.replace(config, sample_rate=cfg.sample_rate)
    if cfg.quantizer_dropout is not None:
        config = dataclasses.replace(config, vq=dataclasses.replace(config.vq, quantizer_dropout=cfg.quantizer_dropout))
    if cfg.finetune == "decoder":
        from vqcodec.train.finetune import DecoderTask

        if not cfg.init_from or distributed:
            raise ValueError("--finetune decoder needs --init-from MODEL and runs in one process")
        return DecoderTask(config, distortion_for(cfg, config.recon_loss))
    if cfg.adapt_codebook and not cfg.init_from:
        raise ValueError("--adapt-codebook needs --init-from MODEL")
    return VQVAETask(config, distributed, cfg.adapt_codebook, distortion_for(cfg, config.recon_loss))


_GROWABLE = {"vq": "num_stages", "net": "decoder_level_blocks"}
"""The model keys an ``--init-from`` run may raise (section -> key); all else comes from the weights file."""


def _grown(source: dict[str, Any], asked: dict[str, Any], path: str) -> dict[str, Any]:
    """The model config of an ``--init-from`` run: ``source``'s, with ``vq.num_stages`` and/or
    ``net.decoder_level_blocks`` grown.

    These are the model changes a run started from weights may make: new residual stages start empty and are
    initialised by k-means on the residuals they first see; new decoder level blocks start as the identity.
    """
    if not asked or asked == source:
        return source
    out = dict(source)
    for sec, sub in asked.items():
        key = _GROWABLE.get(sec, "")
        if not isinstance(sub, dict) or set(sub) != {key}:
            raise ValueError("--init-from takes the model settings from that file; the only model keys you may set "
                             "are model.vq.num_stages (to add residual stages) and model.net.decoder_level_blocks "
                             "(to add decoder blocks)")
        if sec not in source:
            raise ValueError(f"--init-from {path} is not a VQ model; model.{sec}.{key} cannot be set")
        value, have = sub[key], int(source[sec].get(key, 0))
        if not isinstance(value, int) or isinstance(value, bool) or value < have:
            raise ValueError(f"--init-from {path} has {sec}.{key} = {have}; model.{sec}.{key} must be an integer "
                             f">= {have}, got {value!r}")
        out[sec] = {**source[sec], key: value}
    return out


def _is_new_stage(key: str, have: int) -> bool:
    return ".stages." in key and int(key.split(".stages.")[1].split(".")[0]) >= have


def _load_grown(model: torch.nn.Module, state: dict[str, Tensor], path: str) -> None:
    """Load ``state`` into ``model``, which may have more residual stages and decoder level blocks; anything else
    must match exactly.

    The new stages' codebooks are marked uninitialised, so the first training batches initialise them by k-means;
    new decoder level blocks keep their identity initialisation.
    """
    from vqcodec.quantizers.codebook import DERIVED_BUFFERS
    from vqcodec.weights_io import WeightsError, load_state

    have = len({int(k.split(".stages.")[1].split(".")[0]) for k in state if ".stages." in k})
    derivable = {f"{k[: -len('embed')]}{b}" for k in state if k.endswith(".embed") for b in DERIVED_BUFFERS}
    new = [k for k in model.state_dict() if k not in state and k not in derivable]  # rebuilt on load
    if not new or not all(_is_new_stage(k, have) or k.startswith("decoder.levels.") for k in new):
        load_state(model, state, path)  # not a pure growth: strict loading explains the difference
        return
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise WeightsError(f"{path}: weights do not fit the model (unexpected {result.unexpected_keys[0]})")
    for name, module in model.named_modules():
        if ".stages." in f"{name}." and hasattr(module, "initialized") and any(
                k.startswith(f"{name}.") and _is_new_stage(k, have) for k in new):
            module.initialized.fill_(False)

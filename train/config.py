"""Training configuration: one frozen dataclass, loadable from JSON/TOML and overridable by ``key=value`` flags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vqcodec.config import ConfigMixin

MODALITY_DIMS: dict[str, int] = {"image": 2, "audio": 1, "video": 3}
"""Grid dimensionality of each training modality."""
STAGES: tuple[str, ...] = ("model", "prior")
LEGACY_KINDS: dict[str, tuple[str, str]] = {"vqvae": ("vq", "model"), "prior": ("vq", "prior"),
                                            "gaussian": ("vae", "model")}
"""Training kinds of earlier versions (configs, checkpoints) -> ``(kind, stage)``."""


@dataclass(frozen=True)
class TrainConfig(ConfigMixin):
    """Everything a training run needs; stored in every checkpoint.

    Attributes:
        kind: the model kind (``vq``, ``vae``; see ``vqcodec.kinds``): which task trains (``vqvae``, ``prior`` and
            ``gaussian`` of earlier versions are read as ``vq``, ``vq`` + stage ``prior`` and ``vae``).
        stage: ``model`` (the kind's networks) or, for ``vq``, ``prior`` (the prior over a frozen VQ-VAE's indices).
        model: the model config as a dict (``VQVAEConfig``/``GaussianVAEConfig`` fields; for the prior stage the
            ``PriorConfig`` fields); unknown keys are errors.
        data: training folder; ``val_data``: held-out folder (default: every ``val_every_nth`` file of ``data``).
        modality: ``image``, ``audio`` or ``video``: which datasets ``data`` holds (the model's ``net.dims`` must
            be 2, 1 or 3 respectively).
        crop: training crop side in pixels, or segment length in samples for audio (a multiple of the model
            stride); ``val_crop`` for evaluation.
        sample_rate: audio is resampled to this rate (Hz); ``gain_db``: range of the random training gain (dB).
        clip_frames: frames per training and validation clip (video).
        mel_weight, stft_weight, wave_weight: weights of the audio reconstruction loss terms (multi-scale mel,
            multi-resolution STFT, waveform L1).
        steps: total optimizer steps; ``lr`` peak learning rate with ``warmup`` linear steps then cosine decay.
        init_from: checkpoint/weights to start from; ``adapt_codebook``: freeze encoder/decoder and re-learn the
            codebook (k-means re-initialisation + EMA) on ``data``.
        finetune: ``all`` (default) or ``decoder``: with ``init_from``, freeze the encoder and codebooks (so the
            indices, the prior and the rates stay exactly as they were) and train only the decoder; a ``vqcodec``
            weights file's prior is kept in the export.
        ms_ssim_weight: add ``w * (1 - MS-SSIM)`` to the reconstruction loss (VQ-VAE runs; crops > 160 px).
        base_model: for ``stage="prior"``: the frozen VQ-VAE (checkpoint, weights file or built-in name).
        quantizer_dropout: for VQ-VAE runs, this run's quantizer dropout p instead of the model's (a training
            setting, which a run ``--init-from`` weights cannot set through ``model``): 1.0 trains every stage
            count 1..S equally often, where the usual 0.5 gives all S stages half of the steps.
    """

    kind: str = "vq"
    model: dict[str, Any] = field(default_factory=dict)
    data: str = ""
    val_data: str = ""
    val_every_nth: int = 25
    modality: Literal["image", "audio", "video"] = "image"
    crop: int = 128
    val_crop: int = 256
    val_items: int = 16
    batch_size: int = 16
    steps: int = 10_000
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    workers: int = 1
    threads: int = 0
    device: str = "cpu"
    out: str = "runs/default"
    log_every: int = 10
    eval_every: int = 500
    ckpt_every: int = 500
    init_from: str = ""
    adapt_codebook: bool = False
    finetune: Literal["all", "decoder"] = "all"
    ms_ssim_weight: float = 0.0
    base_model: str = ""
    tensorboard: bool = False
    sample_rate: int = 16000
    gain_db: tuple[float, float] = (-12.0, 6.0)
    clip_frames: int = 8
    mel_weight: float = 1.0
    stft_weight: float = 1.0
    wave_weight: float = 1.0
    stage: str = "model"
    quantizer_dropout: float | None = None

    def __post_init__(self) -> None:
        from vqcodec.kinds import kind_spec

        if self.kind in LEGACY_KINDS:
            kind, stage = LEGACY_KINDS[self.kind]
            object.__setattr__(self, "kind", kind)
            object.__setattr__(self, "stage", stage if stage != "model" else self.stage)
        try:
            kind_spec(self.kind)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if self.stage not in STAGES or (self.stage == "prior" and self.kind != "vq"):
            raise ValueError(f"stage must be 'model' or, for vq models, 'prior'; got {self.stage!r}")
        if self.steps < 1 or self.batch_size < 1 or self.crop < 1 or self.lr <= 0:
            raise ValueError("steps, batch_size, crop and lr must be positive")
        if self.finetune not in ("all", "decoder"):
            raise ValueError(f"finetune must be 'all' or 'decoder', got {self.finetune!r}")
        vq_model = self.kind == "vq" and self.stage == "model"
        if self.finetune == "decoder" and (not vq_model or self.adapt_codebook):
            raise ValueError("finetune=decoder is for VQ-VAE runs without --adapt-codebook")
        if self.ms_ssim_weight < 0 or (self.ms_ssim_weight > 0 and (not vq_model or self.crop <= 160)):
            raise ValueError("ms_ssim_weight must be >= 0, and > 0 only for VQ-VAE runs with crop > 160 px")
        if self.quantizer_dropout is not None and (not vq_model or not 0 <= self.quantizer_dropout <= 1):
            raise ValueError("quantizer_dropout is for VQ-VAE runs and must be in [0, 1]")
        if self.modality not in MODALITY_DIMS:
            raise ValueError(f"modality must be one of {', '.join(MODALITY_DIMS)}, got {self.modality!r}")
        if self.ms_ssim_weight > 0 and self.modality != "image":
            raise ValueError("ms_ssim_weight is for image models")
        if self.sample_rate < 1000 or self.clip_frames < 1 or len(self.gain_db) != 2:
            raise ValueError("sample_rate >= 1000, clip_frames >= 1 and gain_db = [low, high] are required")

    def model_config(self) -> Any:
        """The typed model config built from ``model`` by the kind's task module (validates its keys); None for
        the prior stage, whose config derives from the base model."""
        import importlib

        from vqcodec.kinds import kind_spec

        if self.stage == "prior":
            return None
        return importlib.import_module(kind_spec(self.kind).task).model_config(self)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ValueError(f"cannot set {dotted}: {k} is not a mapping")
    node[keys[-1]] = value


def apply_sets(tree: dict[str, Any], sets: tuple[str, ...] | list[str]) -> None:
    """Apply ``key.sub=value`` strings to ``tree`` in place (value as JSON, else a string; missing sections are
    created); the ``--set`` of ``vqcodec train``."""
    for item in sets:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        _set_path(tree, key.strip(), _parse_value(text))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON (``.json``) or TOML (``.toml``) config file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file not found: {p}")
    text = p.read_text()
    try:
        if p.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        return dict(json.loads(text))
    except Exception as exc:  # noqa: BLE001 - any parse error becomes one line
        raise ValueError(f"cannot parse config {p}: {exc}") from None


def build_config(base: dict[str, Any], overrides: dict[str, Any], sets: tuple[str, ...] = ()) -> TrainConfig:
    """Merge a file config, explicit flag values (None = not given) and ``key.sub=value`` strings; validate."""
    tree = json.loads(json.dumps(base))
    for key, value in overrides.items():
        if value is not None:
            tree[key] = value
    apply_sets(tree, sets)
    cfg = TrainConfig.from_dict(tree)
    if not cfg.init_from:
        cfg.model_config()  # validates the model keys now, not at step 1
    return cfg

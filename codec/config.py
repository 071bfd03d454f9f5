"""Frozen dataclass configurations for every vqcodec building block.

Configs are plain data: they serialise to JSON (``to_dict``/``from_dict``) so a weights file or a checkpoint
can rebuild its model from the file alone.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")


def _nested(annotation: Any) -> type | None:
    """The dataclass type a field holds (itself, or inside ``X | None``), else None."""
    if dataclasses.is_dataclass(annotation):
        return annotation  # type: ignore[return-value]
    for arg in typing.get_args(annotation):
        if dataclasses.is_dataclass(arg):
            return arg  # type: ignore[return-value]
    return None


def _build(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from a dict, recursing into nested dataclass fields (found from the field types) and
    rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config key(s): {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        sub = _nested(hints[name])
        if sub is not None and isinstance(value, dict):
            value = _build(sub, value)
        elif isinstance(value, list) and "tuple" in str(fields[name].type):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


class ConfigMixin:
    """``to_dict``/``from_dict`` for frozen config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return _build(cls, data)


@dataclass(frozen=True)
class VQConfig(ConfigMixin):
    """Vector quantizer (optionally residual) with an EMA or gradient-learned codebook.

    Attributes:
        codebook_size: number of codewords K.
        codebook_dim: vector length D.
        num_stages: residual stages S (1 = plain VQ).
        quantizer_dropout: probability, per training forward, of using a random number 1..S of stages.
        ema: learn the codebook by exponential moving averages (True) or by the codebook loss (False).
        decay: EMA decay g.
        epsilon: Laplace smoothing constant for the EMA cluster sizes.
        commitment_weight: beta of the commitment loss.
        kmeans_init: initialise the codebook by k-means on the first training batch.
        kmeans_iters: Lloyd iterations of that k-means.
        dead_code_threshold: EMA cluster size below which a code is dead and restarted (0 disables).
        sync_distributed: all-reduce EMA statistics across torch.distributed ranks.
        search_chunk: rows per chunk of the nearest-codeword search (bounds memory to chunk x K).
    """

    codebook_size: int = 512
    codebook_dim: int = 64
    num_stages: int = 1
    quantizer_dropout: float = 0.0
    ema: bool = True
    decay: float = 0.99
    epsilon: float = 1e-5
    commitment_weight: float = 0.25
    kmeans_init: bool = True
    kmeans_iters: int = 10
    dead_code_threshold: float = 1.0
    sync_distributed: bool = False
    search_chunk: int = 8192

    def __post_init__(self) -> None:
        if self.codebook_size < 2 or self.codebook_dim < 1 or self.num_stages < 1:
            raise ValueError("VQConfig: codebook_size >= 2, codebook_dim >= 1 and num_stages >= 1 are required")
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"VQConfig: decay must be in [0, 1), got {self.decay}")
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ValueError(f"VQConfig: quantizer_dropout must be in [0, 1], got {self.quantizer_dropout}")


@dataclass(frozen=True)
class NetConfig(ConfigMixin):
    """Convolutional encoder/decoder shape shared by the VQ-VAE and the Gaussian VAE.

    Attributes:
        dims: spatial dimensionality of the data: 1 (audio), 2 (image) or 3 (video).
        in_channels: channels of the media tensor (3 for RGB, 1 for mono audio).
        hidden: channels after the stem; doubled at each downsampling up to ``max_hidden``.
        max_hidden: channel cap.
        strides: one downsampling per entry, by that factor along every grid axis; the model stride is their product.
        num_res_blocks: residual blocks at the bottleneck of the encoder and of the decoder.
        decoder_level_blocks: residual blocks after each upsampling of the decoder (synthesis capacity at the
            finer scales, where detail is made; 0 = none). They start as the identity, so a model grown from
            weights without them (``--init-from``) starts out reconstructing exactly as before.
        encoder_level_blocks: residual blocks after each downsampling of the encoder (0 = none).
        level_channels: explicit channels per level (``len(strides) + 1`` entries, stem first); empty = ``hidden``
            doubled per level up to ``max_hidden``. Lets a 1-D model stay narrow at the high sample rates, where
            every channel costs the most.
        kernel_size: kernel of the stem and of the decoder's output convolution (odd).
        res_kernel: kernel of the first convolution of every residual block (odd).
        dilation_base: the ``j``-th level block of a level is dilated by ``dilation_base ** j`` (1 = no dilation;
            3 gives the 1, 3, 9 receptive-field growth of audio autoencoders).
        frame_wise: video (``dims`` 3) only: the encoder and decoder are 2-D networks run on every frame (temporal
            stride 1), so the latent grid keeps every frame and only the prior models time. Their weights are
            those of a 2-D model of the same shape, so an image model's transforms code video unchanged.
    """

    dims: int = 2
    in_channels: int = 3
    hidden: int = 64
    max_hidden: int = 128
    strides: tuple[int, ...] = (2, 2, 2)
    num_res_blocks: int = 2
    decoder_level_blocks: int = 0
    encoder_level_blocks: int = 0
    level_channels: tuple[int, ...] = ()
    kernel_size: int = 3
    res_kernel: int = 3
    dilation_base: int = 1
    frame_wise: bool = False

    def __post_init__(self) -> None:
        if self.frame_wise and self.dims != 3:
            raise ValueError("NetConfig: frame_wise is for video models (dims 3)")
        if min(self.num_res_blocks, self.decoder_level_blocks, self.encoder_level_blocks) < 0:
            raise ValueError("NetConfig: num_res_blocks, encoder_level_blocks and decoder_level_blocks must be >= 0")
        if self.dims not in (1, 2, 3):
            raise ValueError(f"NetConfig: dims must be 1, 2 or 3, got {self.dims}")
        if any(int(s) < 1 for s in self.strides) or self.hidden < 1 or self.in_channels < 1:
            raise ValueError("NetConfig: strides >= 1, hidden >= 1 and in_channels >= 1 are required")
        if self.level_channels and (len(self.level_channels) != len(self.strides) + 1
                                    or min(self.level_channels) < 1):
            raise ValueError(f"NetConfig: level_channels needs {len(self.strides) + 1} positive entries")
        if self.kernel_size % 2 == 0 or self.res_kernel % 2 == 0 or self.dilation_base < 1:
            raise ValueError("NetConfig: kernel_size and res_kernel must be odd, dilation_base >= 1")

    @property
    def total_stride(self) -> int:
        """Product of the strides: media sizes are padded to a multiple of it."""
        return int(math.prod(self.strides))

    @property
    def axis_strides(self) -> tuple[int, ...]:
        """The stride along each grid axis: ``total_stride`` on every axis, but 1 along time when ``frame_wise``."""
        if self.frame_wise:
            return (1, self.total_stride, self.total_stride)
        return (self.total_stride,) * self.dims

    @property
    def network_dims(self) -> int:
        """Dimensionality of the convolutions (2 for a frame-wise video model)."""
        return 2 if self.frame_wise else self.dims

    def channels(self, level: int) -> int:
        """Channels after ``level`` downsamplings."""
        if self.level_channels:
            return int(self.level_channels[level])
        return min(self.hidden * 2**level, self.max_hidden)


@dataclass(frozen=True)
class SynthConfig(ConfigMixin):
    """The source-filter (harmonic-plus-noise) front end of a 1-D speech model (``vqcodec.nn.speech``).

    With it, ``NetConfig.strides`` is ``(hop, down)``: one analysis/synthesis frame every ``hop`` samples and one
    latent vector every ``down`` frames; ``hidden``, ``num_res_blocks``, ``res_kernel`` and ``dilation_base`` shape
    the frame-rate networks.

    Attributes:
        n_mels, n_fft: the encoder's log-mel analysis.
        bins: mel-spaced bands of the decoder's harmonic and noise filters.
        synth_fft: frame length of the synthesizer's STFT filtering.
        f0_min, f0_max: pitch range (Hz) of the tracker and of the decoder.
        voicing_sharpness, envelope_expansion, expansion_frames: the decoder's postfilter, applied when decoding
            (not in training; see :func:`vqcodec.nn.speech.postfilter`): the voicing logit is multiplied by
            ``voicing_sharpness`` and each band's log amplitude moves ``envelope_expansion`` times its distance
            from its moving average over ``expansion_frames`` (odd) frames. 1, 0 and any width leave it off.
    """

    n_mels: int = 80
    n_fft: int = 1024
    bins: int = 64
    synth_fft: int = 512
    f0_min: float = 50.0
    f0_max: float = 500.0
    voicing_sharpness: float = 1.0
    envelope_expansion: float = 0.0
    expansion_frames: int = 31

    def __post_init__(self) -> None:
        if min(self.n_mels, self.bins) < 1 or self.synth_fft < 16 or not 0 < self.f0_min < self.f0_max:
            raise ValueError("SynthConfig: n_mels, bins >= 1, synth_fft >= 16 and 0 < f0_min < f0_max are required")
        if not (0 < self.voicing_sharpness <= 16 and 0 <= self.envelope_expansion <= 2
                and 1 <= self.expansion_frames <= 201 and self.expansion_frames % 2):
            raise ValueError("SynthConfig: 0 < voicing_sharpness <= 16, 0 <= envelope_expansion <= 2 and an odd "
                             "expansion_frames in 1..201 are required")


@dataclass(frozen=True)
class VQVAEConfig(ConfigMixin):
    """A VQ-VAE: ``net`` encoder/decoder around a (residual) vector quantizer ``vq``.

    Attributes:
        recon_loss: the reconstruction term of its training loss (``l2`` or ``l1``).
        sample_rate: audio models: the sample rate (Hz) of the waveform they code; 0 for images and video.
        synth: a source-filter speech front end instead of the convolutional encoder/decoder (1-D only).
    """

    net: NetConfig = field(default_factory=NetConfig)
    vq: VQConfig = field(default_factory=VQConfig)
    recon_loss: Literal["l2", "l1"] = "l2"
    sample_rate: int = 0
    synth: SynthConfig | None = None

    def __post_init__(self) -> None:
        if self.sample_rate < 0 or (self.sample_rate and self.net.dims != 1):
            raise ValueError("VQVAEConfig: sample_rate is for 1-D (audio) models and must be >= 0")
        if self.synth is not None and (self.net.dims != 1 or len(self.net.strides) != 2 or self.net.in_channels != 1):
            raise ValueError("VQVAEConfig: a synth front end needs dims 1, in_channels 1 and strides (hop, down)")


@dataclass(frozen=True)
class GaussianVAEConfig(ConfigMixin):
    """A Gaussian VAE: the encoder gives ``(mean, log_var)`` of ``latent_dim`` channels, prior N(0, I).

    Attributes:
        recon_loss: ``"bce"`` (summed Bernoulli cross-entropy, data in [0, 1]) or ``"l2"`` (``0.5 * ||x_hat - x||^2``).
        kl_weight: multiplier of the KL term (1.0 = the ELBO).
    """

    net: NetConfig = field(default_factory=NetConfig)
    latent_dim: int = 16
    recon_loss: Literal["bce", "l2"] = "l2"
    kl_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.recon_loss not in ("bce", "l2"):
            raise ValueError(f"GaussianVAEConfig: recon_loss must be 'bce' or 'l2', got {self.recon_loss!r}")


@dataclass(frozen=True)
class PriorConfig(ConfigMixin):
    """An autoregressive (gated PixelCNN) or factorized (unigram) prior over index grids ``(B, *grid, S)``.

    Attributes:
        kind: ``"pixelcnn"`` (gated PixelCNN, van den Oord et al. 2016), ``"unigram"`` (one histogram per stage) or
            ``"codeword"`` (1-D and 3-D: a linear prediction of each stage's residual scored against the codewords,
            ``vqcodec.priors.codeword`` and ``codeword_video``; its ``channels`` is the codeword dimension,
            ``kernel_size`` the context window).
        dims: grid dimensionality: 1 (audio, causal over time), 2 (images, raster order), 3 (video, frame-row-major).
        codebook_size: K, the number of index values per stage.
        num_stages: S, residual VQ stages per position; stage ``s`` is conditioned on stages ``< s`` there.
        channels: width C of every stack.
        num_layers: gated layers L per stack.
        kernel_size: odd kernel size k of the masked convolutions.
        tile_shape: coding tile (one entry per grid axis); tiles are coded independently and decoded as one batch.
        precision: bits of the integer frequency tables (each table sums to ``2**precision``).
        context_stages: codeword prior only: stages ``>= context_stages`` are coded with their stage's histogram
            alone (fast; their context saves the least); 0 = every stage uses its context.
    """

    kind: Literal["pixelcnn", "unigram", "codeword"] = "pixelcnn"
    dims: int = 2
    codebook_size: int = 512
    num_stages: int = 1
    channels: int = 32
    num_layers: int = 4
    kernel_size: int = 3
    tile_shape: tuple[int, ...] = (16, 16)
    precision: int = 16
    context_stages: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.context_stages <= self.num_stages:
            raise ValueError("PriorConfig: 0 <= context_stages <= num_stages is required")
        if self.kind not in ("pixelcnn", "unigram", "codeword"):
            raise ValueError(f"PriorConfig: kind must be 'pixelcnn', 'unigram' or 'codeword', got {self.kind!r}")
        if self.kind == "codeword" and self.dims == 2:
            raise ValueError("PriorConfig: the codeword prior models 1-D (audio) and 3-D (video) grids, not 2-D")
        if self.dims not in (1, 2, 3):
            raise ValueError(f"PriorConfig: dims must be 1, 2 or 3, got {self.dims}")
        if not 2 <= self.codebook_size <= 65536 or not 1 <= self.num_stages <= 64:
            raise ValueError("PriorConfig: 2 <= codebook_size <= 65536 and 1 <= num_stages <= 64 are required")
        if self.channels < 1 or self.num_layers < 1 or self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError("PriorConfig: channels >= 1, num_layers >= 1 and an odd kernel_size are required")
        if len(self.tile_shape) != self.dims or any(int(t) < 1 for t in self.tile_shape):
            raise ValueError(f"PriorConfig: tile_shape needs {self.dims} positive entries, got {self.tile_shape}")
        if not 12 <= self.precision <= 24 or self.codebook_size * 4 > 2**self.precision:
            raise ValueError("PriorConfig: 12 <= precision <= 24 and codebook_size * 4 <= 2**precision are required")


@dataclass(frozen=True)
class VQCodecConfig(ConfigMixin):
    """The ``vq`` codec kind: a VQ-VAE (``model``) and the prior over its indices (``prior``; None until stage 2 is
    trained, and then the model cannot code files yet). This is the ``config`` stored in its weights file."""

    model: VQVAEConfig = field(default_factory=VQVAEConfig)
    prior: PriorConfig | None = None

    def __post_init__(self) -> None:
        p, m = self.prior, self.model
        if p is not None and (p.dims, p.codebook_size, p.num_stages) != (
                m.net.dims, m.vq.codebook_size, m.vq.num_stages):
            raise ValueError("VQCodecConfig: the prior does not match the VQ-VAE (dims, codebook size, stages)")

"""The ``gauss`` codec kind: an image VAE in rate-distortion form with a mean-scale hyperprior.

::

    x --g_a--> y --x gain_q--> y_q --h_a--> z --round--> z_hat (factorized density, coded first)
    z_hat --h_s (exact integer form when coding)--> mean mu, log-scale --level of a fixed scale table
    s = round(y_q - mu)  (discretized Gaussian of that level, coded level by level);  y_hat = s + mu
    x_hat = g_s(y_hat / gain_q)

This is the seed's VAE made into a codec (Ballé et al., ICLR 2018; Minnen et al., NeurIPS 2018). The negative
ELBO of a VAE whose posterior q(y|x) is uniform of width one around the encoder's output (additive uniform noise in
training) is ``E[-log p(x|y)] + KL(q || p)``, and with a unit-width posterior the KL term is exactly the expected
code length ``E[-log p(y_tilde)]``: the rate. The prior ``p(y)`` is not N(0, I) but the learned hyperprior, a
Gaussian per element whose mean and scale come from the hyper-latent ``z``, itself under a learned factorized
density; the distortion term is ``lambda * 255^2 * MSE`` for a Gaussian likelihood. The textbook ``GaussianVAE``
(closed-form KL to N(0, I), reparameterisation) stays in ``gaussian_vae.py``.

Variable rate: one model, ``Q`` gain vectors (Cui et al., "Asymmetric gained deep image compression", CVPR 2021):
quality ``q`` scales ``y`` by ``gain_q`` before quantization and by its inverse after, and was trained at
``lambda_q``.
"""

from __future__ import annotations

import math
import zlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from vqcodec.bitstream.errors import CorruptStreamError, DesyncError, ModelMismatchError
from vqcodec.bitstream.fields import MAX_LATENT_INDICES, KindFields, check, register_fields
from vqcodec.config import ConfigMixin, NetConfig
from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.coder import decode_session, encode_session
from vqcodec.entropy.gaussian import FactorizedDensity, LevelSession, gaussian_likelihood, gaussian_tables
from vqcodec.entropy.integer import IntLayer, to_integer
from vqcodec.entropy.session import TableSession
from vqcodec.kinds import KindSpec, register_kind
from vqcodec.media.pixels import as_float, to_pixels
from vqcodec.media.tiler import Tiling, tiled_apply
from vqcodec.models.base import CodecModel, Encoded, QualityLevel
from vqcodec.nn import Decoder, Encoder
from vqcodec.threads import torch_threads


@dataclass(frozen=True)
class GaussConfig(ConfigMixin):
    """A mean-scale hyperprior image codec with gain units.

    Attributes:
        net: the analysis/synthesis transforms ``g_a``/``g_s`` (2-D; their stride times 4 is the model stride).
        latent, hyper: channels of ``y`` and of ``z``.
        lambdas: the rate-distortion weight of each quality level (``lambda * 255^2 * MSE + bpp``), lowest first.
        log_scale_min, log_scale_step: the scale table in integer log units (``2**-10`` nats): level ``i`` has
            ``log sigma = (log_scale_min + i * log_scale_step) / 1024``.
        levels: scale levels; ``half_width``: ``y`` symbols are clamped to ``[-half_width, half_width]``.
        z_radius: ``z`` symbols lie in ``[-z_radius, z_radius]``.
        precision: bits of the coder's tables.
    """

    net: NetConfig = field(default_factory=lambda: NetConfig(dims=2, hidden=64, max_hidden=128,
                                                             strides=(2, 2, 2, 2), num_res_blocks=1))
    latent: int = 128
    hyper: int = 96
    lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483)
    log_scale_min: int = -2260
    log_scale_step: int = 128
    levels: int = 64
    half_width: int = 127
    z_radius: int = 32
    precision: int = 16

    def __post_init__(self) -> None:
        if self.net.dims != 2 or self.net.in_channels != 3 or not self.lambdas or min(self.lambdas) <= 0:
            raise ValueError("GaussConfig: an RGB 2-D net and positive lambdas are required")
        if self.levels < 2 or self.half_width < 1 or self.z_radius < 1 or not 12 <= self.precision <= 24:
            raise ValueError("GaussConfig: levels >= 2, half_width and z_radius >= 1, precision 12..24")
        if (2 * self.half_width + 1) * 4 > 1 << self.precision:
            raise ValueError("GaussConfig: precision too low for the symbol range")


@register_fields("gauss")
@dataclass(frozen=True)
class GaussFields(KindFields):
    """The gauss kind section: the latent and hyper-latent grids and the tables they were coded with.

    Attributes:
        latent_grid, hyper_grid: ``(h, w)`` of ``y`` and of ``z``.
        latent_channels, hyper_channels: their channels.
        gain: the quality level (1..Q) whose gain scaled ``y``.
        levels, half_width, z_radius: the scale table and the symbol ranges.
        symbol_crc: CRC32 of the coded ``z`` and ``y`` symbols (a desync fails it).
    """

    latent_grid: tuple[int, ...]
    hyper_grid: tuple[int, ...]
    latent_channels: int
    hyper_channels: int
    gain: int
    levels: int
    half_width: int
    z_radius: int
    symbol_crc: int = 0

    LIMITS: ClassVar[dict[str, int]] = {"latent_grid": 1 << 16, "hyper_grid": 1 << 16, "latent_channels": 4096,
                                        "hyper_channels": 4096, "gain": 255, "levels": 4096, "half_width": 1 << 15,
                                        "z_radius": 1 << 15}

    def validate(self) -> None:
        check(len(self.latent_grid) == 2 and len(self.hyper_grid) == 2, "gauss grids are 2-D")
        check(all(n >= 1 for n in (*self.latent_grid, *self.hyper_grid)), "gauss grids")
        total = math.prod(self.latent_grid) * self.latent_channels + math.prod(self.hyper_grid) * self.hyper_channels
        check(total <= MAX_LATENT_INDICES and self.gain >= 1, "gauss latents too large or gain 0")


@dataclass
class GaussOutput:
    """Training pass: reconstruction, rate (bits of ``y`` and ``z``, bpp), MSE and the R + lambda D loss."""

    x_hat: Tensor
    bits: Tensor
    bpp: Tensor
    mse: Tensor
    loss: Tensor


def _hyper_analysis(m: int, n: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(m, n, 3, 1, 1), nn.ReLU(), nn.Conv2d(n, n, 5, 2, 2), nn.ReLU(),
                         nn.Conv2d(n, n, 5, 2, 2))


def _hyper_synthesis(m: int, n: int) -> nn.Sequential:
    mid = n * 3 // 2
    return nn.Sequential(nn.ConvTranspose2d(n, n, 5, 2, 2, 1), nn.ReLU(), nn.ConvTranspose2d(n, mid, 5, 2, 2, 1),
                         nn.ReLU(), nn.Conv2d(mid, 2 * m, 3, 1, 1))


class GaussCodec(CodecModel):
    """``forward`` trains; ``compress``/``decompress`` code through the exact integer hyper-decoder."""

    kind = "gauss"
    level_tables: Tensor

    def __init__(self, config: GaussConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.g_a, self.g_s = Encoder(c.net, c.latent), Decoder(c.net, c.latent)
        self.h_a, self.h_s = _hyper_analysis(c.latent, c.hyper), _hyper_synthesis(c.latent, c.hyper)
        # high-rate theory: the MSE-optimal quantizer step at slope lambda scales as lambda**-1/2, so the gains start
        # as sqrt(lambda_q / geometric mean) and every quality codes at its own rate from the first step
        lam = torch.tensor(c.lambdas, dtype=torch.float64)
        start = (0.5 * (lam.log() - lam.log().mean())).float()[:, None].expand(-1, c.latent)
        self.log_gain = nn.Parameter(start.clone())
        self.log_inv_gain = nn.Parameter(-start.clone())
        self.density = FactorizedDensity(c.hyper, c.z_radius)
        sigmas = [math.exp((c.log_scale_min + i * c.log_scale_step) / 1024) for i in range(c.levels)]
        # computed once and stored with the weights: decoders read these integers, never recompute them
        self.register_buffer("level_tables", torch.from_numpy(gaussian_tables(sigmas, c.half_width, c.precision)))

    @property
    def dims(self) -> int:
        return 2

    @property
    def channels(self) -> int:
        return 3

    @property
    def strides(self) -> tuple[int, ...]:
        s = self.config.net.total_stride * 4
        return (s, s)

    @property
    def qualities(self) -> tuple[QualityLevel, ...]:
        return tuple(QualityLevel(q + 1, f"gain {q + 1} of {len(self.config.lambdas)} (trained at lambda {lam})")
                     for q, lam in enumerate(self.config.lambdas))

    def _gain(self, q: int) -> tuple[Tensor, Tensor]:
        return self.log_gain[q].exp()[None, :, None, None], self.log_inv_gain[q].exp()[None, :, None, None]

    def forward(self, x: Tensor, quality: int | None = None) -> GaussOutput:
        """Training pass at ``quality`` (1..Q; random when None): noisy ``y`` for the rate, rounded (straight-through)
        ``y`` and ``z`` for the reconstruction and the hyper-decoder."""
        q = int(torch.randint(0, len(self.config.lambdas), ())) if quality is None else quality - 1
        gain, inv = self._gain(q)
        y = self.g_a(x) * gain
        z = self.h_a(y)
        radius = self.config.z_radius
        z_hat = z + (torch.round(z).clamp(-radius, radius) - z).detach()
        mean, log_scale = self.h_s(z_hat).chunk(2, dim=1)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else torch.round(y - mean) + mean
        bits = -torch.log2(gaussian_likelihood(noisy, mean, log_scale.exp())).sum() + self.density.bits(z_hat).sum()
        y_hat = y + (torch.round(y - mean) + mean - y).detach()
        x_hat = self.g_s(y_hat * inv)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = bits / pixels
        mse = torch.mean((x_hat - x) ** 2)
        return GaussOutput(x_hat, bits, bpp, mse, self.config.lambdas[q] * 255**2 * mse + bpp)

    # ---- coding --------------------------------------------------------------------------------------------------

    def _integer_hyper(self) -> IntLayer:
        net = to_integer(self.h_s)  # cached until h_s's weights change
        assert isinstance(net, IntLayer)
        return net

    def _params(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean (float, exact multiples of 2**-10), level index (int64))`` from integer ``z_hat`` (CPU)."""
        c = self.config
        with torch.no_grad(), torch_threads(1):
            out = self._integer_hyper()(z_hat.double() * (1 << fx.ACT_BITS))
        mean_int, log_scale_int = out.chunk(2, dim=1)
        level = torch.div(log_scale_int.long() - c.log_scale_min + c.log_scale_step // 2, c.log_scale_step,
                          rounding_mode="floor").clamp_(0, c.levels - 1)
        return mean_int / (1 << fx.ACT_BITS), level

    def _sessions(self, z_shape: tuple[int, ...], z_symbols: Tensor | None, y_of: Callable[[Tensor], Tensor] | None,
                  found: dict[str, Tensor]) -> Iterator[TableSession]:
        """The z session, then the y session whose tables depend on the decoded (or encoded) z."""
        c = self.config
        channel = torch.arange(z_shape[1]).view(1, -1, 1, 1).expand(z_shape).reshape(-1)
        z_session = LevelSession(self.density.tables(c.precision), channel, z_symbols, c.precision)
        yield z_session
        z_hat = (z_session.result() if z_symbols is None else z_symbols).view(z_shape).float() - c.z_radius
        mean, level = self._params(z_hat)
        found.update(z_hat=z_hat, mean=mean)
        y_symbols = None if y_of is None else y_of(mean)
        if y_symbols is not None:
            found["y_symbols"] = y_symbols
        yield LevelSession(self.level_tables.numpy(), level.reshape(-1), y_symbols, c.precision)

    def compress(self, x: Tensor, quality: int, tiling: Tiling | None = None, group: int = 0) -> Encoded:
        self.check_quality(quality)
        c = self.config
        gain, _ = self._gain(quality - 1)
        g_a, _ = self.networks(x.device)
        with torch.no_grad():
            y = tiled_apply(lambda t: g_a(as_float(t)), x, tiling or _whole(x), down=self.config.net.total_stride)
            y = y.cpu() * gain.detach()
            z = self.h_a(y)
        z_symbols = (torch.round(z).clamp(-c.z_radius, c.z_radius) + c.z_radius).long().reshape(-1)

        def y_of(mean: Tensor) -> Tensor:
            s = torch.round(y - mean).clamp_(-c.half_width, c.half_width)
            return (s + c.half_width).long().reshape(-1)

        found: dict[str, Tensor] = {}
        sessions = self._sessions(tuple(z.shape), z_symbols, y_of, found)
        enc = encode_session(sessions, z_symbols.numel() + y.numel())
        crc = _crc(z_symbols, found["y_symbols"])
        fields = GaussFields(tuple(y.shape[2:]), tuple(z.shape[2:]), c.latent, c.hyper, quality, c.levels,
                             c.half_width, c.z_radius, crc)
        return Encoded(fields, (enc.payload,), enc.estimated_bits, c.precision)

    def check(self, fields: KindFields, precision: int, grid: tuple[int, ...], quality: int, group: int) -> None:
        c = self.config
        if not isinstance(fields, GaussFields):
            raise ModelMismatchError("the file's kind section is not a gauss section")
        self.check_quality(quality)
        ours = (c.latent, c.hyper, c.levels, c.half_width, c.z_radius, c.precision)
        theirs = (fields.latent_channels, fields.hyper_channels, fields.levels, fields.half_width, fields.z_radius,
                  precision)
        if ours != theirs:
            raise ModelMismatchError(f"file was coded with tables {theirs}, the model has {ours}")
        if fields.gain != quality:
            raise CorruptStreamError(f"invalid header: gain {fields.gain} at quality {quality}")
        stride = c.net.total_stride
        if fields.latent_grid != tuple(n // stride for n in grid) or fields.hyper_grid != tuple(
                n // (stride * 4) for n in grid):
            raise CorruptStreamError("invalid header: latent grids do not match the image size and padding")

    def decompress(self, enc: Encoded, device: torch.device | str = "cpu", tiling: Tiling | None = None,
                   pixels: bool = False) -> Tensor:
        f = enc.fields
        if not isinstance(f, GaussFields) or len(enc.sections) != 1:
            raise CorruptStreamError("a gauss file holds one payload section and a gauss kind section")
        c = self.config
        z_shape, y_shape = (1, c.hyper, *f.hyper_grid), (1, c.latent, *f.latent_grid)
        found: dict[str, Tensor] = {}
        z_part, y_part = decode_session(enc.sections[0], self._sessions(z_shape, None, None, found))
        if _crc(z_part, y_part) != f.symbol_crc:
            raise DesyncError("decoded latents fail the symbol checksum (corrupt payload or encoder/decoder desync)")
        y_hat = (y_part.view(y_shape).float() - c.half_width) + found["mean"].float()
        return self.reconstruct(y_hat, f.gain, device, tiling, pixels)

    def networks(self, device: torch.device | str) -> tuple[nn.Module, nn.Module]:
        """``(g_a, g_s)`` on ``device`` (a copy made once per device; the hyper networks code on the CPU)."""
        dev = torch.device(device)
        if dev.type == "cpu":
            return self.g_a, self.g_s
        copies: dict[str, tuple[nn.Module, nn.Module]] = self.__dict__.setdefault("_device_copies", {})
        if str(dev) not in copies:
            copies[str(dev)] = (copy.deepcopy(self.g_a).to(dev).eval(), copy.deepcopy(self.g_s).to(dev).eval())
        return copies[str(dev)]

    def reconstruct(self, y_hat: Tensor, quality: int, device: torch.device | str = "cpu",
                    tiling: Tiling | None = None, pixels: bool = False) -> Tensor:
        """``x_hat (1, 3, H, W)`` of the coded latent ``y_hat`` at ``quality`` (uint8 with ``pixels``); tiled
        synthesis."""
        _, inv = self._gain(quality - 1)
        _, g_s = self.networks(device)
        stride = self.config.net.total_stride
        with torch.no_grad():
            z = (y_hat * inv.detach()).to(device)
            plan = (tiling or _whole(z, stride)).scaled((stride, stride))
            return tiled_apply((lambda t: to_pixels(g_s(t))) if pixels else g_s, z, plan, up=stride)


def _crc(z: Tensor, y: Tensor) -> int:
    data = np.concatenate([z.numpy(), y.numpy()]).astype("<i4").tobytes()
    return zlib.crc32(data) & 0xFFFFFFFF


def _whole(x: Tensor, scale: int = 1) -> Tiling:
    return Tiling(tuple(int(n) * scale for n in x.shape[2:]), (0,) * (x.dim() - 2))


def _build(config: dict, tensors: dict) -> GaussCodec:  # type: ignore[type-arg]
    from vqcodec.weights_io import load_state

    model = GaussCodec(GaussConfig.from_dict(config["model"]))
    load_state(model, tensors["model"], "gauss model")
    return model


register_kind(KindSpec(
    name="gauss", config=GaussConfig, build=_build, task="vqcodec.train.tasks_gauss", bench="gauss", codec=True,
    summary="mean-scale hyperprior image VAE (continuous latents, discretized Gaussian coding); quality = gain",
))

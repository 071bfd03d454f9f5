"""The ``vq`` codec kind: a VQ-VAE over 1-D, 2-D or 3-D grids and a prior over its indices, composed into real bits.

::

    x (1, C, *grid) --encoder (tiled)--> z_e --RVQ--> indices (1, *grid/s, S) --first q stages--> prior + range coder
        --> Encoded (VQ section: latent grid, tile, stages, codebook size, symbol CRC, tile group; one payload)
    Encoded --range decoder + the same prior sessions--> indices (1, *grid/s, q) --RVQ decode--> z_q
        --decoder (tiled)--> x_hat

The quality level ``q`` is the number of residual stages coded (1..S). The prior and the range coder run on the
CPU in exact integer arithmetic; only the encoder/decoder convolutions may run on another device.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch import Tensor

from vqcodec import progress
from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.fields import KindFields, VQFields
from vqcodec.config import VQCodecConfig
from vqcodec.entropy.coder import decode_indices, encode_chosen, encode_indices, slabs
from vqcodec.entropy.session import LogitSession
from vqcodec.kinds import KindSpec, register_kind
from vqcodec.media.pixels import as_float, to_pixels
from vqcodec.memory import release_freed_memory
from vqcodec.media.tiler import Tiling, tiled_apply, tiled_pieces
from vqcodec.models.base import CodecModel, Encoded, QualityLevel
from vqcodec.models.vqvae import VQVAE, VQVAEOutput
from vqcodec.nn.speech import SYNTH_CHUNK_FRAMES, SpeechDecoder
from vqcodec.priors import CodewordBase, CodewordVideoPrior, build_prior, rd_choice
from vqcodec.priors.base import IndexPrior
from vqcodec.priors.rd_choice import RD_SAMPLE, RD_STAGE_POWER, RDChoice, rd_lambdas
from vqcodec.priors.tiling import clamp_tile
from vqcodec.threads import torch_threads


class VQCodec(CodecModel):
    """``compress``/``decompress`` for a VQ-VAE (``vqvae``) and a prior over its indices (``prior``)."""

    kind = "vq"

    def __init__(self, config: VQCodecConfig) -> None:
        super().__init__()
        self.config = config
        self.vqvae = VQVAE(config.model)
        self.prior: IndexPrior | None = build_prior(config.prior) if config.prior is not None else None

    @property
    def dims(self) -> int:
        return self.config.model.net.dims

    @property
    def channels(self) -> int:
        return self.config.model.net.in_channels

    @property
    def strides(self) -> tuple[int, ...]:
        return self.vqvae.axis_strides

    @property
    def sample_rate(self) -> int:
        return self.config.model.sample_rate

    @property
    def num_stages(self) -> int:
        return self.config.model.vq.num_stages

    @property
    def qualities(self) -> tuple[QualityLevel, ...]:
        return tuple(QualityLevel(q, f"{q} residual stage{'s' if q > 1 else ''} coded")
                     for q in range(1, self.num_stages + 1))

    @property
    def can_code(self) -> bool:
        return self.prior is not None

    def _prior(self) -> IndexPrior:
        if self.prior is None:
            raise ModelMismatchError("this VQ model has no prior yet, so it cannot code files: train one "
                                     "(vqcodec train --kind prior --base-model MODEL) and export it")
        return self.prior

    def forward(self, x: Tensor) -> VQVAEOutput:
        """Training pass of the VQ-VAE on ``x (B, C, *grid)`` (reconstruction, VQ losses, uniform-rate bits)."""
        return self.vqvae(x)

    def networks(self, device: torch.device | str) -> VQVAE:
        """The VQ-VAE on ``device``: this model's own on the CPU, a copy made once per device elsewhere (the module
        itself is never moved: built-in models are shared, and the prior always codes on the CPU)."""
        dev = torch.device(device)
        if dev.type == "cpu":
            return self.vqvae
        copies: dict[str, VQVAE] = self.__dict__.setdefault("_device_copies", {})
        if str(dev) not in copies:
            copies[str(dev)] = copy.deepcopy(self.vqvae).to(dev).eval()
        return copies[str(dev)]

    @torch.no_grad()
    def encode_indices(self, x: Tensor, stages: int, tiling: Tiling | None = None) -> Tensor:
        """Indices ``(1, *grid/s, stages)`` (CPU) of ``x (1, C, *grid)`` (a multiple of the stride; float, or uint8
        pixels), with the networks on ``x``'s device: encoder and quantizer tile by tile (a tile's indices are those
        of its core, so the latent of the whole grid never exists at once)."""
        self.check_quality(stages)
        vqvae = self.networks(x.device)

        def tile_indices(tile: Tensor) -> Tensor:  # (1, C, *tile) -> (1, stages, *tile/s)
            return vqvae.quantizer.encode(vqvae.encoder(as_float(tile)), stages=stages).movedim(-1, 1).cpu()

        indices = tiled_apply(tile_indices, x, self._frame_plan(tiling or _whole(x)), down=self.strides,
                              task="encoder")
        return indices.movedim(1, -1).contiguous()

    @torch.no_grad()
    def decode_indices(self, indices: Tensor, device: torch.device | str = "cpu",
                       tiling: Tiling | None = None, pixels: bool = False) -> Tensor:
        """``x_hat (1, C, *grid)`` from indices ``(1, *grid/s, q)`` (any integer dtype), the networks on ``device``:
        codewords and decoder tile by tile; with ``pixels`` each tile becomes uint8 pixels on the CPU as it is made
        (the speech synthesizer runs on the CPU: its output is the same on every device)."""
        vqvae = self.networks(device)
        stages = indices.shape[-1]
        grid = indices.movedim(-1, 1)  # (1, q, *latent grid): the tiler's channel layout
        plan = self._frame_plan(tiling or _whole(grid, self.strides)).scaled(self.strides)
        decoder = vqvae.decoder
        if isinstance(decoder, SpeechDecoder):  # frame controls tile by tile into one phase-continuous synthesis
            synth = self.vqvae.decoder
            assert isinstance(synth, SpeechDecoder)
            z_q = vqvae.quantizer.decode(indices.to(device).long(), stages=stages)
            stream = synth.stream(z_q.shape[0], SYNTH_CHUNK_FRAMES)
            pieces = tiled_pieces(decoder.decode_controls, z_q, plan, up=self.config.model.net.strides[1])
            wave = torch.cat([*(stream.push(c.cpu()) for c in pieces), stream.finish()], dim=-1)
            return wave[..., : z_q.shape[-1] * vqvae.stride]

        def tile_decode(tile: Tensor) -> Tensor:  # (1, q, *tile) -> (1, C, *tile*s)
            x_hat = decoder(vqvae.quantizer.decode(tile.movedim(1, -1).to(device).long(), stages=stages))
            return to_pixels(x_hat) if pixels else x_hat

        return tiled_apply(tile_decode, grid, plan, up=self.strides, task="decoder")

    def _frame_plan(self, tiling: Tiling) -> Tiling:
        """``tiling`` without context along time for a frame-wise video model (its frames do not see each other)."""
        if not self.config.model.net.frame_wise:
            return tiling
        return Tiling(tiling.core, (0, *tiling.margin[1:]))

    def compress(self, x: Tensor, quality: int, tiling: Tiling | None = None, group: int = 0,
                 rd_weight: float | None = None) -> Encoded:
        """Entropy-code ``x (1, C, *grid)`` at ``quality`` stages; ``group``: prior tiles along the first latent axis
        per coding session (0 = one session for the whole grid). A frame-wise video model with the video codeword
        prior chooses its indices for rate and distortion together (``rd_weight`` > 0; None: ``rd_choice.RD_WEIGHT``
        as it is at the call, :mod:`vqcodec.priors.rd_choice`); every other model codes the greedy quantizer's
        indices."""
        prior = self._prior()
        if rd_weight is None:
            rd_weight = rd_choice.RD_WEIGHT
        if not 0 <= rd_weight < float("inf"):
            raise ValueError(f"the rate-distortion weight must be finite and >= 0 (0: greedy indices), not {rd_weight}")
        if isinstance(prior, CodewordVideoPrior) and self.config.model.net.frame_wise and rd_weight > 0:
            return self._compress_chosen(x, quality, tiling, group, rd_weight)
        indices = self.encode_indices(x, quality, tiling)
        enc = encode_indices(indices, prior, prior.config.tile_shape, group=group)
        fields = VQFields(tuple(indices.shape[1:-1]), enc.tile_shape, quality, prior.config.codebook_size,
                          enc.checksum, 1, group)
        return Encoded(fields, (enc.payload,), enc.estimated_bits, prior.config.precision)

    @torch.no_grad()
    def encode_latents(self, x: Tensor, tiling: Tiling | None = None) -> Tensor:
        """Encoder latents ``(1, *grid/s, D)`` (CPU, float) of ``x (1, C, *grid)``, tile by tile: a view of the
        channels-first output (not copied: a 720p span of 32 frames is 118 MB)."""
        vqvae = self.networks(x.device)
        z = tiled_apply(lambda tile: vqvae.encoder(as_float(tile)).cpu(), x,
                        self._frame_plan(tiling or _whole(x)), down=self.strides)
        return z.movedim(1, -1)

    def _compress_chosen(self, x: Tensor, quality: int, tiling: Tiling | None, group: int, weight: float) -> Encoded:
        """``compress`` with the rate-distortion choice: span by span of frames (a frame-wise network: a span's
        latents are those of its frames alone), the latents, the greedy quantizer's error at ``quality`` (which
        sets the lambdas), then a session that chooses every index from the tables it codes with."""
        prior = self._prior()
        self.check_quality(quality)
        if self.strides[0] != 1:
            raise ValueError("the rate-distortion choice codes frame-wise models (time stride 1)")
        grid = tuple(n // s for n, s in zip(x.shape[2:], self.strides))
        tile = clamp_tile(grid, tuple(prior.config.tile_shape))
        spans = slabs(grid[0], tile[0], group)

        threads = torch.get_num_threads()  # the coder runs the generator on its own threads: the networks get ours

        def sessions() -> Iterator[LogitSession]:
            for i, (lo, hi) in enumerate(spans):
                with torch_threads(threads):
                    z = self.encode_latents(x[:, :, lo:hi], tiling)  # (1, T', h, w, D); the time stride is 1
                    session = self.rd_session(z, quality, weight)
                progress.report("encoder", (i + 0.5) / len(spans))  # one task: networks and coding interleave
                yield session
                del session, z  # before the next span's latents: one span in memory at a time
                progress.report("encoder", (i + 1) / len(spans))

        enc = encode_chosen(sessions(), (1, *grid, quality), tile)
        fields = VQFields(grid, tile, quality, prior.config.codebook_size, enc.checksum, 1, group)
        return Encoded(fields, (enc.payload,), enc.estimated_bits, prior.config.precision)

    def rd_session(self, z: Tensor, quality: int, weight: float, power: float = RD_STAGE_POWER) -> LogitSession:
        """The encoder session of one span of latents ``z (1, T, h, w, D)`` that chooses its ``quality`` stages of
        indices (:mod:`vqcodec.priors.rd_choice`; lambdas from the greedy quantizer's errors on a sample of ``z``).
        The coder walks it, or a caller does (tables, targets, push per step) to get the indices alone."""
        prior = self._prior()
        if not isinstance(prior, CodewordVideoPrior):
            raise ValueError("only the video codeword prior lets the encoder choose its indices")
        core = self.vqvae.quantizer.core
        codebooks = core.codebooks()
        # the greedy error is a mean: every RD_SAMPLE-th vector in (B, T, h, w) order will do, gathered from the view
        every = torch.arange(0, z[..., 0].numel(), RD_SAMPLE)
        error = z[tuple(torch.unravel_index(every, z.shape[:-1]))]  # (N / RD_SAMPLE, D), a copy of the sample only
        errors: list[float] = []
        for s, idx in enumerate(core.encode(error, stages=quality).unbind(1)):  # indices first, then error in place
            error -= codebooks[s][idx]
            errors.append(float(error.double().pow(2).sum(1).mean()))
        shape = (*z.shape[:-1], quality)
        return prior.open_session(shape, choice=RDChoice(z, rd_lambdas(errors, z.shape[-1], weight, power)))

    def check(self, fields: KindFields, precision: int, grid: tuple[int, ...], quality: int, group: int) -> None:
        prior = self._prior()
        if not isinstance(fields, VQFields):
            raise ModelMismatchError("the file's kind section is not a VQ section")
        if not 1 <= fields.num_stages <= self.num_stages:
            raise ModelMismatchError(f"file codes {fields.num_stages} residual stages; the model has {self.num_stages}")
        pc = prior.config
        if (fields.codebook_size, precision) != (pc.codebook_size, pc.precision):
            raise ModelMismatchError(f"file says codebook size {fields.codebook_size} and {precision}-bit tables; the "
                                     f"model has {pc.codebook_size} and {pc.precision}-bit")
        expected = tuple(n // s for n, s in zip(grid, self.strides))
        if fields.latent_grid != expected or fields.batch != 1:
            raise CorruptStreamError("invalid header: latent grid does not match the media size and padding")
        tile = tuple(min(t, g) for t, g in zip(pc.tile_shape, expected))
        if fields.tile_shape != tile:
            raise CorruptStreamError(f"invalid header: coding tile {fields.tile_shape}, the model codes {tile}")
        if (fields.num_stages, fields.tile_group) != (quality, group):  # the one layout an encoder makes
            raise CorruptStreamError(f"invalid header: {fields.num_stages} stages in tile groups of "
                                     f"{fields.tile_group} at quality {quality}; this media codes groups of {group}")

    def decompress(self, enc: Encoded, device: torch.device | str = "cpu", tiling: Tiling | None = None,
                   pixels: bool = False) -> Tensor:
        f = enc.fields
        if not isinstance(f, VQFields):
            raise ModelMismatchError("the file's kind section is not a VQ section")
        if len(enc.sections) != 1:
            raise CorruptStreamError(f"expected 1 payload section, found {len(enc.sections)}")
        indices = decode_indices(enc.sections[0], self._prior(), f.indices_shape, f.tile_shape,
                                 checksum=f.symbol_crc, group=f.tile_group)
        indices = indices.to(_index_dtype(f.codebook_size))  # held while the decoder runs: 1/8 of int64 at K 256
        release_freed_memory()  # the prior sessions' heap, before the decoder's output is allocated
        return self.decode_indices(indices, device, tiling, pixels)


def _index_dtype(codebook_size: int) -> torch.dtype:
    """The smallest integer dtype that holds every index in ``[0, codebook_size)``."""
    if codebook_size <= 256:
        return torch.uint8
    return torch.int16 if codebook_size <= 1 << 15 else torch.int32


def _whole(x: Tensor, scale: tuple[int, ...] | None = None) -> Tiling:
    """A plan with one tile covering ``x`` (sizes in media samples: latent sizes times ``scale`` per axis)."""
    factors = scale or (1,) * (x.dim() - 2)
    return Tiling(tuple(int(n) * f for n, f in zip(x.shape[2:], factors)), (0,) * (x.dim() - 2))


def _build(config: dict, tensors: dict) -> VQCodec:  # type: ignore[type-arg]
    from vqcodec.weights_io import load_state

    model = VQCodec(VQCodecConfig.from_dict(config))
    load_state(model.vqvae, tensors["model"], "vq model")
    if model.prior is not None:
        load_state(model.prior, tensors.get("prior", {}), "vq prior")
        if isinstance(model.prior, CodewordBase):
            model.prior.use_codebooks(model.vqvae.quantizer.core.codebooks())
    return model


register_kind(KindSpec(
    name="vq", config=VQCodecConfig, build=_build, task="vqcodec.train.tasks_vq", bench="vq", codec=True,
    legacy=("vqcodec", "vqvae"),
    summary="VQ-VAE (1-D/2-D/3-D) + residual VQ + an index prior (gated PixelCNN or codeword-predictive); "
            "quality = residual stages coded",
))

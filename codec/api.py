"""Functional bytes API: images <-> complete ``.vq`` files with a named, hash-checked model.

    data = compress_image(pixels, load_model("vq-image"), quality=3).data
    decoded = decompress_image(data)          # the model named in the header is loaded (built-in) or passed in
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache

from torch import Tensor

from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.header import Header
from vqcodec.media.image import DEFAULT_MAX_PIXELS, from_tensor, to_tensor
from vqcodec.media.pad import Padding, crop, pad_to_multiple
from vqcodec.models.vq_codec import Encoded, VQCodec
from vqcodec.registry import BUILTIN, LoadedModel, load_model
from vqcodec.threads import torch_threads
from vqcodec.weights_io import WeightsError

_NUM_THREADS = 2
"""Torch threads inside the coding path (the prior itself is exact integer arithmetic, so this only sets speed)."""


@dataclass(frozen=True)
class CompressedImage:
    """A ``.vq`` file and what it cost: real bits per pixel (header included) and the prior's ideal bits."""

    data: bytes
    header: Header
    estimated_bits: float

    @property
    def bpp(self) -> float:
        _, h, w = self.header.shape
        return 8 * len(self.data) / (h * w)


@dataclass(frozen=True)
class DecodedImage:
    """Decoded pixels uint8 ``(3, H, W)`` and the header they came from."""

    pixels: Tensor
    header: Header


def _codec(model: LoadedModel) -> VQCodec:
    if not isinstance(model.module, VQCodec):
        raise ModelMismatchError(f"model {model.name} is a {model.kind} model, not an image VQ codec")
    if model.module.vqvae.config.net.dims != 2:
        raise ModelMismatchError(f"model {model.name} is not an image model")
    return model.module


def compress_image(pixels: Tensor, model: LoadedModel, quality: int, device: str = "cpu") -> CompressedImage:
    """Compress uint8 ``pixels (3, H, W)`` at ``quality`` (= residual stages coded, 1..S) into a ``.vq`` file."""
    codec = _codec(model)
    codec.check_quality(quality)  # before the header, whose own check would say less
    x, padding = pad_to_multiple(to_tensor(pixels), codec.stride, mode="replicate")
    _, _, h, w = x.shape
    base = Header(
        model=model.name, weights_sha256=model.sha256[:8], modality="image", codec_kind="vq",
        shape=tuple(pixels.shape), latent_grid=(h // codec.stride, w // codec.stride), padding=padding.amounts,
        tile_shape=(1, 1), num_stages=quality, codebook_size=codec.prior.config.codebook_size,
        precision=codec.prior.config.precision, quality=quality,
    )
    with _threads():
        enc = codec.compress(x.to(device), quality, base)
    return CompressedImage(container.write(enc.header, [enc.payload]), enc.header, enc.estimated_bits)


def read_header(data: bytes) -> Header:
    """The validated header of a ``.vq`` file (CRC checked)."""
    return container.read(data)[0]


def _check_geometry(h: Header, codec: VQCodec) -> None:
    """The file must be a VQ image of at most ``DEFAULT_MAX_PIXELS`` pixels, coded with ``codec``'s codebook and
    tables, with exactly the latent grid its size, padding and stride imply (checked before anything is allocated)."""
    if h.modality != "image" or h.codec_kind != "vq":
        article = "an" if h.modality[:1] in "aeiou" else "a"
        raise ModelMismatchError(f"this is {article} {h.modality} file ({h.codec_kind} codec), not a VQ image file")
    if len(h.shape) != 3 or h.shape[0] != 3:
        raise CorruptStreamError(f"invalid header: an image has shape (3, height, width), not {h.shape}")
    if h.shape[1] * h.shape[2] > DEFAULT_MAX_PIXELS:
        raise CorruptStreamError(f"invalid header: {h.shape[2]}x{h.shape[1]} pixels is above the "
                                 f"{DEFAULT_MAX_PIXELS // 1_000_000} MP limit")
    prior = codec.prior.config
    if not 1 <= h.num_stages <= codec.num_stages:
        raise ModelMismatchError(f"file codes {h.num_stages} residual stages; the model has {codec.num_stages}")
    if (h.codebook_size, h.precision) != (prior.codebook_size, prior.precision):
        raise ModelMismatchError(f"file says codebook size {h.codebook_size} and {h.precision}-bit tables; the model "
                                 f"has {prior.codebook_size} and {prior.precision}-bit")
    expected = tuple((n + p) // codec.stride for n, p in zip(h.shape[1:], h.padding))
    exact = all((n + p) % codec.stride == 0 and p < codec.stride for n, p in zip(h.shape[1:], h.padding))
    if not exact or expected != h.latent_grid or h.batch != 1:
        raise CorruptStreamError("invalid header: latent grid does not match the image size and padding")


def decompress_image(data: bytes, model: LoadedModel | None = None, device: str = "cpu") -> DecodedImage:
    """Decode a ``.vq`` image file; loads the built-in model named in its header unless ``model`` is given.

    Raises:
        CorruptStreamError, UnsupportedVersionError, DesyncError: bad or corrupted file.
        ModelMismatchError: another modality, or weights other than the file's.
        WeightsError: the named model is not available.
    """
    header, sections = container.read(data)
    if model is None:
        if header.model not in BUILTIN:  # a header never makes us open a path it names
            raise WeightsError(f"file was made with {header.model!r}, which is not a built-in model; "
                               "pass the weights it was made with (--model PATH)")
        model = _builtin(header.model)
    if model.sha256[:8] != header.weights_sha256:
        raise ModelMismatchError(f"file was made with weights {header.weights_sha256} of {header.model!r}; "
                                 f"the model given has {model.sha256[:8]}")
    codec = _codec(model)
    _check_geometry(header, codec)
    if len(sections) != 1:
        raise CorruptStreamError(f"expected 1 payload section, found {len(sections)}")
    with _threads():
        x_hat = codec.decompress(Encoded(header, sections[0], math.nan), device)
    padded = tuple(n + p for n, p in zip(header.shape[1:], header.padding))
    pixels = from_tensor(crop(x_hat, Padding(original=tuple(header.shape[1:]), padded=padded)))
    return DecodedImage(pixels, header)


@lru_cache(maxsize=4)
def _builtin(name: str) -> LoadedModel:
    """A built-in model for decoding, loaded (read, hash-checked, built) once per process: a batch decode of many
    files names the same model in every header. Decoding never changes the module, so sharing it is safe."""
    return load_model(name)


def _threads() -> AbstractContextManager[None]:
    """Fix torch's CPU thread count inside the coding path, restoring it afterwards."""
    return torch_threads(_NUM_THREADS)

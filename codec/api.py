"""The functional API: media <-> complete ``.vq`` files, for every modality and codec kind.

    data = vqcodec.compress(Image(pixels))                      # the modality's default model and quality
    data = vqcodec.compress(Audio(samples, 44100), "speech.safetensors", quality=8)
    media = vqcodec.decompress(data)                            # Image / Audio / Video, by the header

Dispatch: the media's type picks the modality adapter (geometry: padding, rates, tiling plan), the model's kind
does the coding (``compress``/``decompress`` of the codec contract), the header records both. A header never makes
the decoder open a path it names: only built-in models load by name; pass ``model`` for exported ones.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError, ModelMismatchError
from vqcodec.bitstream.header import Header
from vqcodec.media.adapters import ADAPTERS, DIMS_TO_MODALITY, AudioAdapter, Geometry, ModalityAdapter, adapter_for
from vqcodec.media.types import Audio, Media, Video
from vqcodec.models.base import CodecModel, Encoded
from vqcodec.registry import BUILTIN, LoadedModel, builtin_model, default_model, default_quality, load_model
from vqcodec.threads import torch_threads
from vqcodec.weights_io import WeightsError

_NUM_THREADS = 2
"""Torch threads of the networks inside the coding path (fixed, so a caller's thread count changes nothing; the
entropy models are exact integer arithmetic anyway)."""

ModelRef: TypeAlias = "str | Path | LoadedModel | None"


@dataclass(frozen=True)
class Compressed:
    """A ``.vq`` file and what it cost: its bytes, header, and the entropy models' ideal bits."""

    data: bytes
    header: Header
    estimated_bits: float

    @property
    def rate(self) -> tuple[float, str]:
        """Real rate of the file (header included): ``(bits per pixel, "bpp")`` or ``(kbps, "kbps")``."""
        return ADAPTERS[self.header.modality].rate(8.0 * len(self.data), self.header)


@dataclass(frozen=True)
class Decoded:
    """Decoded media and the header it came from."""

    media: Media
    header: Header


def codec_of(model: LoadedModel, modality: str) -> CodecModel:
    """``model``'s codec, checked to be a codec kind of ``modality`` that can make files."""
    module = model.module
    if not isinstance(module, CodecModel):
        raise ModelMismatchError(f"model {model.name} is a {model.kind} model: it has no entropy model and cannot "
                                 "make .vq files")
    theirs = DIMS_TO_MODALITY.get(module.dims, "?")
    if theirs != modality:
        raise ModelMismatchError(f"model {model.name} codes {theirs}, not {modality}")
    if not module.can_code:
        raise ModelMismatchError(f"model {model.name} has no prior yet, so it cannot code files (train one with "
                                 "vqcodec train --kind prior and export it)")
    return module


def geometry(codec: CodecModel) -> Geometry:
    """What the modality adapter needs to know about ``codec``."""
    return Geometry(codec.dims, codec.channels, codec.strides, codec.sample_rate)


def resolve(model: ModelRef, modality: str) -> LoadedModel:
    """A loaded model: the one given, a built-in by name, a weights file by path, or the modality's default."""
    if isinstance(model, LoadedModel):
        return model
    if model is None:
        return builtin_model(default_model(modality).name)
    if str(model) in BUILTIN:
        return builtin_model(str(model))
    return load_model(model)


def encode(media: Media, model: ModelRef = None, quality: int | None = None, device: str = "cpu",
           audio_model: ModelRef = None, audio_quality: int | None = None) -> Compressed:
    """Compress ``media`` into a complete ``.vq`` file, with details (see :func:`compress`)."""
    adapter = adapter_for(media)
    track = _audio_track(media, audio_model, audio_quality, device)
    loaded = resolve(model, adapter.name)
    codec = codec_of(loaded, adapter.name)
    q = default_quality(loaded) if quality is None else int(quality)
    codec.check_quality(q)
    prepared = adapter.prepare(media, geometry(codec))
    with _threads():
        enc = codec.compress(prepared.x.to(device), q, adapter.plan(codec.strides), adapter.prior_group)
    header = Header(loaded.name, loaded.sha256[:8], adapter.name, codec.kind, prepared.shape, prepared.padding, q,
                    enc.fields, prepared.sample_rate, prepared.frame_rate, precision=enc.precision,
                    audio_track=track is not None)
    sections = [*enc.sections, *([track.data] if track is not None else [])]
    bits = enc.estimated_bits + (8.0 * len(track.data) if track is not None else 0.0)
    return Compressed(container.write(header, sections), header, bits)


def _audio_track(media: Media, model: ModelRef, quality: int | None, device: str) -> Compressed | None:
    """A video's sound track as an audio ``.vq`` file of its own (the modality's default model unless given)."""
    if not isinstance(media, Video) or media.audio is None:
        return None
    try:
        return encode(media.audio, model, quality, device)
    except ValueError as exc:
        raise type(exc)(f"audio track: {exc}") from None


def compress(media: Media, model: ModelRef = None, quality: int | None = None, device: str = "cpu",
             audio_model: ModelRef = None, audio_quality: int | None = None) -> bytes:
    """The ``.vq`` bytes of ``media`` (an :class:`~vqcodec.media.Image`, ``Audio`` or ``Video``).

    Args:
        media: what to code; its type picks the modality.
        model: a built-in name, a ``.safetensors`` path or a loaded model (default: the modality's built-in).
        quality: a quality level of the model (default: the built-in's default, else its highest).
        device: where the networks run (``cpu``, ``cuda``); the entropy coder always runs on the CPU.
        audio_model, audio_quality: what codes a video's ``audio`` track (default: the built-in speech model at
            its default quality), stored in the same file; a video without ``audio`` has no track.

    Raises:
        ValueError: bad media or quality; ``ModelMismatchError`` for a model of another modality or kind;
            ``WeightsError`` when the model cannot be loaded.
    """
    return encode(media, model, quality, device, audio_model, audio_quality).data


def read_header(data: bytes) -> Header:
    """The validated header of a ``.vq`` file (CRC checked)."""
    return container.read(data)[0]


def _model_for(header: Header, model: ModelRef) -> LoadedModel:
    if model is None:
        if header.model not in BUILTIN:  # a header never makes us open a path it names
            raise WeightsError(f"file was made with {header.model!r}, which is not a built-in model; "
                               "pass the weights it was made with (--model PATH)")
        loaded = builtin_model(header.model)
    else:
        loaded = resolve(model, header.modality)
    if loaded.sha256[:8] != header.weights_sha256:
        raise ModelMismatchError(f"file was made with weights {header.weights_sha256} of {header.model!r}; "
                                 f"the model given has {loaded.sha256[:8]}")
    return loaded


def adapter_of(header: Header) -> ModalityAdapter:
    if header.modality not in ADAPTERS:
        raise ModelMismatchError(f"this is an {header.modality} file: it holds no media to decode")
    return ADAPTERS[header.modality]


def decode(data: bytes, model: ModelRef = None, device: str = "cpu", rate: int | str | None = None,
           audio_model: ModelRef = None) -> Decoded:
    """Decode a ``.vq`` file with its header (see :func:`decompress`)."""
    header, sections = container.read(data)
    return _decode(header, sections, model, device, rate, audio_model)


def _decode(header: Header, sections: list[bytes], model: ModelRef, device: str, rate: int | str | None,
            audio_model: ModelRef) -> Decoded:
    """:func:`decode` of a file already parsed into its header and payload sections."""
    track = _decode_track(sections.pop(), audio_model, device) if header.audio_track and sections else None
    adapter = adapter_of(header)
    loaded = _model_for(header, model)
    codec = codec_of(loaded, header.modality)
    if header.codec_kind != codec.kind:
        raise ModelMismatchError(f"file was coded by the {header.codec_kind} kind, the model is {codec.kind}")
    geo = geometry(codec)
    grid = adapter.check_header(header, geo)
    codec.check(header.fields, header.precision, grid, header.quality, adapter.prior_group)
    with _threads():
        x_hat = codec.decompress(Encoded(header.fields, tuple(sections), float("nan"), header.precision), device,
                                 adapter.plan(codec.strides), pixels=adapter.pixels)
    media = adapter.restore(x_hat, header, geo)
    if rate is not None and isinstance(media, Audio):
        media = AudioAdapter.at_rate(media, header, rate)
    if track is not None and isinstance(media, Video):
        media = Video(media.frames, media.fps, track)
    return Decoded(media, header)


def _decode_track(data: bytes, model: ModelRef, device: str) -> Audio:
    """The sound of a video's audio-track section (an audio ``.vq`` file), at the input's rate and length."""
    header, sections = container.read(data)
    if header.modality != "audio":
        raise CorruptStreamError("invalid file: the audio-track section holds no audio")
    sound = _decode(header, sections, model, device, "input", None).media
    assert isinstance(sound, Audio)
    return sound


def decompress(data: bytes, model: ModelRef = None, device: str = "cpu", rate: int | str | None = None,
               audio_model: ModelRef = None) -> Media:
    """The media of a ``.vq`` file; loads the built-in model named in its header unless ``model`` is given.

    Sound comes back mono at the model's rate; ``rate`` resamples it to that many Hz, or with ``"input"`` to the
    input's rate and length (the input's channels are not restored: the codec codes their mix). A video's audio
    track comes back with it (``Video.audio``, mono at the input's rate and length), decoded by the built-in
    model its section names unless ``audio_model`` is given.

    Raises:
        CorruptStreamError, UnsupportedVersionError, DesyncError: a bad or corrupted file.
        ModelMismatchError: weights, kind or modality other than the file's.
        WeightsError: the named model is not available.
    """
    return decode(data, model, device, rate, audio_model).media


def _threads() -> AbstractContextManager[None]:
    """Fix torch's CPU thread count inside the coding path, restoring it afterwards."""
    return torch_threads(_NUM_THREADS)

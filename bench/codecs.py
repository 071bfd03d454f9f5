"""Codec adapters for the bench: one small ABC and a name registry.

A codec is built from a spec string ``NAME`` or ``NAME:ARG`` (e.g. ``jpeg``, later ``vq:MODEL``) with
:func:`make_codec`. Registering a new adapter is one line::

    CODECS["jpeg"] = JPEGCodec           # or decorate the class with @register_codec("jpeg")

An adapter whose spec takes an argument overrides :meth:`Codec.from_spec`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

import numpy as np

Setting = float | int


class Codec(ABC):
    """A lossy codec swept over a list of rate settings.

    Attributes:
        name: short stable name (the spec it was built from).
        description: one line: library, version, the options used.
        modality: ``"image"`` (``(H, W, 3)`` uint8 pixels), later ``"speech"`` or ``"video"``.
        setting_name: what a setting means, e.g. ``"quality"`` or ``"target_bpp"``.
        settings: the rate settings swept by the bench, lowest rate first.
    """

    name: str = ""
    description: str = ""
    modality: ClassVar[str] = "image"
    setting_name: ClassVar[str] = "quality"
    settings: tuple[Setting, ...] = ()

    @classmethod
    def from_spec(cls, arg: str | None, device: str = "cpu", modality: str = "image") -> Codec:
        """Build from the part of the spec after ``:`` (``None`` when absent); ``device`` and the bench's
        ``modality`` are for learned codecs."""
        if arg is not None:
            raise ValueError(f"codec {cls.name!r} takes no argument, got {arg!r}")
        return cls()

    @abstractmethod
    def encode(self, x: np.ndarray, setting: Setting) -> bytes:
        """Encode one item (an ``(H, W, 3)`` uint8 image for images) to a complete, self-contained file."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode bytes made by :meth:`encode` back to an item of the same shape and dtype."""

    def estimated_bits(self, x: np.ndarray, setting: Setting) -> float | None:
        """The model's estimated payload bits (``-sum log2 p``) for learned codecs; ``None`` for classical ones.

        The runner calls it right after the timed :meth:`encode` calls for the same ``(x, setting)``, so an adapter
        may return a value it cached during its last encode instead of running the model again.
        """
        return None

    def counted_bytes(self, data: bytes) -> int:
        """The bytes the rate is computed from: the whole file unless the codec says otherwise (Opus counts its
        packets, not the Ogg pages around them)."""
        return len(data)

    def synchronize(self) -> None:
        """Wait for pending device work (``torch.cuda.synchronize()`` in GPU adapters) before a timer stops."""


C = TypeVar("C", bound=type[Codec])

#: name -> adapter class (anything with a ``from_spec(arg, device) -> Codec`` classmethod).
CODECS: dict[str, type[Codec]] = {}


def register_codec(name: str) -> Callable[[C], C]:
    """Class decorator adding an adapter to :data:`CODECS` under ``name``."""

    def deco(cls: C) -> C:
        CODECS[name] = cls
        return cls

    return deco


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"NAME:ARG"`` into ``("NAME", "ARG")``; ``"NAME"`` gives ``("NAME", None)``."""
    name, sep, arg = spec.strip().partition(":")
    return name, (arg if sep else None)


def make_codec(spec: str, device: str = "cpu", modality: str = "image") -> Codec:
    """Build a codec from a spec string such as ``"jpeg"`` or ``"vq:MODEL"``.

    Raises:
        ValueError: unknown codec name (the message lists the known ones) or a bad argument.
    """
    _ensure_builtins()
    name, arg = parse_spec(spec)
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; known: {', '.join(sorted(CODECS))}")
    cls = CODECS[name]
    kwargs: dict[str, str] = {"device": device}
    if "modality" in inspect.signature(cls.from_spec).parameters:  # learned codecs pick a model per modality
        kwargs["modality"] = modality
    codec = cls.from_spec(arg, **kwargs)
    codec.name = spec.strip()
    return codec


def check_specs(specs: Sequence[str]) -> list[str]:
    """Return the unknown names among ``specs`` (empty when all are registered)."""
    _ensure_builtins()
    return [s for s in specs if parse_spec(s)[0] not in CODECS]


def available_codecs() -> dict[str, str]:
    """Registered codec names with their one-line descriptions."""
    _ensure_builtins()
    return {name: cls.description for name, cls in sorted(CODECS.items())}


def _ensure_builtins() -> None:
    from vqcodec.bench import audio_codecs, learned, pillow_codecs, video_codecs  # noqa: F401  (registers every adapter)

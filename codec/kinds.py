"""The one registry of model kinds: name -> config class, model builder, training task and bench adapter.

A kind is one module that defines its config and model and ends with one :func:`register_kind` call; nothing else
dispatches on kind names. The training task and the bench adapter live in the packages that own training and
benchmarking (the library never imports them), so the spec names them: ``task`` is the module of
``vqcodec.train`` that trains the kind (it exposes ``build_task``), ``bench`` the name of the bench adapter that
codes with it. Weights files name their kind; ``legacy`` lists the names earlier vqcodec versions wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class KindSpec:
    """A registered model kind.

    Attributes:
        name: the one name of the kind (weights files, ``.vq`` headers, ``--kind``).
        config: its frozen config class (``from_dict``/``to_dict``), stored in its weights files.
        build: ``build(config_dict, tensors) -> nn.Module``: the model from a weights file's config and tensors.
        task: module of ``vqcodec.train`` with the kind's ``build_task``.
        bench: name of the bench adapter for its codecs (``None``: the kind makes no files).
        codec: the kind implements the codec contract (``compress``/``decompress``).
        legacy: weights-file kind names of earlier versions that load as this kind.
        summary: one line for listings.
    """

    name: str
    config: type
    build: Callable[[dict[str, Any], dict[str, dict[str, Any]]], nn.Module]
    task: str
    bench: str | None
    codec: bool
    legacy: tuple[str, ...] = ()
    summary: str = ""


KINDS: dict[str, KindSpec] = {}


def register_kind(spec: KindSpec) -> KindSpec:
    """Register ``spec`` under its name (and its legacy names)."""
    for name in (spec.name, *spec.legacy):
        if name in KINDS and KINDS[name] is not spec:
            raise ValueError(f"model kind {name!r} is registered twice")
        KINDS[name] = spec
    return spec


def kind_spec(name: str) -> KindSpec:
    """The spec of kind ``name`` (or of a legacy name).

    Raises:
        KeyError: no such kind.
    """
    import vqcodec.models  # noqa: F401  (the kind modules register themselves on import)

    if name not in KINDS:
        raise KeyError(f"model kind {name!r} is not supported by this vqcodec version "
                       f"(kinds: {', '.join(sorted(s.name for s in KINDS.values()))})")
    return KINDS[name]


def all_kinds() -> list[KindSpec]:
    """Every registered kind, once each."""
    import vqcodec.models  # noqa: F401

    return sorted({id(s): s for s in KINDS.values()}.values(), key=lambda s: s.name)

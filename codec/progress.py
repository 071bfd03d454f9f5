"""Progress of long coding work, for whoever listens (the CLI's progress bars); silent when nobody does.

    with listening(lambda task, fraction: print(task, fraction)):
        vqcodec.compress(video)          # reports ("encoder", 0.1) ... ("prior", 1.0)

Tasks report the fraction of their work done, in [0, 1], as it advances: the networks per tile
(``vqcodec.media.tiler``), the entropy coder per part of a prior session (``vqcodec.entropy.coder``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, float], None]

_LISTENER: ContextVar[Listener | None] = ContextVar("vqcodec_progress", default=None)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the reports made inside the block to ``listener(task, fraction_done)``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def report(task: str, fraction: float) -> None:
    """``task`` has done ``fraction`` of its work (nothing happens unless someone listens)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(task, min(1.0, max(0.0, fraction)))


def active() -> bool:
    """Whether anyone listens (callers skip the bookkeeping of fine-grained reports otherwise)."""
    return _LISTENER.get() is not None

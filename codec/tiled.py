"""Apply a convolutional network to a large grid tile by tile with overlapping margins, keeping memory bounded.

Each core tile is processed with up to ``margin`` extra input on every side (clipped at the borders); only the
core of the output is kept. When the margin covers the network's receptive field the result equals the untiled
output up to float rounding, so tiles leave no seams.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor


def _spans(length: int, core: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + core, length)) for lo in range(0, length, core)]


def tiled_apply(
    fn: Callable[[Tensor], Tensor], x: Tensor, core: int, margin: int, up: int = 1, down: int = 1
) -> Tensor:
    """``fn`` over ``x (B, C, H, W)`` in ``core``-sized tiles with ``margin`` context; output coordinates are
    input coordinates ``* up // down`` (e.g. ``down=8`` for an encoder of stride 8, ``up=8`` for its decoder).

    ``core`` and ``margin`` must be multiples of ``down`` so every tile maps to whole output positions.
    """
    if core % down or margin % down:
        raise ValueError(f"core {core} and margin {margin} must be multiples of {down}")
    _, _, h, w = x.shape
    if h <= core and w <= core:
        return fn(x)
    out: Tensor | None = None
    for top, bottom in _spans(h, core):
        for left, right in _spans(w, core):
            t0, b0 = max(0, top - margin), min(h, bottom + margin)
            l0, r0 = max(0, left - margin), min(w, right + margin)
            y = fn(x[:, :, t0:b0, l0:r0])
            if out is None:
                out = y.new_empty((*y.shape[:2], h * up // down, w * up // down))
            oy, ox = (top - t0) * up // down, (left - l0) * up // down
            oh, ow = (bottom - top) * up // down, (right - left) * up // down
            out[:, :, top * up // down : top * up // down + oh, left * up // down : left * up // down + ow] = \
                y[:, :, oy : oy + oh, ox : ox + ow]
    assert out is not None
    return out


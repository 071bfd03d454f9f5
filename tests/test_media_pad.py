"""pad_to_multiple / crop: multiples reached, the original is a prefix, crop inverts, modes match F.pad."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vqcodec.media.pad import Padding, crop, pad_to_multiple


@settings(max_examples=60, deadline=None)
@given(
    grid=st.lists(st.integers(1, 19), min_size=1, max_size=3),
    multiple=st.integers(1, 8),
    mode=st.sampled_from(["replicate", "reflect"]),
)
def test_pad_crop_round_trip(grid: list[int], multiple: int, mode: str) -> None:
    x = torch.randint(0, 256, (2, 3, *grid), dtype=torch.uint8)
    y, padding = pad_to_multiple(x, multiple, mode=mode)  # type: ignore[arg-type]
    assert y.dtype == x.dtype and y.shape[:2] == x.shape[:2]
    for n, p in zip(grid, y.shape[2:]):
        assert p % multiple == 0 and n <= p < n + multiple
    assert padding == Padding(tuple(grid), tuple(y.shape[2:]))
    assert torch.equal(crop(y, padding), x)


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
@pytest.mark.parametrize("shape,multiple", [((1, 2, 13), 4), ((1, 3, 9, 6), 4), ((2, 1, 5, 7, 6), (2, 4, 4))])
def test_matches_torch_pad_where_torch_can(mode: str, shape: tuple[int, ...], multiple: int) -> None:
    x = torch.randn(shape)
    y, padding = pad_to_multiple(x, multiple, mode=mode)  # type: ignore[arg-type]
    spec: list[int] = []
    for a in reversed(padding.amounts):
        spec += [0, a]
    assert torch.equal(y, F.pad(x, spec, mode=mode))


def test_reflect_falls_back_to_replicate_on_short_axes() -> None:
    x = torch.tensor([[[[7.0]]]])  # a 1x1 image
    y, padding = pad_to_multiple(x, 8, mode="reflect")
    assert y.shape == (1, 1, 8, 8) and bool((y == 7).all()) and padding.amounts == (7, 7)
    row = torch.tensor([[[1.0, 2.0, 3.0]]])
    y, _ = pad_to_multiple(row, 8, mode="reflect")  # 5 > 3 samples: replicate
    assert y[0, 0].tolist() == [1, 2, 3, 3, 3, 3, 3, 3]
    y, _ = pad_to_multiple(row, 4, mode="reflect")
    assert y[0, 0].tolist() == [1, 2, 3, 2]


def test_no_padding_returns_input_and_identity() -> None:
    x = torch.zeros(1, 3, 16, 8)
    y, padding = pad_to_multiple(x, 8)
    assert y is x and padding.is_identity and torch.equal(crop(y, padding), x)


def test_bad_arguments() -> None:
    x = torch.zeros(1, 3, 5, 5)
    for bad in [lambda: pad_to_multiple(torch.zeros(3, 5), 4), lambda: pad_to_multiple(x, 0),
                lambda: pad_to_multiple(x, (2, 2, 2)),
                lambda: pad_to_multiple(x, 4, mode="zeros"),  # type: ignore[arg-type]
                lambda: pad_to_multiple(torch.zeros(1, 3, 0, 5), 4)]:
        with pytest.raises(ValueError):
            bad()
    _, padding = pad_to_multiple(x, 4)
    with pytest.raises(ValueError, match="crop expects grid"):
        crop(torch.zeros(1, 3, 5, 5), padding)

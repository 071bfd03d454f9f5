"""Entropy coding: frequency tables, lossless round trips, chunk independence, rate sanity, MRF learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prior_helpers import one_thread, tiny_prior, train, trained_mrf_prior  # noqa: F401 (fixture)
from vqcodec.bitstream import CorruptStreamError, DesyncError, VQCodecError
from vqcodec.entropy import decode_indices, encode_indices, quantize_logits, symbol_checksum
from vqcodec.priors.synthetic import MarkovField2d

GRIDS = {1: (23,), 2: (7, 9), 3: (3, 5, 6)}


def test_quantize_logits_invariants() -> None:
    logits = torch.cat([torch.randint(-20000, 20000, (50, 64)), torch.zeros(1, 64), torch.full((1, 64), 10**6)])
    logits[0, 0] = 10**7
    for precision in (12, 16, 24):
        freq = quantize_logits(logits.double(), precision)
        assert freq.dtype == np.int64 and freq.shape == (52, 64)
        assert (freq.sum(axis=1) == 2**precision).all() and freq.min() >= 1
        assert np.array_equal(freq, quantize_logits(logits.double(), precision))
    uniform = quantize_logits(torch.zeros(1, 16), 16)
    assert (uniform == 4096).all()
    with pytest.raises(ValueError):
        quantize_logits(torch.zeros(1, 2048), 12)


def _roundtrip(prior, idx, **kw) -> bytes:  # type: ignore[no-untyped-def]
    enc = encode_indices(idx, prior, **kw)
    dec = decode_indices(enc.payload, prior, tuple(idx.shape), enc.tile_shape, chunk=1, checksum=enc.checksum)
    assert dec.dtype == torch.int64 and torch.equal(dec, idx)
    return enc.payload


@pytest.mark.parametrize("kind", ["pixelcnn", "unigram"])
@pytest.mark.parametrize("stages", [1, 3])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_lossless_round_trip(dims: int, stages: int, kind: str) -> None:
    prior = tiny_prior(dims, stages, kind)
    _roundtrip(prior, torch.randint(0, 16, (2, *GRIDS[dims], stages)))
    _roundtrip(prior, torch.zeros((1, *GRIDS[dims], stages), dtype=torch.long))  # very likely / very unlikely


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_lossless_round_trip_with_trained_prior(dims: int) -> None:
    prior = tiny_prior(dims, stages=2)
    data = torch.randint(0, 4, (32, *GRIDS[dims], 2)) * torch.tensor([1, 4])  # stage 1 = 4 * something
    train(prior, data, steps=15)
    payload = _roundtrip(prior, data[:2])
    assert len(payload) * 8 < data[:2].numel() * 4  # learned: well under log2(16) bits per index


def test_bits_do_not_depend_on_chunking() -> None:
    prior = tiny_prior(2, stages=2)
    idx = torch.randint(0, 16, (3, 9, 10, 2))
    payloads = {encode_indices(idx, prior, chunk=c).payload for c in (None, 1, 4)}
    assert len(payloads) == 1


def test_decoder_detects_leftover_and_missing_data() -> None:
    prior = tiny_prior(2)
    idx = torch.randint(0, 16, (1, 8, 8, 1))
    enc = encode_indices(idx, prior)
    shape = tuple(idx.shape)
    with pytest.raises(CorruptStreamError):
        decode_indices(enc.payload + b"\x01\x02\x03\x04" * 3, prior, shape, enc.tile_shape, checksum=enc.checksum)
    with pytest.raises(CorruptStreamError):
        decode_indices(enc.payload[:-1], prior, shape, enc.tile_shape)
    with pytest.raises(VQCodecError):
        decode_indices(enc.payload[: len(enc.payload) // 2 // 4 * 4], prior, shape, enc.tile_shape,
                       checksum=enc.checksum)
    wrong = symbol_checksum(idx) ^ 1
    with pytest.raises(DesyncError):
        decode_indices(enc.payload, prior, shape, enc.tile_shape, checksum=wrong)


@pytest.mark.parametrize("kind", ["pixelcnn", "unigram"])
def test_rate_matches_estimate(kind: str) -> None:
    prior = tiny_prior(2, 2, kind)
    idx = torch.randint(0, 16, (2, 16, 16, 2))
    enc = encode_indices(idx, prior)
    real = 8 * len(enc.payload)
    assert enc.estimated_bits - 1 <= real <= enc.estimated_bits * 1.005 + 64


def test_pixelcnn_learns_markov_field() -> None:
    prior, field = trained_mrf_prior()
    test = field.sample(4, 16, 16, seed=2)
    true_bits = field.bits(test)
    with torch.no_grad():
        model_bits = float(prior.nll_bits(test))
    assert model_bits <= 1.05 * true_bits
    enc = encode_indices(test, prior)  # one 16x16 tile per grid: the coding path sees what the model saw
    assert 8 * len(enc.payload) <= model_bits * test.numel() * 1.005 + 64
    assert torch.equal(decode_indices(enc.payload, prior, tuple(test.shape), enc.tile_shape), test)


def test_markov_field_bits_are_its_entropy() -> None:
    field = MarkovField2d.random(4, seed=5)
    grid = field.sample(2, 6, 6, seed=6)
    assert grid.shape == (2, 6, 6, 1) and 0 <= int(grid.min()) and int(grid.max()) < 4
    deterministic = MarkovField2d(np.eye(4)[None, None].repeat(4, 0).repeat(4, 1)[:, :, 0])
    assert deterministic.bits(deterministic.sample(1, 3, 3)) == 0.0


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_encoder_fast_path_writes_the_bytes_of_the_step_walk(dims: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from vqcodec.priors.incremental import PixelCNNSession

    prior = tiny_prior(dims, stages=3)
    idx = torch.randint(0, 16, (2, *GRIDS[dims], 3))
    fast = encode_indices(idx, prior)
    monkeypatch.setattr(PixelCNNSession, "logit_blocks", lambda self: None)
    slow = encode_indices(idx, prior)
    assert fast.payload == slow.payload and fast.estimated_bits == slow.estimated_bits
    assert torch.equal(decode_indices(fast.payload, prior, tuple(idx.shape), fast.tile_shape), idx)


def test_integer_form_is_converted_once_and_again_after_the_weights_change() -> None:
    """The exact integer prior is cached per module: a second file reuses it, a weight change (optimizer step,
    ``load_state_dict``) converts anew, and the cached form codes the same bytes as a fresh conversion."""
    from vqcodec.entropy.integer import _CACHE, to_integer

    prior = tiny_prior(2, stages=2)
    idx = torch.randint(0, 16, (1, 7, 9, 2))
    first = to_integer(prior)
    assert to_integer(prior) is first
    cached = encode_indices(idx, prior).payload
    _CACHE.clear()
    assert encode_indices(idx, prior).payload == cached and to_integer(prior) is not first
    second = to_integer(prior)
    train(prior, torch.randint(0, 4, (8, 7, 9, 2)), steps=2)  # in-place optimizer updates
    assert to_integer(prior) is not second
    third = to_integer(prior)
    prior.load_state_dict(tiny_prior(2, stages=2).state_dict())  # back to the first weights, copied in place
    assert to_integer(prior) is not third and encode_indices(idx, prior).payload == cached

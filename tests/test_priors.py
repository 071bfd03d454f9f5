"""Priors: causality (no leak, no blind spot), fixed-point path = float path, config, training objective."""

from __future__ import annotations

import pytest
import torch

from prior_helpers import one_thread, tiny_config, tiny_prior, train  # noqa: F401 (fixture)
from vqcodec.config import PriorConfig
from vqcodec.priors import GatedPixelCNN, UnigramPrior, bits_per_index
from vqcodec.priors.synthetic import MarkovField2d

GRIDS = {1: (9,), 2: (4, 5), 3: (3, 3, 4)}


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_pixelcnn_is_causal_in_raster_order(dims: int) -> None:
    prior = tiny_prior(dims, stages=2)
    idx = torch.randint(0, 16, (1, *GRIDS[dims], 2))
    with torch.no_grad():
        base = prior(idx).reshape(-1, 2, 16)
        flat = idx.reshape(-1, 2)
        for p in range(flat.shape[0]):
            for s in range(2):
                other = flat.clone()
                other[p, s] = (other[p, s] + 1) % 16
                out = prior(other.reshape(idx.shape)).reshape(-1, 2, 16)
                assert torch.equal(out[:p], base[:p]), "a later position leaked into an earlier one"
                assert torch.equal(out[p, : s + 1], base[p, : s + 1]), "a later stage leaked"


def test_pixelcnn_2d_has_no_blind_spot() -> None:
    prior = tiny_prior(2)
    idx = torch.randint(0, 16, (1, 5, 5, 1))
    with torch.no_grad():
        base = prior(idx)[0, 2, 2]
        for ij in [(1, 1), (1, 2), (1, 3), (2, 1), (0, 4)]:  # up-left, up, up-right, left, two rows up-right
            other = idx.clone()
            other[0, ij[0], ij[1], 0] = (other[0, ij[0], ij[1], 0] + 1) % 16
            assert not torch.equal(prior(other)[0, 2, 2], base), f"position {ij} is in a blind spot"


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_fixed_point_session_matches_float_model(dims: int) -> None:
    prior = tiny_prior(dims, stages=2, tile_shape=GRIDS[dims])
    idx = torch.randint(0, 16, (2, *GRIDS[dims], 2))
    with torch.no_grad():
        ref = torch.log_softmax(prior(idx).double(), -1).reshape(2, -1, 16)
        session = prior.open_session(tuple(idx.shape), indices=idx)
        got = []
        for t in range(session.num_steps):
            got.append(torch.log_softmax(session.logits(t) / 1024.0, -1))
            session.push(t, session.targets(t))
    got_t = torch.stack(got, dim=1)  # (B, positions * S, K)
    assert (got_t - ref).abs().max() < 0.03
    assert torch.equal(session.result(), idx)


@pytest.mark.parametrize(("dims", "kernel", "chunk"), [(1, 3, None), (2, 3, None), (2, 5, 2), (3, 3, 3)])
def test_encoder_whole_tile_logits_equal_the_incremental_decoder(dims: int, kernel: int, chunk: int | None) -> None:
    """The encoder computes all activations at once from the known grid; every logit must equal the decoder's."""
    prior = tiny_prior(dims, stages=3, kernel_size=kernel, tile_shape=(3,) * dims)
    with torch.no_grad():
        for param in prior.parameters():
            param.mul_(4.0)  # large activations: saturating gates and clamps are exercised too
    grid = {1: (10,), 2: (5, 7), 3: (4, 5, 4)}[dims]  # not multiples of the tile: edge tiles are padded
    idx = torch.randint(0, 16, (2, *grid, 2))  # 2 of the prior's 3 stages
    with torch.no_grad():
        enc = prior.open_session(tuple(idx.shape), indices=idx, chunk=chunk)
        dec = prior.open_session(tuple(idx.shape), chunk=None)
        for t in range(enc.num_steps):
            assert torch.equal(enc.logits(t), dec.logits(t)), f"step {t}"
            enc.push(t, enc.targets(t))
            dec.push(t, enc.targets(t))
    assert torch.equal(dec.result(), idx)


def test_prior_config_validates_and_round_trips() -> None:
    cfg = PriorConfig(dims=3, tile_shape=(2, 8, 8), num_stages=2)
    assert PriorConfig.from_dict(cfg.to_dict()) == cfg
    for bad in [dict(kernel_size=2), dict(dims=4), dict(tile_shape=(8,)), dict(codebook_size=1),
                dict(precision=11), dict(codebook_size=65536, precision=16), dict(kind="transformer")]:
        with pytest.raises(ValueError):
            PriorConfig(**bad)  # type: ignore[arg-type]


def test_check_indices_rejects_bad_grids() -> None:
    prior = tiny_prior(2)
    for bad in [torch.zeros(1, 4, 4, 1), torch.full((1, 4, 4, 1), 16), torch.zeros(1, 4, 1, dtype=torch.long)]:
        with pytest.raises(ValueError):
            prior.check_indices(bad)


def test_unigram_learns_the_histogram() -> None:
    prior = UnigramPrior(tiny_config(1, kind="unigram", k=4))
    data = torch.tensor([0, 0, 0, 1]).repeat(64).reshape(16, 16, 1)
    train(prior, data, steps=300, lr=0.2)
    entropy = -(0.75 * torch.log2(torch.tensor(0.75)) + 0.25 * torch.log2(torch.tensor(0.25)))
    assert bits_per_index(prior, [data]) == pytest.approx(float(entropy), abs=0.02)


def test_bits_per_index_drops_with_training() -> None:
    field = MarkovField2d.random(8, seed=3)
    data = field.sample(64, 8, 8, seed=4)
    prior = GatedPixelCNN(tiny_config(2, k=8))
    before = bits_per_index(prior, [data[:32], data[32:]])
    train(prior, data, steps=30)
    assert bits_per_index(prior, [data]) < before - 0.3
    with pytest.raises(ValueError):
        bits_per_index(prior, [])


@pytest.mark.parametrize("kind", ["pixelcnn", "unigram"])
def test_fewer_stages_than_the_prior_round_trip(kind: str) -> None:
    """Variable rate: the first S' < S residual stages are coded alone, losslessly."""
    from vqcodec.config import PriorConfig
    from vqcodec.entropy import decode_indices, encode_indices
    from vqcodec.priors import build_prior

    torch.set_num_threads(1)
    prior = build_prior(PriorConfig(kind=kind, dims=2, codebook_size=16, num_stages=3, channels=8, num_layers=2,
                                    tile_shape=(4, 4))).eval()
    for stages in (1, 2, 3):
        idx = torch.randint(0, 16, (1, 5, 6, stages))
        assert prior(idx).shape == (1, 5, 6, stages, 16)
        enc = encode_indices(idx, prior)
        out = decode_indices(enc.payload, prior, tuple(idx.shape), enc.tile_shape, checksum=enc.checksum)
        assert torch.equal(out, idx)


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_coded_bits_match_the_float_model_for_every_stage_count(stages: int) -> None:
    """The exact coding path sees the same context as the float model when only S' < S stages are coded."""
    import math

    from vqcodec.config import PriorConfig
    from vqcodec.entropy import encode_indices
    from vqcodec.priors import build_prior

    torch.set_num_threads(1)
    torch.manual_seed(3)
    prior = build_prior(PriorConfig(dims=2, codebook_size=16, num_stages=3, channels=8, num_layers=2,
                                    tile_shape=(8, 8))).eval()
    with torch.no_grad():
        prior.embed.mul_(4.0)  # make the context matter a lot
    idx = torch.randint(0, 16, (1, 8, 8, stages))
    with torch.no_grad():
        logits = prior(idx)
    float_bits = float(torch.nn.functional.cross_entropy(logits.reshape(-1, 16), idx.reshape(-1), reduction="sum"))
    float_bits /= math.log(2.0)
    coded = encode_indices(idx, prior, (8, 8)).estimated_bits
    assert abs(coded - float_bits) < 0.002 * float_bits + 1, (coded, float_bits)


@pytest.mark.parametrize(("dims", "rows"), [(1, 1), (2, 7), (2, 4096), (3, 50)])
def test_encoder_blocks_equal_the_decoder_steps(dims: int, rows: int) -> None:
    """The encoder's fast path yields, block by block, exactly the decoder's per-step logits and symbols."""
    prior = tiny_prior(dims, stages=3, tile_shape=(3,) * dims)
    with torch.no_grad():
        for param in prior.parameters():
            param.mul_(4.0)
    grid = {1: (10,), 2: (5, 7), 3: (4, 5, 4)}[dims]  # edge tiles: padded positions must be left out
    idx = torch.randint(0, 16, (2, *grid, 2))
    with torch.no_grad():
        enc = prior.open_session(tuple(idx.shape), indices=idx, chunk=2)
        blocks = enc.logit_blocks(rows)  # type: ignore[call-arg]
        assert blocks is not None
        logits, symbols = (torch.cat(x) for x in zip(*blocks))
        dec = prior.open_session(tuple(idx.shape))
        assert dec.logit_blocks() is None and dec.encoder_blocks() is None
        want, start = [], 0
        for t in range(dec.num_steps):
            want.append(dec.logits(t))
            dec.push(t, symbols[start : start + dec.num_symbols(t)])
            start += dec.num_symbols(t)
    assert torch.equal(logits, torch.cat(want))
    assert torch.equal(dec.result(), idx)  # the symbols came in coding order

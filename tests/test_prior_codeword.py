"""The codeword-predictive prior: lossless coding in stage/phase order, encoder = decoder tables, the integer path
tracks the float model, causality, and the closed-form fit beats a histogram on predictable indices."""

from __future__ import annotations

import math

import pytest
import torch

from prior_helpers import one_thread, randomize_codeword_prior  # noqa: F401 (fixture)
from vqcodec.config import PriorConfig
from vqcodec.entropy import decode_indices, encode_indices
from vqcodec.priors import CodewordPrior, build_prior
from vqcodec.train.codeword_fit import Item, fit_codeword_prior

K, D, S = 32, 4, 3


def _prior(tile: int = 8, window: int = 5, context: int = 0) -> CodewordPrior:
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(kind="codeword", dims=1, codebook_size=K, num_stages=S, channels=D,
                                    kernel_size=window, tile_shape=(tile,), context_stages=context))
    assert isinstance(prior, CodewordPrior)
    randomize_codeword_prior(prior)
    return prior.eval()


def _walk(session, symbols: torch.Tensor | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:  # type: ignore[no-untyped-def]
    """Logits and targets of every step (pushing ``symbols`` in coding order, or the session's own targets)."""
    logits, targets, at = [], [], 0
    for step in range(session.num_steps):
        n = session.num_symbols(step)
        logits.append(session.logits(step))
        sym = session.targets(step) if symbols is None else symbols[at: at + n]
        targets.append(sym)
        session.push(step, sym)
        at += n
    return logits, targets


@pytest.mark.parametrize(("length", "stages", "tile", "context"),
                         [(1, 1, 8, 0), (7, 3, 8, 0), (19, 2, 8, 0), (40, 3, 16, 0), (19, 3, 8, 2), (5, 3, 8, 1)])
def test_round_trip_every_stage_count_and_length(length: int, stages: int, tile: int, context: int) -> None:
    prior = _prior(tile, context=context)
    idx = torch.randint(0, K, (1, length, stages))
    enc = encode_indices(idx, prior)
    out = decode_indices(enc.payload, prior, tuple(idx.shape), enc.tile_shape, checksum=enc.checksum)
    assert torch.equal(out, idx)


@pytest.mark.parametrize("context", [0, 2])
def test_decoder_steps_see_the_encoders_tables(context: int) -> None:
    prior = _prior(tile=8, context=context)
    idx = torch.randint(0, K, (2, 19, S))
    enc_logits, symbols = _walk(prior.open_session(tuple(idx.shape), indices=idx))
    assert sum(len(s) for s in symbols) == idx.numel()
    dec = prior.open_session(tuple(idx.shape))
    dec_logits, _ = _walk(dec, torch.cat(symbols))
    assert all(torch.equal(a, b) for a, b in zip(enc_logits, dec_logits))
    assert torch.equal(dec.result(), idx)
    assert all(torch.equal(x, x.round()) for x in enc_logits)  # integer logits


@pytest.mark.parametrize("context", [0, 2])
def test_integer_logits_track_the_float_model(context: int) -> None:
    """The coded bits equal the float model's cross-entropy within rounding (histogram stages too)."""
    prior = _prior(tile=64, context=context)
    idx = torch.randint(0, K, (1, 40, S))
    with torch.no_grad():
        logits = prior(idx)
    float_bits = float(torch.nn.functional.cross_entropy(logits.reshape(-1, K), idx.reshape(-1), reduction="sum"))
    float_bits /= math.log(2.0)
    coded = encode_indices(idx, prior).estimated_bits
    assert abs(coded - float_bits) < 0.01 * float_bits, (coded, float_bits)


def test_an_index_depends_only_on_indices_coded_before_it() -> None:
    """Coding order: stage by stage, phases t % 4 == 0, t % 4 == 2, odd t. Changing one index changes the logits of
    later indices only, and of some (its context matters)."""
    from vqcodec.priors.codeword import phase_of

    prior = _prior(window=5)
    length = 16
    idx = torch.randint(0, K, (1, length, S))
    order = 3 * torch.arange(S)[None, :] + phase_of(length)[:, None]  # (T, S) step of each index
    with torch.no_grad():
        base = prior(idx)
        for s_changed, t_changed in [(0, 4), (0, 6), (1, 3), (1, 8), (2, 8)]:  # not a last-stage odd frame
            other = idx.clone()
            other[0, t_changed, s_changed] = (other[0, t_changed, s_changed] + 1) % K
            changed = (prior(other) - base).abs().amax(-1)[0] > 0  # (T, S)
            assert changed.any()
            assert bool((order[changed] > order[t_changed, s_changed]).all())


def test_fit_beats_the_histogram_on_predictable_latents() -> None:
    """Slowly varying latents quantized by a 2-stage residual VQ: the fitted prior needs fewer bits than the
    stage histograms on held-out sequences."""
    torch.manual_seed(1)
    codebooks = torch.randn(2, K, D)
    codebooks[1] *= 0.3

    def item(length: int) -> Item:
        z = torch.cumsum(0.3 * torch.randn(length, D), 0).clamp(-2, 2)
        parts, residual = [], z
        for cb in codebooks:
            k = torch.cdist(residual, cb).argmin(1)
            parts.append(k)
            residual = residual - cb[k]
        return Item(z, torch.stack(parts, 1))

    prior = build_prior(PriorConfig(kind="codeword", dims=1, codebook_size=K, num_stages=2, channels=D,
                                    kernel_size=5, tile_shape=(64,)))
    assert isinstance(prior, CodewordPrior)
    fits = fit_codeword_prior(prior, codebooks, [item(200) for _ in range(20)], [item(200) for _ in range(4)],
                              log=False)
    stage1 = [f for f in fits if f.stage == 1]
    assert sum(f.prior_bits * f.count for f in stage1) < 0.8 * sum(f.unigram_bits * f.count for f in stage1)
    held = item(300).indices[None]
    coded = encode_indices(held, prior.eval()).estimated_bits
    unigram = sum(f.unigram_bits * f.count for f in fits) / sum(f.count for f in fits) * 2  # per frame, 2 stages
    assert coded < 0.85 * unigram * 300


def test_codeword_prior_is_one_dimensional_only_and_checks_its_context_stages() -> None:
    with pytest.raises(ValueError, match="1-D"):
        PriorConfig(kind="codeword", dims=2, codebook_size=K, num_stages=1, channels=D, tile_shape=(4, 4))
    with pytest.raises(ValueError, match="context_stages"):
        PriorConfig(kind="codeword", dims=1, codebook_size=K, num_stages=2, channels=D, tile_shape=(4,),
                    context_stages=3)


def test_histogram_stages_take_one_step_each() -> None:
    prior = _prior(context=1)
    session = prior.open_session((1, 12, S))
    assert session.num_steps == 3 + (S - 1)
    assert session.num_symbols(3) == 12 and session.logits(3).shape == (1, K)


def test_tables_do_not_depend_on_thread_count_or_a_parameter_change_being_missed() -> None:
    from vqcodec.threads import torch_threads

    prior = _prior(tile=16)
    idx = torch.randint(0, K, (2, 37, S))
    with torch_threads(1):
        one, _ = _walk(prior.open_session(tuple(idx.shape), indices=idx))
    with torch_threads(2):
        two, _ = _walk(prior.open_session(tuple(idx.shape), indices=idx))
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    with torch.no_grad():
        prior.bias.add_(0.5)  # the cached integer form must follow the parameters
    moved, _ = _walk(prior.open_session(tuple(idx.shape), indices=idx))
    assert any(not torch.equal(a, b) for a, b in zip(one, moved))


def test_prior_task_copies_the_base_codebooks() -> None:
    from vqcodec import VQVAE
    from vqcodec.config import VQVAEConfig
    from vqcodec.train.tasks_vq import PriorTask, prior_config_for

    base = VQVAE(VQVAEConfig.from_dict({"net": {"dims": 1, "in_channels": 1, "hidden": 8, "strides": [2]},
                                        "vq": {"codebook_size": 16, "codebook_dim": 4, "num_stages": 2}}))
    cfg = prior_config_for(base, {"kind": "codeword", "channels": 4, "kernel_size": 3, "tile_shape": [8]})
    task = PriorTask(cfg, base)
    assert torch.equal(task.model.codewords[1], base.quantizer.core.stages[1].codebook.embed)
    with pytest.raises(ValueError, match="codeword dimension"):
        PriorTask(prior_config_for(base, {"kind": "codeword", "channels": 5, "tile_shape": [8]}), base)


def test_codewords_are_the_quantizers_not_stored_and_only_context_stages_have_weights(
        tiny_audio_codeword_path) -> None:  # type: ignore[no-untyped-def]
    import vqcodec
    from vqcodec.api import codec_of

    assert "codewords" not in _prior().state_dict()
    assert _prior(context=1).weight.shape[0] == 1 and _prior(context=1).unigram.shape[0] == S
    codec = codec_of(vqcodec.load_model(tiny_audio_codeword_path), "audio")
    assert torch.equal(codec.prior.codewords, codec.vqvae.quantizer.core.codebooks())
    assert codec.prior.codewords.abs().sum() > 0

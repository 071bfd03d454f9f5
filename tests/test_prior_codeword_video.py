"""The video codeword prior: lossless coding frame by frame in spans, encoder = decoder tables, the integer path
tracks the float model, causality (frame, then stage), the copy bonus makes still clips cheap, and the closed-form
fit beats a histogram on moving latents."""

from __future__ import annotations

import math

import pytest
import torch

from prior_helpers import one_thread, randomize_codeword_prior  # noqa: F401 (fixture)
from test_prior_codeword import _walk
from vqcodec.config import PriorConfig
from vqcodec.entropy import decode_indices, encode_indices
from vqcodec.priors import CodewordVideoPrior, build_prior
from vqcodec.train.codeword_fit_video import Clip, fit_codeword_video_prior

K, D, S = 16, 4, 3


def _prior(span: int = 3, window: int = 3, copy: float = 1.5) -> CodewordVideoPrior:
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(kind="codeword", dims=3, codebook_size=K, num_stages=S, channels=D,
                                    kernel_size=window, tile_shape=(span, 64, 64)))
    assert isinstance(prior, CodewordVideoPrior)
    randomize_codeword_prior(prior, weight_std=0.05)
    with torch.no_grad():
        prior.copy_weight.fill_(copy)
    return prior.eval()


@pytest.mark.parametrize(("shape", "span"), [((1, 1, 1, 1, 1), 3), ((1, 7, 5, 6, 3), 3), ((1, 4, 3, 9, 2), 8),
                                              ((2, 5, 4, 4, 3), 2)])
def test_round_trip_in_spans_of_frames(shape: tuple[int, ...], span: int) -> None:
    prior = _prior(span)
    idx = torch.randint(0, K, shape)
    enc = encode_indices(idx, prior, group=1)
    out = decode_indices(enc.payload, prior, tuple(idx.shape), enc.tile_shape, checksum=enc.checksum, group=1)
    assert torch.equal(out, idx)


def test_decoder_steps_see_the_encoders_tables_at_any_thread_count() -> None:
    from vqcodec.threads import torch_threads

    prior = _prior()
    idx = torch.randint(0, K, (2, 4, 5, 7, S))
    with torch_threads(1):
        enc_logits, symbols = _walk(prior.open_session(tuple(idx.shape), indices=idx))
    dec = prior.open_session(tuple(idx.shape))
    with torch_threads(2):
        dec_logits, _ = _walk(dec, torch.cat(symbols))
    assert len(enc_logits) == 4 * S
    assert all(torch.equal(a, b) for a, b in zip(enc_logits, dec_logits))
    assert all(torch.equal(x, x.round()) for x in enc_logits)  # integer logits
    assert torch.equal(dec.result(), idx)


def test_integer_logits_track_the_float_model() -> None:
    """Session logits equal the float model's log-probabilities within rounding, spans restarting the context."""
    prior = _prior(span=3)
    idx = torch.randint(0, K, (1, 7, 5, 6, S))
    with torch.no_grad():
        float_logp = prior(idx).log_softmax(-1)
    for lo in range(0, 7, 3):
        span = idx[:, lo: lo + 3]
        logits, _ = _walk(prior.open_session(tuple(span.shape), indices=span))
        for step, lg in enumerate(logits):
            t, s = divmod(step, S)
            ref = float_logp[0, lo + t, ..., s, :].reshape(-1, K).double()
            assert (lg.mul(2.0**-10).log_softmax(-1) - ref).abs().max() < 0.05


def test_an_index_depends_only_on_indices_coded_before_it() -> None:
    """Order: frame by frame, stage by stage within a frame; a change reaches later steps only (some of them)."""
    prior = _prior(span=8)
    idx = torch.randint(0, K, (1, 4, 5, 5, S))
    order = S * torch.arange(4)[:, None] + torch.arange(S)[None, :]  # (T, S) step of each index
    with torch.no_grad():
        base = prior(idx)
        for t_changed, s_changed in [(0, 0), (1, 1), (2, 0), (2, 2)]:
            other = idx.clone()
            other[0, t_changed, 2, 2, s_changed] = (other[0, t_changed, 2, 2, s_changed] + 1) % K
            changed = (prior(other) - base).abs().amax(-1)[0].amax((1, 2)) > 0  # (T, S)
            assert changed.any()
            assert bool((order[changed] > order[t_changed, s_changed]).all())


def test_a_still_clip_costs_less_with_the_copy_bonus() -> None:
    still = torch.randint(0, K, (1, 1, 6, 6, S)).expand(1, 8, 6, 6, S).contiguous()
    bits = [encode_indices(still, _prior(span=8, copy=c), group=1).estimated_bits for c in (0.0, 4.0)]
    assert bits[1] < 0.5 * bits[0]


def test_fit_beats_the_histogram_on_moving_latents() -> None:
    """Latents drifting slowly from frame to frame, quantized by a 2-stage residual VQ: the fitted prior codes
    held-out clips in fewer bits than the stage histograms."""
    torch.manual_seed(1)
    codebooks = torch.randn(2, K, D)
    codebooks[1] *= 0.3

    def clip(frames: int) -> Clip:
        z = torch.cumsum(0.2 * torch.randn(frames, 6, 6, D), 0).clamp(-2, 2)
        parts, residual = [], z.reshape(-1, D)
        for cb in codebooks:
            k = torch.cdist(residual, cb).argmin(1)
            parts.append(k)
            residual = residual - cb[k]
        return Clip(z, torch.stack(parts, 1).reshape(frames, 6, 6, 2))

    prior = build_prior(PriorConfig(kind="codeword", dims=3, codebook_size=K, num_stages=2, channels=D,
                                    kernel_size=3, tile_shape=(16, 64, 64)))
    assert isinstance(prior, CodewordVideoPrior)
    fits = fit_codeword_video_prior(prior, codebooks, [clip(12) for _ in range(6)], [clip(12) for _ in range(2)],
                                    log=False)
    inter = [f for f in fits if f.phase == 1]
    assert all(f.prior_bits < 0.9 * f.unigram_bits for f in inter)
    held = clip(16).indices[None]
    coded = encode_indices(held, prior.eval(), group=1).estimated_bits
    unigram_bits = sum(f.unigram_bits for f in inter) * held[0, ..., 0].numel()
    assert coded < 0.8 * unigram_bits
    assert math.isfinite(coded)


def test_video_codeword_prior_needs_3d_grids_and_every_stage() -> None:
    with pytest.raises(ValueError, match="2-D"):
        PriorConfig(kind="codeword", dims=2, codebook_size=K, num_stages=1, channels=D, tile_shape=(4, 4))
    with pytest.raises(ValueError, match="context_stages"):
        build_prior(PriorConfig(kind="codeword", dims=3, codebook_size=K, num_stages=2, channels=D,
                                tile_shape=(4, 4, 4), context_stages=1))


def test_wide_windows_on_small_frames_and_spans_inside_one_session() -> None:
    """A window wider than the frame codes; a session over several spans (group 0) has their first frames intra,
    as the float model does."""
    torch.manual_seed(2)
    prior = build_prior(PriorConfig(kind="codeword", dims=3, codebook_size=K, num_stages=S, channels=D,
                                    kernel_size=7, tile_shape=(2, 64, 64)))
    assert isinstance(prior, CodewordVideoPrior)
    randomize_codeword_prior(prior, weight_std=0.05)
    for shape in [(1, 3, 2, 5, S), (1, 5, 5, 2, 2)]:
        idx = torch.randint(0, K, shape)
        enc = encode_indices(idx, prior.eval())
        assert torch.equal(decode_indices(enc.payload, prior, shape, enc.tile_shape, checksum=enc.checksum), idx)
        with torch.no_grad():
            float_bits = float(torch.nn.functional.cross_entropy(prior(idx).reshape(-1, K), idx.reshape(-1),
                                                                 reduction="sum")) / math.log(2.0)
        assert abs(enc.estimated_bits - float_bits) < 0.02 * float_bits


def test_frames_larger_than_the_cap_are_refused_before_anything_is_allocated() -> None:
    from vqcodec.priors.codeword_video import MAX_FRAME_POSITIONS

    side = int(MAX_FRAME_POSITIONS**0.5) + 1
    with pytest.raises(ValueError, match="latent positions per frame"):
        _prior().open_session((1, 1, side, side, 1))

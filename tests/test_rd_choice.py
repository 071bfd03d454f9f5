"""The encoder's rate-distortion choice of indices under the video codeword prior: the choice is the exact minimum of
distance plus lambda times code length, lambda 0 is the nearest codeword, a still clip repeats its indices, what
was chosen decodes (checksum included) in spans, and the bytes do not depend on the thread count."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from prior_helpers import one_thread, randomize_codeword_prior  # noqa: F401 (fixture)
from vqcodec.config import PriorConfig
from vqcodec.entropy import decode_indices
from vqcodec.entropy import fixed_point as fx
from vqcodec.entropy.coder import encode_chosen, slabs, symbol_checksum
from vqcodec.entropy.session import LogitSession
from vqcodec.entropy.tables import quantize_logits
from vqcodec.priors import CodewordVideoPrior, build_prior
from vqcodec.priors.rd_choice import RDChoice, choose, rd_lambdas

K, D, S = 16, 4, 2


def _prior(span: int = 3) -> CodewordVideoPrior:
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(kind="codeword", dims=3, codebook_size=K, num_stages=S, channels=D,
                                    kernel_size=3, tile_shape=(span, 64, 64)))
    assert isinstance(prior, CodewordVideoPrior)
    randomize_codeword_prior(prior, weight_std=0.05)
    with torch.no_grad():
        prior.copy_weight.fill_(3.0)
    return prior.eval()


def _code(prior: CodewordVideoPrior, z: torch.Tensor, lam: float, stages: int = S
          ) -> tuple[bytes, float, int, torch.Tensor]:
    """Payload, bits, checksum and the chosen indices ``(1, T, H, W, stages)`` of latents ``z (1, T, H, W, D)``."""
    shape = (*z.shape[:-1], stages)
    spans = slabs(z.shape[1], prior.span, 1)
    results = []

    def sessions() -> Iterator[LogitSession]:
        for lo, hi in spans:
            session = prior.open_session((1, hi - lo, *shape[2:]), choice=RDChoice(z[:, lo:hi], (lam,) * stages))
            yield session
            results.append(session.result())

    enc = encode_chosen(sessions(), shape, (prior.span, *shape[2:4]))
    return enc.payload, enc.estimated_bits, enc.checksum, torch.cat(results, 1)


def test_choice_is_the_exact_minimum_of_distance_plus_lambda_bits() -> None:
    torch.manual_seed(1)
    n, lam = 50, 0.02
    residual = torch.randint(-3000, 3000, (n, D)).double()
    codewords = torch.randint(-3000, 3000, (K, D)).double()
    freq = quantize_logits(torch.randint(-20000, 20000, (n, K)).double(), 16)
    chosen = choose(freq, 16, residual, codewords, lam)
    scale = float(1 << (2 * fx.ACT_BITS))
    for i in range(n):
        cost = [float(((residual[i] - codewords[k]) ** 2).sum()) / scale + lam * (16 - np.log2(freq[i, k]))
                for k in range(K)]
        assert cost[int(chosen[i])] == pytest.approx(min(cost), rel=1e-12, abs=1e-9)
    nearest = torch.cdist(residual, codewords).argmin(1)
    assert torch.equal(choose(freq, 16, residual, codewords, 0.0), nearest)
    assert torch.equal(choose(freq, 16, residual, codewords, 1e9), torch.from_numpy(freq.argmax(1)))


def test_lambdas_follow_the_greedy_errors_and_are_rounded() -> None:
    assert rd_lambdas([0.0], 64) == (0.0,)
    lams = rd_lambdas([4.0, 2.0, 1.2345678], 64, 3.0, 0.5)
    last = 3.0 * 2 * np.log(2) / 64 * 1.2345678
    assert all(lam == float(f"{lam:.4g}") for lam in lams)
    assert lams[2] == pytest.approx(last, rel=1e-3)
    assert lams[0] == pytest.approx(last * (4 / 1.2345678) ** 0.5, rel=1e-3)
    assert lams[0] > lams[1] > lams[2]  # a lower stage's error is shrunk by the stages after it
    assert rd_lambdas([4.0, 2.0], 64, 3.0, 0.0) == (rd_lambdas([2.0], 64, 3.0)[0],) * 2
    assert rd_lambdas([2.0], 64, 3.0) > rd_lambdas([1.0], 64, 3.0) > rd_lambdas([1.0], 64, 1.0)


def test_lambda_zero_codes_the_nearest_codewords_stage_by_stage() -> None:
    prior = _prior()
    torch.manual_seed(2)
    z = torch.randn(1, 4, 3, 5, D)
    payload, _, checksum, chosen = _code(prior, z, 0.0)
    codewords = fx.quantize_act(prior.codewords)
    residual = fx.quantize_act(z)
    for s in range(S):
        nearest = ((residual[..., None, :] - codewords[s]) ** 2).sum(-1).argmin(-1)
        assert torch.equal(chosen[..., s], nearest)
        residual = residual - codewords[s][nearest]
    out = decode_indices(payload, prior, tuple(chosen.shape), (prior.span, 3, 5), checksum=checksum, group=1)
    assert torch.equal(out, chosen) and symbol_checksum(out) == checksum


def test_a_still_clip_repeats_its_indices_and_costs_fewer_bits() -> None:
    """Frames of one picture plus small noise: with lambda the chosen indices copy the previous frame's far more
    often than the nearest codewords do, in fewer bits, and the decoder gets exactly what was chosen."""
    prior = _prior(span=8)
    torch.manual_seed(3)
    z = torch.randn(1, 1, 6, 6, D) + 0.15 * torch.randn(1, 8, 6, 6, D)
    runs = {lam: _code(prior, z, lam) for lam in (0.0, 0.5)}
    repeats = {lam: float((c[:, 1:] == c[:, :-1]).float().mean()) for lam, (_, _, _, c) in runs.items()}
    assert repeats[0.5] > repeats[0.0] + 0.1
    assert runs[0.5][1] < 0.8 * runs[0.0][1]
    for payload, _, checksum, chosen in runs.values():
        out = decode_indices(payload, prior, tuple(chosen.shape), (8, 6, 6), checksum=checksum, group=1)
        assert torch.equal(out, chosen)


def test_one_frame_one_stage_never_costs_more_bits_than_the_nearest_codewords() -> None:
    prior = _prior()
    torch.manual_seed(4)
    z = torch.randn(1, 1, 7, 7, D)
    bits = [_code(prior, z, lam, stages=1)[1] for lam in (0.0, 0.05, 0.5, 5.0)]
    assert bits == sorted(bits, reverse=True) and bits[-1] < bits[0]


def test_chosen_bytes_do_not_depend_on_the_thread_count() -> None:
    """Given the latents: frames of 48000 positions, so the products and reductions do run on two threads."""
    prior = _prior(span=2)
    torch.manual_seed(5)
    z = torch.randn(1, 3, 200, 240, D)
    first = _code(prior, z, 0.3)
    torch.set_num_threads(2)
    assert _code(prior, z, 0.3)[:3] == first[:3]


def test_latents_must_fit_the_grid_and_weights_be_sane() -> None:
    prior = _prior()
    with pytest.raises(ValueError, match="not both"):
        prior.open_session((1, 2, 3, 3, S), indices=torch.zeros(1, 2, 3, 3, S, dtype=torch.int64),
                           choice=RDChoice(torch.zeros(1, 2, 3, 3, D), (0.1, 0.1)))
    for weight, power in ((-1.0, 0.5), (1.0, -0.5)):
        with pytest.raises(ValueError, match=">= 0"):
            rd_lambdas([2.0, 1.0], D, weight, power)
    with pytest.raises(ValueError, match="do not fit"):
        prior.open_session((1, 2, 3, 3, S), choice=RDChoice(torch.zeros(1, 2, 3, 4, D), (0.1, 0.1)))
    with pytest.raises(ValueError, match="do not fit"):
        prior.open_session((1, 2, 3, 3, S), choice=RDChoice(torch.zeros(1, 2, 3, 3, D), (0.1,)))

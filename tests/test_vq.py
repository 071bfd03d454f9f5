"""Vector quantizer grids: nearest codeword, round trips, straight-through gradients, residual stages."""

from __future__ import annotations

import pytest
import torch

from vqcodec.config import VQConfig
from vqcodec.quantizers import GRID_RESIDUAL_VQ, GRID_VQ, ResidualVQ, VectorQuantizer

GRIDS = {1: (2, 4, 12), 2: (2, 4, 6, 5), 3: (2, 4, 3, 4, 5)}


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_grid_vq_returns_nearest_codeword(dims: int) -> None:
    vq = GRID_VQ[dims](VQConfig(codebook_size=16, codebook_dim=4, kmeans_init=False)).eval()
    z = torch.randn(GRIDS[dims])
    out = vq(z)
    flat = z.movedim(1, -1).reshape(-1, 4)
    brute = torch.cdist(flat, vq.core.codebook.embed).argmin(1)
    assert out.indices.shape == (z.shape[0], *z.shape[2:])
    assert torch.equal(out.indices.flatten(), brute)
    assert torch.equal(vq.encode(z), out.indices)
    assert torch.allclose(vq.decode(vq.encode(z)), out.z_q)
    assert out.z_q.shape == z.shape


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_residual_grid_shapes_and_round_trip(dims: int) -> None:
    vq = GRID_RESIDUAL_VQ[dims](VQConfig(codebook_size=8, codebook_dim=4, num_stages=3, kmeans_init=False)).eval()
    z = torch.randn(GRIDS[dims])
    idx = vq.encode(z)
    assert idx.shape == (z.shape[0], *z.shape[2:], 3)
    assert torch.allclose(vq.decode(idx), vq(z).z_q, atol=1e-6)
    assert torch.equal(vq(z).indices, idx)


def test_straight_through_gradient_equals_decoder_input_gradient() -> None:
    vq = VectorQuantizer(VQConfig(codebook_size=8, codebook_dim=4, kmeans_init=False, commitment_weight=0.0)).eval()
    z_e = torch.randn(32, 4, requires_grad=True)
    out = vq(z_e)
    w = torch.randn(4, 3)
    # a "decoder" on z_q; its gradient w.r.t. z_q must reach z_e unchanged
    z_q_leaf = out.z_q.detach().requires_grad_(True)
    (z_q_leaf @ w).sin().sum().backward()
    (out.z_q @ w).sin().sum().backward()
    assert torch.allclose(z_e.grad, z_q_leaf.grad)
    assert torch.allclose(out.z_q, vq.decode(out.indices))


def test_commitment_and_codebook_losses() -> None:
    cfg = VQConfig(codebook_size=8, codebook_dim=4, kmeans_init=False, ema=False, commitment_weight=0.25)
    vq = VectorQuantizer(cfg).train()
    z_e = torch.randn(64, 4, requires_grad=True)
    out = vq(z_e)
    e = vq.decode(out.indices).detach()
    assert torch.allclose(out.commit_loss, 0.25 * (z_e.detach() - e).pow(2).mean())
    assert torch.allclose(out.codebook_loss, (z_e.detach() - e).pow(2).mean())
    out.codebook_loss.backward()
    assert vq.codebook.embed.grad is not None and vq.codebook.embed.grad.abs().sum() > 0
    assert z_e.grad is None  # the codebook loss stops the gradient to z_e


def test_ema_codebook_has_no_codebook_loss() -> None:
    out = VectorQuantizer(VQConfig(codebook_size=8, codebook_dim=4)).train()(torch.randn(64, 4))
    assert float(out.codebook_loss) == 0.0 and float(out.commit_loss) > 0


def test_residual_error_falls_with_every_stage() -> None:
    cfg = VQConfig(codebook_size=32, codebook_dim=8, num_stages=4, kmeans_init=True, dead_code_threshold=0.0)
    rvq = ResidualVQ(cfg).train()
    data = torch.randn(4096, 8)
    for _ in range(10):
        rvq(data)
    rvq.eval()
    idx = rvq.encode(data)
    errors = [float((data - rvq.decode(idx, stages=s)).pow(2).mean()) for s in range(1, 5)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.6 * errors[0]


def test_quantizer_dropout_uses_fewer_stages() -> None:
    cfg = VQConfig(codebook_size=8, codebook_dim=4, num_stages=4, quantizer_dropout=1.0, kmeans_init=False)
    rvq = ResidualVQ(cfg).train()
    counts = {int((rvq(torch.randn(16, 4)).indices[0] >= 0).sum()) for _ in range(40)}
    assert counts == {1, 2, 3, 4}
    rvq.eval()
    assert (rvq(torch.randn(16, 4)).indices >= 0).all()


def test_bad_input_shapes_raise() -> None:
    vq = GRID_VQ[2](VQConfig(codebook_size=8, codebook_dim=4))
    with pytest.raises(ValueError):
        vq(torch.randn(2, 4, 5))
    with pytest.raises(ValueError):
        vq(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError):
        ResidualVQ(VQConfig(codebook_size=8, codebook_dim=4, num_stages=2)).encode(torch.randn(3, 4), stages=3)


def test_fewer_stages_are_a_prefix_of_all_stages() -> None:
    """Greedy residual VQ: the q-stage indices are the first q of the S-stage indices (decoder fine-tuning and
    its per-quality evaluation rely on it)."""
    torch.manual_seed(0)
    rvq = ResidualVQ(VQConfig(codebook_size=8, codebook_dim=4, num_stages=4))
    rvq.train()
    rvq(torch.randn(256, 4))  # k-means initialisation of every stage
    rvq.eval()
    z = torch.randn(64, 4)
    full = rvq.encode(z)
    for q in range(1, 5):
        assert torch.equal(rvq.encode(z, stages=q), full[:, :q])


def test_dropout_stages_draws_from_one_to_all() -> None:
    from vqcodec.quantizers.vq import dropout_stages

    torch.manual_seed(0)
    assert {dropout_stages(4, 0.0) for _ in range(20)} == {4}
    assert {dropout_stages(4, 1.0) for _ in range(200)} == {1, 2, 3, 4}

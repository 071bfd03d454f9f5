"""Tiny priors and a tiny training loop shared by the prior / entropy / bitstream tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from vqcodec.config import PriorConfig
from vqcodec.priors import CodewordBase, GatedPixelCNN, IndexPrior, build_prior
from vqcodec.priors.synthetic import MarkovField2d


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run with one torch thread (2 shared cores): faster under load, and the coding path must not care."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@torch.no_grad()
def randomize_codeword_prior(prior: CodewordBase, weight_std: float = 0.1) -> None:
    """Random codewords and predictors (a codeword prior is all zeros when built), so every context matters."""
    prior.codewords.normal_()
    prior.weight.normal_(std=weight_std)
    prior.bias.normal_(std=0.3)
    d = prior.metric.shape[-1]
    prior.metric.copy_(torch.eye(d) * 0.7 + 0.05 * torch.randn(prior.metric.shape))
    prior.unigram.normal_()
    prior.unigram_weight.fill_(0.7)


def tiny_config(dims: int = 2, stages: int = 1, kind: str = "pixelcnn", k: int = 16, **kw: object) -> PriorConfig:
    tile = kw.pop("tile_shape", (4,) * dims)
    return PriorConfig(kind=kind, dims=dims, codebook_size=k, num_stages=stages, channels=8, num_layers=2,
                       tile_shape=tile, **kw)  # type: ignore[arg-type]


def tiny_prior(dims: int = 2, stages: int = 1, kind: str = "pixelcnn", **kw: object) -> IndexPrior:
    torch.manual_seed(0)
    return build_prior(tiny_config(dims, stages, kind, **kw)).eval()


def train(prior: IndexPrior, data: torch.Tensor, steps: int, lr: float = 0.03, batch: int = 16) -> IndexPrior:
    """A few Adam steps on the cross-entropy in bits (one-cycle schedule)."""
    torch.manual_seed(0)
    prior.train()
    opt = torch.optim.Adam(prior.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for _ in range(steps):
        loss = prior.nll_bits(data[torch.randint(0, data.shape[0], (batch,))])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return prior.eval()


def trained_mrf_prior(steps: int = 150) -> tuple[GatedPixelCNN, MarkovField2d]:
    field = MarkovField2d.random(8, 0.3, seed=0)
    cfg = PriorConfig(codebook_size=8, channels=16, num_layers=1, tile_shape=(16, 16))
    torch.manual_seed(0)
    prior = GatedPixelCNN(cfg)
    train(prior, field.sample(512, 16, 16, seed=1), steps)
    return prior, field

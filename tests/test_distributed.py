"""EMA codebook statistics stay identical across ranks when ``sync_distributed`` is on (2 CPU processes, gloo)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vqcodec.config import VQConfig
from vqcodec.quantizers import ResidualVQ


def _worker(rank: int, world: int, init_file: str, out_dir: str, sync: bool) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)  # identical initial parameters on every rank
        cfg = VQConfig(codebook_size=16, codebook_dim=4, num_stages=2, sync_distributed=sync, dead_code_threshold=0.5)
        rvq = ResidualVQ(cfg).train()
        torch.manual_seed(100 + rank)  # different data on every rank
        for _ in range(8):
            rvq(torch.randn(256, 4) * (1 + rank))
        torch.save({k: v.clone() for k, v in rvq.state_dict().items()}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _run(tmp_path: Path, sync: bool) -> tuple[dict, dict]:
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path), sync), nprocs=2, join=True)
    return torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")


def test_ema_codebooks_identical_across_ranks(tmp_path: Path) -> None:
    a, b = _run(tmp_path, sync=True)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_without_sync_ranks_diverge(tmp_path: Path) -> None:
    a, b = _run(tmp_path, sync=False)
    assert not all(torch.equal(a[k], b[k]) for k in a)

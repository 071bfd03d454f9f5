"""The one training loop: data, optimizer, schedule, progress, evaluation, checkpoints, signals, DDP."""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from vqcodec.train import distributed
from vqcodec.train.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint, save_checkpoint
from vqcodec.train.config import TrainConfig
from vqcodec.train.data import StepBatches, split_files
from vqcodec.train.datasets import DATA
from vqcodec.train.logger import MetricsLog
from vqcodec.train.tasks import Task, build_task, initialise_from

# settings that may differ between a run and its resumption (they change neither the math nor the data order)
_RESUMABLE = {"steps", "eval_every", "ckpt_every", "log_every", "workers", "threads", "device", "tensorboard", "out"}


@dataclass
class TrainResult:
    """Where a run ended: ``step`` reached, its checkpoint, last metrics, wall time (cumulative over resumes)."""

    step: int
    checkpoint: Path
    train_metrics: dict[str, float] = field(default_factory=dict)
    val_metrics: dict[str, float] = field(default_factory=dict)
    initial_val_metrics: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    interrupted: bool = False


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then cosine decay to 10% at ``cfg.steps``."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


@contextmanager
def _stop_on_signals() -> Iterator[dict[str, bool]]:
    """Turn SIGINT/SIGTERM into a flag so the loop can checkpoint and stop cleanly."""
    flag = {"stop": False}

    def handler(signum: int, frame: Any) -> None:  # noqa: ARG001
        flag["stop"] = True

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _ignore_signals(_worker_id: int) -> None:
    """DataLoader workers leave SIGINT/SIGTERM to the main process, which checkpoints and stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _check_resume(saved: dict[str, Any], cfg: TrainConfig) -> None:
    # both through TrainConfig and JSON: names of earlier versions and settings added since take today's form
    now = json.loads(json.dumps(cfg.to_dict()))
    then = json.loads(json.dumps(TrainConfig.from_dict(saved).to_dict()))
    diff = sorted(k for k in now if k not in _RESUMABLE and then.get(k) != now[k])
    if diff:
        raise CheckpointError(f"checkpoint in {cfg.out} was made with other settings ({', '.join(diff)}); "
                              "use the same config or another --out")


def _val_batches(cfg: TrainConfig, files: list[Path], stride: int) -> list[torch.Tensor]:
    ds = DATA[cfg.modality].val(files[: cfg.val_items], cfg, stride)
    return [torch.stack([ds[j] for j in range(i, min(i + 4, len(ds)))]) for i in range(0, len(ds), 4)]


def _state(task: Task, opt: torch.optim.Optimizer, sched: Any, cfg: TrainConfig, step: int, wall: float,
           metrics: dict[str, float]) -> dict[str, Any]:
    return {"config": cfg.to_dict(), "kind": task.kind, "model": task.model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "step": step, "wall_s": wall,
            "rng": torch.get_rng_state(), "val_metrics": metrics, "argv": " ".join(sys.argv)}


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Run (or resume) the training described by ``cfg``; returns where it ended."""
    ctx = distributed.setup(cfg.device)
    try:
        return _train(cfg, resume, progress, ctx)
    finally:
        distributed.cleanup(ctx)


def _train(cfg: TrainConfig, resume: bool, progress: bool, ctx: distributed.DistContext) -> TrainResult:
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    ckpt_path = out / CHECKPOINT_NAME
    if ckpt_path.exists() and not resume:
        raise CheckpointError(f"{ckpt_path} exists: pass --resume to continue it, or choose another --out")
    data = DATA[cfg.modality]
    train_files, val_files = split_files(data.list_files(cfg.data), cfg.val_every_nth)
    if cfg.val_data:
        val_files = data.list_files(cfg.val_data)
    task = build_task(cfg, ctx.enabled)
    if task.dims != data.dims:
        raise ValueError(f"a {task.dims}-D model does not train on {cfg.modality} (set modality to "
                         f"{next(m for m, d in DATA.items() if d.dims == task.dims)} or model.net.dims={data.dims})")
    start, wall0, initial = 0, 0.0, {}
    if resume:
        saved = load_checkpoint(ckpt_path)
        _check_resume(saved["config"], cfg)
    elif cfg.init_from:
        initialise_from(task, cfg.init_from)
    task.to(ctx.device)
    params = task.parameters()
    opt = torch.optim.AdamW(params or [torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    if resume:
        task.model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"])
        start, wall0 = int(saved["step"]), float(saved["wall_s"])
    if ctx.enabled and params:
        task.forward_module = DistributedDataParallel(task.model, broadcast_buffers=False)
    stride = task.stride
    if cfg.crop % stride:
        raise ValueError(f"crop {cfg.crop} is not a multiple of the model's stride {stride} "
                         f"(try {max(stride, cfg.crop // stride * stride)})")
    val = [b.to(ctx.device) for b in _val_batches(cfg, val_files, stride)]
    log = MetricsLog(out, cfg.tensorboard) if ctx.is_main else None
    if cfg.init_from and start == 0 and ctx.is_main:
        initial = task.evaluate(val)
        log and log.log(0, "val_initial", initial)  # type: ignore[func-returns-value]
    loader = DataLoader(data.train(train_files, cfg),
                        batch_sampler=StepBatches(start, cfg.steps, cfg.batch_size, ctx.rank, ctx.world),
                        num_workers=cfg.workers, persistent_workers=False, worker_init_fn=_ignore_signals,
                        generator=torch.Generator().manual_seed(cfg.seed))  # keeps the global RNG untouched
    result = TrainResult(step=start, checkpoint=ckpt_path, initial_val_metrics=initial)
    t0 = time.time()
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and ctx.is_main), desc=f"train {task.kind}",
               dynamic_ncols=True)
    task.model.train()
    with _stop_on_signals() as flag:
        for step, x in zip(range(start, cfg.steps), loader):
            loss, metrics = task.train_step(x.to(ctx.device))
            if params:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                opt.step()
                sched.step()
            done = step + 1
            result.step, result.train_metrics = done, metrics
            bar.update(1)
            if done % cfg.log_every == 0 or done == cfg.steps:
                bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items() if k in ("loss", "psnr", "bits")})
                log and log.log(done, "train", {**metrics, "lr": sched.get_last_lr()[0]})  # type: ignore[func-returns-value]
            last = done == cfg.steps or flag["stop"]
            if ctx.is_main and (done % cfg.eval_every == 0 or last):
                result.val_metrics = task.evaluate(val)
                log and log.log(done, "val", result.val_metrics)  # type: ignore[func-returns-value]
            result.wall_s = wall0 + time.time() - t0
            if ctx.is_main and (done % cfg.ckpt_every == 0 or last):
                save_checkpoint(ckpt_path, _state(task, opt, sched, cfg, done, result.wall_s, result.val_metrics))
            if flag["stop"]:
                result.interrupted = True
                break
    bar.close()
    if ctx.enabled:
        digests = codebook_digests(task.model)
        if ctx.is_main:
            save_checkpoint(ckpt_path, {**load_checkpoint(ckpt_path), "ddp_codebook_digests": digests})
    log and log.close()  # type: ignore[func-returns-value]
    return result


def codebook_digests(model: torch.nn.Module) -> list[str]:
    """sha256 of every rank's codebook buffers (all-gathered), to prove the ranks hold identical codebooks."""
    import hashlib

    import torch.distributed as dist

    h = hashlib.sha256()
    for name, buf in sorted(model.state_dict().items()):
        if "codebook" in name:
            h.update(buf.detach().cpu().contiguous().numpy().tobytes())
    mine = torch.frombuffer(bytearray(h.digest()), dtype=torch.uint8)
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    return [bytes(g.tolist()).hex() for g in gathered]

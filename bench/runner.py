"""The bench runner: every item x codec x setting is encoded, decoded, timed and measured.

It is generic over a :class:`~vqcodec.bench.modality.Modality` (items, rate, metrics) and codec specs
(:func:`~vqcodec.bench.codecs.make_codec`); images, speech and video all go through :func:`run_bench`.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import torch
from tqdm import tqdm
from vqcodec.bench.codecs import Codec, make_codec
from vqcodec.bench.machine import machine_info
from vqcodec.bench.modality import Modality
from vqcodec.bench.results import BenchResult, CodecResult, Row

T = TypeVar("T")


@dataclass(frozen=True)
class BenchConfig:
    """How to run the bench.

    Attributes:
        device: ``"cpu"`` or ``"cuda"``; passed to the codec adapters (classical ones ignore it).
        repeats: timed runs per encode and per decode; the median is reported.
        warmup: untimed runs before the timed ones.
        workers: processes the items are spread over (1 = in this process).
        threads: ``torch.set_num_threads`` in every process that codes.
    """

    device: str = "cpu"
    repeats: int = 3
    warmup: int = 1
    workers: int = 1
    threads: int = 1

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup < 0 or self.workers < 1 or self.threads < 1:
            raise ValueError(f"invalid bench config {self}")


def timed(fn: Callable[[], T], repeats: int, warmup: int, sync: Callable[[], None]) -> tuple[T, float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; return the last result and the median seconds.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before each timer start and stop.
    """
    for _ in range(warmup):
        fn()
    times, out = [], None
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)  # type: ignore[return-value]


def _sync_for(codec: Codec, device: str) -> Callable[[], None]:
    if device.startswith("cuda") and torch.cuda.is_available():
        def sync() -> None:
            codec.synchronize()
            torch.cuda.synchronize()
        return sync
    return codec.synchronize


def bench_item(path: Path, modality: Modality, codecs: Sequence[Codec], config: BenchConfig,
               on_step: Callable[[], None] | None = None) -> dict[str, list[Row]]:
    """Code one item with every codec at every setting; return the rows per codec name."""
    x = modality.load(path)
    out: dict[str, list[Row]] = {}
    for codec in codecs:
        sync = _sync_for(codec, config.device)
        rows = out.setdefault(codec.name, [])
        for s in codec.settings:
            data, enc_s = timed(partial(codec.encode, x, s), config.repeats, config.warmup, sync)
            rec, dec_s = timed(partial(codec.decode, data), config.repeats, config.warmup, sync)
            rec = modality.fit(rec, x)
            if rec.shape != x.shape or rec.dtype != x.dtype:
                raise RuntimeError(f"{codec.name}@{s}: decoded {rec.dtype}{rec.shape}, expected {x.dtype}{x.shape}")
            est = codec.estimated_bits(x, s)
            ref, got = modality.scored(x, rec)
            rows.append(Row(
                item=path.name, setting=s, bytes=codec.counted_bytes(data),
                rate=modality.rate(8 * codec.counted_bytes(data), x),
                rate_est=None if est is None else modality.rate(est, x),
                metrics={m.name: m.fn(ref, got) for m in modality.metrics}, enc_s=enc_s, dec_s=dec_s,
                frames=modality.frames_of(x),
            ))
            if on_step is not None:
                on_step()
    return out


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


def _worker(path: Path, modality: Modality, specs: Sequence[str], config: BenchConfig) -> dict[str, list[Row]]:
    codecs = [make_codec(s, config.device, modality.name) for s in specs]
    return bench_item(path, modality, codecs, config)


def run_bench(modality: Modality, items: Sequence[Path], specs: Sequence[str], config: BenchConfig,
              progress: bool = True, dataset: str = "", command: str = "") -> BenchResult:
    """Bench ``specs`` on ``items``; see :class:`BenchConfig`. Rows come back in item order."""
    if not items:
        raise ValueError("no items to bench")
    torch.set_num_threads(config.threads)
    codecs = [make_codec(s, config.device, modality.name) for s in specs]
    total = len(items) * sum(len(c.settings) for c in codecs)
    per_item: dict[Path, dict[str, list[Row]]] = {}
    with tqdm(total=total, desc=f"bench {modality.name}", unit="run", disable=not progress) as bar:
        if config.workers == 1:
            for p in items:
                bar.set_postfix_str(p.name)
                per_item[p] = bench_item(p, modality, codecs, config, on_step=lambda: bar.update(1))
        else:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(config.workers, mp_context=ctx, initializer=_worker_init,
                                     initargs=(config.threads,)) as pool:
                futs = {pool.submit(_worker, p, modality, list(specs), config): p for p in items}
                for f in as_completed(futs):
                    per_item[futs[f]] = f.result()
                    bar.update(total // len(items))
    results = [
        CodecResult(c.name, c.description, c.setting_name, list(c.settings),
                    [r for p in items for r in per_item[p][c.name]])
        for c in codecs
    ]
    return BenchResult(
        modality=modality.name, rate_key=modality.rate_key, metrics=[m.name for m in modality.metrics],
        codecs=results, dataset=dataset, command=command,
        machine=machine_info(config.device, config.threads, config.workers),
        config={**asdict(config), "items": len(items), **({"modality_options": modality.options()}
                                                          if modality.options() else {})},
    )

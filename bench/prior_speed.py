"""Prior coding speed and tiling cost.

``python -m vqcodec.bench.prior_speed [--out DIR] [--repeats N]``

* speed: encode/decode wall and CPU time of an untrained, realistically sized gated PixelCNN (K = 1024) on the
  latent grids of a 768x512 image at stride 8 (64x96) and stride 4 (128x192), with one torch thread;
* tiling cost: bits/index of a prior trained on a known 2-D Markov random field, coded with several tile sizes,
  against the model's untiled cross-entropy and the field's true entropy.

Writes ``prior_speed.json`` and ``prior_speed.md`` (machine and command included) to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from vqcodec.config import PriorConfig
from vqcodec.entropy import decode_indices, encode_indices
from vqcodec.priors import GatedPixelCNN
from vqcodec.priors.synthetic import MarkovField2d

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "prior_speed"


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def speed_rows(repeats: int) -> list[dict[str, object]]:
    """Best-of-``repeats`` encode/decode times for each grid and model width."""
    rows = []
    for channels, layers in ((32, 4), (64, 4)):
        for grid in ((64, 96), (128, 192)):
            cfg = PriorConfig(codebook_size=1024, channels=channels, num_layers=layers, tile_shape=(16, 16))
            torch.manual_seed(0)
            prior = GatedPixelCNN(cfg).eval()
            idx = torch.randint(0, 1024, (1, *grid, 1))
            best: dict[str, float] = {}
            for _ in range(repeats):
                enc, ew, ec = _timed(lambda: encode_indices(idx, prior))
                dec, dw, dc = _timed(lambda: decode_indices(enc.payload, prior, tuple(idx.shape), enc.tile_shape))
                if not torch.equal(dec, idx):
                    raise RuntimeError("round trip failed")
                for key, value in (("enc_s", ew), ("enc_cpu_s", ec), ("dec_s", dw), ("dec_cpu_s", dc)):
                    best[key] = min(best.get(key, float("inf")), value)
            rows.append(dict(grid=f"{grid[0]}x{grid[1]}", channels=channels, layers=layers, tile="16x16",
                             tiles=(grid[0] // 16) * (grid[1] // 16), **{k: round(v, 3) for k, v in best.items()}))
            print(rows[-1], flush=True)
    return rows


def tiling_rows(steps: int) -> tuple[dict[str, float], list[dict[str, object]]]:
    """Train a small prior on a K = 8 Markov field, then code a 64x96 grid with several tile sizes."""
    field = MarkovField2d.random(8, 0.3, seed=0)
    train, test = field.sample(1024, 16, 16, seed=1), field.sample(1, 64, 96, seed=2)
    torch.manual_seed(0)
    prior = GatedPixelCNN(PriorConfig(codebook_size=8, channels=16, num_layers=2, tile_shape=(16, 16)))
    opt = torch.optim.Adam(prior.parameters(), lr=0.03)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.03, total_steps=steps)
    for _ in range(steps):
        loss = prior.nll_bits(train[torch.randint(0, train.shape[0], (16,))])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    prior.eval()
    with torch.no_grad():
        ref = dict(true_bits=field.bits(test), model_bits_untiled=float(prior.nll_bits(test)))
    rows = []
    for tile in ((8, 8), (16, 16), (32, 32), (64, 96)):
        enc = encode_indices(test, prior, tile_shape=tile)
        n = test.numel()
        rows.append(dict(tile=f"{tile[0]}x{tile[1]}", est_bits_per_index=round(enc.estimated_bits / n, 4),
                         real_bits_per_index=round(8 * len(enc.payload) / n, 4),
                         cost_vs_untiled=round(enc.estimated_bits / n / ref["model_bits_untiled"] - 1, 4)))
        print(rows[-1], flush=True)
    return {k: round(v, 4) for k, v in ref.items()}, rows


def _markdown(result: dict) -> str:  # type: ignore[type-arg]
    lines = ["# Prior coding speed and tiling cost", "", f"Command: `{result['command']}`", "",
             f"Machine: {result['machine']}", "", "## Speed (K = 1024, one torch thread, best of repeats)", "",
             "| grid | C | L | tiles | enc s | enc CPU s | dec s | dec CPU s |", "|---|---|---|---|---|---|---|---|"]
    for r in result["speed"]:
        lines.append(f"| {r['grid']} | {r['channels']} | {r['layers']} | {r['tiles']} | {r['enc_s']} | "
                     f"{r['enc_cpu_s']} | {r['dec_s']} | {r['dec_cpu_s']} |")
    ref = result["tiling_reference"]
    lines += ["", "## Tiling cost (trained prior, K = 8 Markov field, one 64x96 grid)", "",
              f"True entropy {ref['true_bits']} bits/index; model cross-entropy without tiles "
              f"{ref['model_bits_untiled']} bits/index.", "",
              "| tile | est. bits/index | real bits/index | cost vs untiled |", "|---|---|---|---|"]
    for r in result["tiling"]:
        lines.append(f"| {r['tile']} | {r['est_bits_per_index']} | {r['real_bits_per_index']} | "
                     f"{100 * r['cost_vs_untiled']:+.2f}% |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write JSON + Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=300)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    speed = speed_rows(args.repeats)
    reference, tiling = tiling_rows(args.train_steps)
    machine = (f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
               f"load average {os.getloadavg()[0]:.1f} at the end, torch {torch.__version__}, "
               f"constriction {importlib.metadata.version('constriction')}, Python {platform.python_version()}")
    result = dict(name="prior_speed", command="python -m vqcodec.bench.prior_speed " + " ".join(sys.argv[1:]),
                  machine=machine, speed=speed, tiling_reference=reference, tiling=tiling)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prior_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "prior_speed.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()

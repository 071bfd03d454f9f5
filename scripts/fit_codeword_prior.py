"""Give a speech VQ model a codeword-predictive prior fitted in closed form (``vqcodec.train.codeword_fit``).

    python scripts/fit_codeword_prior.py BASE OUT.safetensors [--data DIR] [--tile FRAMES] [--window 2w+1]

BASE: a built-in name or a weights file of a 1-D ``vq`` model (its VQ-VAE is kept as it is, so the indices and the
decoded audio do not change). The encoder's latents and indices of every file of ``--data`` but every 25th (held
out, as ``vqcodec train`` does) fit the prior; the held-out files pick its metric and histogram weight. Writes an
fp16 weights file like ``vqcodec export --half`` and prints the held-out bits per stage and phase.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from vqcodec.api import codec_of, geometry
from vqcodec.config import PriorConfig
from vqcodec.media.adapters import ADAPTERS
from vqcodec.media.load import load_media
from vqcodec.priors.codeword import CodewordPrior
from vqcodec.registry import BUILTIN, load_model
from vqcodec.train.codeword_fit import Item, fit_codeword_prior
from vqcodec.train.data import split_files
from vqcodec.weights_io import load_weights, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/speech-train"))
    ap.add_argument("--tile", type=int, default=32,
                    help="tile in latent frames: only sizes the coding spans (256 tiles each for audio)")
    ap.add_argument("--window", type=int, default=9, help="context window 2w+1 in frames")
    ap.add_argument("--context-stages", type=int, default=0,
                    help="stages coded with their context (the rest with their histogram); 0 = all")
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"error: {args.out} exists")
    torch.set_num_threads(2)
    start = time.time()
    loaded = load_model(args.base)
    codec = codec_of(loaded, "audio")
    vqvae = codec.networks("cpu")
    core = vqvae.quantizer.core
    adapter = ADAPTERS["audio"]
    files = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in (".flac", ".wav"))
    train_files, held_files = split_files(files, 25)

    def items(paths: list[Path], what: str) -> list[Item]:
        out = []
        for path in tqdm(paths, desc=what):
            prep = adapter.prepare(load_media(path), geometry(codec))
            with torch.no_grad():
                z = vqvae.encoder(prep.x.float())[0].T.contiguous()  # (T, D)
                out.append(Item(z, core.encode(z)))
        return out

    train, held = items(train_files, "train latents"), items(held_files, "held-out latents")
    vq = codec.config.model.vq
    config = PriorConfig(kind="codeword", dims=1, codebook_size=vq.codebook_size, num_stages=vq.num_stages,
                         channels=vq.codebook_dim, kernel_size=args.window, tile_shape=(args.tile,), precision=16,
                         context_stages=args.context_stages)
    prior = CodewordPrior(config)
    codebooks = core.codebooks().float()
    fits = fit_codeword_prior(prior, codebooks, train, held)
    wf = load_weights(BUILTIN[args.base].path if args.base in BUILTIN else args.base)
    cfg = copy.deepcopy(wf.config)
    cfg["prior"] = config.to_dict()
    tensors = {"model": wf.tensors["model"], "prior": {k: v.detach() for k, v in prior.state_dict().items()}}
    wall = round(time.time() - start)
    training = {**wf.training, "prior_fit": json.dumps({
        "command": f"python scripts/fit_codeword_prior.py {args.base} {args.out} --data {args.data} "
                   f"--tile {args.tile} --window {args.window} --context-stages {args.context_stages}",
        "train_files": len(train_files), "held_out_files": len(held_files), "wall_s": wall,
        "stages": [f.__dict__ for f in fits]})}
    digest = save_weights(args.out, wf.kind, cfg, tensors, training, half=True)
    load_model(args.out)
    print(f"{args.out}: sha256 {digest[:12]}, {wall} s")


if __name__ == "__main__":
    main()

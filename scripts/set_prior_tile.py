"""Write a copy of a ``vq`` weights file whose prior codes in another tile shape (same tensors, fp16 kept).

    python scripts/set_prior_tile.py IN.safetensors OUT.safetensors T [T ...]

The coding tile is the prior's context window and the decoder's step count: a file is coded in tiles of this
shape, all tiles of a group in parallel, one prior step per position and stage of a tile. A shorter tile means
fewer sequential steps (faster decoding of short files) and less context (a few more bits); measure both before
shipping (`vqcodec.bench`, `scripts/speech_prior_gain.py`). Files written under the old tile do not decode with
the new weights (the header names the tile and the weights' sha256).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vqcodec.weights_io import load_weights, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("tile", type=int, nargs="+")
    args = ap.parse_args()
    wf = load_weights(args.src)
    if wf.kind != "vq" or "prior" not in wf.config:
        raise SystemExit(f"error: {args.src} is not a vq model with a prior")
    dims = int(wf.config["prior"].get("dims", len(wf.config["prior"]["tile_shape"])))
    if len(args.tile) != dims or min(args.tile) < 1:
        raise SystemExit(f"error: the prior is {dims}-D: give {dims} positive tile sizes")
    config = {**wf.config, "prior": {**wf.config["prior"], "tile_shape": list(args.tile)}}
    training = {**wf.training, "prior_tile_from": f"{args.src.name}: {wf.config['prior']['tile_shape']}"}
    digest = save_weights(args.out, wf.kind, config, wf.tensors, training, half=True)
    print(f"{args.out}: tile {args.tile}, sha256 {digest[:12]}")


if __name__ == "__main__":
    main()

"""Real payload kbps per quality on speech-test with the PixelCNN prior, against the best any unigram prior could
do on the same indices: the empirical entropy of each stage's indices over the whole test set (a unigram fitted to
the test data itself, a lower bound for every unigram prior); and PixelCNN bits vs coding-tile length.
Usage: python scripts/speech_prior_gain.py MODEL OUT.json  (LIMIT=N: first N files)"""
import json, sys
from pathlib import Path
import torch
import vqcodec
from vqcodec.api import codec_of, geometry
from vqcodec.entropy import encode_indices
from vqcodec.media.adapters import ADAPTERS
from vqcodec.media.load import load_media
torch.set_num_threads(2)
pix = vqcodec.load_model(sys.argv[1]); cp = codec_of(pix, "audio")
import os
files = sorted(Path("../shared/data/speech-test").rglob("*.flac"))[: int(os.environ.get("LIMIT", "1000"))]
adapter = ADAPTERS["audio"]
seconds, grids = 0.0, []
for f in files:
    media = load_media(f)
    prep = adapter.prepare(media, geometry(cp))
    seconds += media.samples.shape[1] / media.sample_rate
    grids.append(cp.encode_indices(prep.x, cp.num_stages, adapter.plan(cp.strides)))
flat = torch.cat([g.reshape(-1, g.shape[-1]) for g in grids])  # (positions, stages)
K = cp.prior.config.codebook_size
def stage_bits(s):
    p = torch.bincount(flat[:, s], minlength=K).double(); n = p.sum(); p = p[p > 0] / n
    return float(-(p * p.log2()).sum() * n)
ent = [stage_bits(s) for s in range(flat.shape[1])]
tile = tuple(cp.prior.config.tile_shape)
out = {"files": len(files), "seconds": round(seconds, 2), "positions": int(flat.shape[0]), "tile": list(tile),
       "per_quality": {}, "tile_kbps": {}}
kbps = lambda q, t: sum(8 * len(encode_indices(g[..., :q], cp.prior, t).payload) for g in grids) / seconds / 1000
for q in range(1, cp.num_stages + 1):
    a, b = kbps(q, tile), sum(ent[:q]) / seconds / 1000
    out["per_quality"][q] = {"pixelcnn_kbps": round(a, 4), "unigram_entropy_kbps": round(b, 4),
                             "saving": round(1 - a / b, 4)}
    print(q, out["per_quality"][q], flush=True)
for q in (2, 4, 8, 16):
    for t in (8, 16, 32, 64, 128, 256):
        out["tile_kbps"][f"q{q}_tile{t}"] = round(kbps(q, (t,)), 4)
    print(q, {k: v for k, v in out["tile_kbps"].items() if k.startswith(f"q{q}_")}, flush=True)
Path(sys.argv[2]).write_text(json.dumps(out, indent=1))

"""Two priors on the same indices: real payload bytes per quality on speech-test, and each prior's coding time.

    python scripts/compare_speech_priors.py BASE OTHER OUT.json [--every N]

BASE and OTHER must share the VQ-VAE (same indices; e.g. ``vq-speech`` and the output of
``scripts/fit_codeword_prior.py vq-speech ...``). Payloads are the entropy-coded index bytes (the file header is the
same for both). Times: encode and decode of the index payload alone, one process, 2 torch threads, summed over the
files (decode checks the round trip).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import vqcodec
from vqcodec.api import codec_of, geometry
from vqcodec.entropy import decode_indices, encode_indices
from vqcodec.media.adapters import ADAPTERS
from vqcodec.media.load import load_media

QUALITIES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("other")
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/speech-test"))
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(2)
    models = {name: codec_of(vqcodec.load_model(name), "audio") for name in (args.base, args.other)}
    first = models[args.base]
    adapter = ADAPTERS["audio"]
    files = sorted(args.data.rglob("*.flac"))[:: args.every]
    seconds, grids = 0.0, []
    for path in files:
        media = load_media(path)
        seconds += media.samples.shape[1] / media.sample_rate
        grids.append(first.encode_indices(adapter.prepare(media, geometry(first)).x, first.num_stages,
                                          adapter.plan(first.strides)))
    rows = []
    for q in QUALITIES:
        row: dict[str, object] = {"quality": q}
        for label, name in (("base", args.base), ("other", args.other)):
            prior = models[name].prior
            start, total = time.perf_counter(), 0
            encoded = [encode_indices(g[..., :q], prior) for g in grids]
            enc_s = time.perf_counter() - start
            start = time.perf_counter()
            for g, e in zip(grids, encoded):
                out = decode_indices(e.payload, prior, tuple(g[..., :q].shape), e.tile_shape, checksum=e.checksum)
                assert torch.equal(out, g[..., :q])
                total += len(e.payload)
            row[label] = {"payload_bytes": total, "kbps": round(8 * total / seconds / 1000, 4),
                          "encode_s": round(enc_s, 3), "decode_s": round(time.perf_counter() - start, 3)}
        row["saving"] = round(1 - row["other"]["payload_bytes"] / row["base"]["payload_bytes"], 4)  # type: ignore[index]
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps({
        "base": args.base, "other": args.other, "files": len(files), "seconds": round(seconds, 2),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "command": f"python scripts/compare_speech_priors.py {args.base} {args.other} {args.out} --every {args.every}",
        "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

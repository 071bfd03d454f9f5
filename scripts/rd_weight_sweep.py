"""Rate-distortion choice of the video encoder's indices: BD-rate of each (weight, power) against the nearest
codewords (weight 0), on the first frames of training clips (never the bench clips).

    python scripts/rd_weight_sweep.py vq-video --weights 0,1,2,3,4,8 --powers 0,0.5 --frames 20

Per clip, quality and setting: the session walked as the encoder walks it (``VQCodec.rd_session``), the bits its
tables give the chosen indices (ideal code length), and PSNR-Y of the decoded frames. Used to pick
``rd_choice.RD_WEIGHT`` and ``RD_STAGE_POWER`` (see the ``vq-video`` card).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from vqcodec.api import codec_of
from vqcodec.bench.bdrate import bd_rate
from vqcodec.media.video import load_video
from vqcodec.models.vq import VQCodec
from vqcodec.registry import BUILTIN, builtin_model, load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
CLIPS = (("carphone_qcif_176x144_29.97fps_120f.mp4", 0), ("mobile_cif_352x288_30f_pcm.h264", 0),
         ("bikes_640x272_25fps_250f.mp4", 150), ("asl_book_640x480_30fps_109f.mkv", 0))


def luma(rgb: torch.Tensor) -> torch.Tensor:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def point(codec: VQCodec, frames: torch.Tensor, z: torch.Tensor, q: int, weight: float, power: float
          ) -> tuple[float, float]:
    """(bpp, PSNR-Y) of one clip ``frames (3, T, H, W)`` uint8 with latents ``z (1, T, h, w, D)``."""
    session = codec.rd_session(z, q, weight, power)
    bits = 0.0
    with torch.no_grad():
        for step in range(session.num_steps):
            freq = session.tables(step)
            sym = session.targets(step)
            rows = np.arange(len(sym)) if freq.shape[0] == len(sym) else np.zeros(len(sym), dtype=np.int64)
            bits += float(session.precision * len(sym) - np.log2(freq[rows, sym.numpy()]).sum())
            session.push(step, sym)
        x_hat = codec.decode_indices(session.result(), pixels=True)[0]
    mse = float(((luma(x_hat.float()) - luma(frames.float())) ** 2).mean())
    return bits / frames[0].numel(), 10 * math.log10(255**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--weights", default="0,1,2,3,4,8")
    ap.add_argument("--powers", default="0,0.5")
    ap.add_argument("--qualities", default="1,3,5,8")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    torch.set_num_threads(2)
    codec = codec_of(builtin_model(args.model) if args.model in BUILTIN else load_model(args.model), "video")
    assert isinstance(codec, VQCodec)
    qualities = [int(q) for q in args.qualities.split(",")]
    settings = [(float(w), float(p)) for w in args.weights.split(",") if float(w) > 0 for p in args.powers.split(",")]
    for name, start in CLIPS:
        frames = load_video(args.data / name, start + args.frames).frames[:, start:]
        h, w = frames.shape[-2] // 8 * 8, frames.shape[-1] // 8 * 8
        frames = frames[..., :h, :w].contiguous()
        with torch.no_grad():
            z = codec.encode_latents(frames[None])
        greedy = [point(codec, frames, z, q, 0.0, 0.0) for q in qualities]
        cells = []
        for weight, power in settings:
            curve = [point(codec, frames, z, q, weight, power) for q in qualities]
            bd = bd_rate([r for r, _ in greedy], [d for _, d in greedy], [r for r, _ in curve], [d for _, d in curve])
            cells.append(f"w{weight:g} p{power:g}: {bd:+.1f} %")
        print(f"{name}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()

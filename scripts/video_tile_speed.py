"""Bytes and encode/decode speed of video models on the first frames of the bench clips (one run each).

    python scripts/set_prior_tile.py codec/weights/vq-video.safetensors /tmp/fast.safetensors 16 8 8
    python scripts/video_tile_speed.py vq-video /tmp/fast.safetensors --quality 3 --frames 30

Used to weigh a smaller coding tile (fewer sequential prior steps, less context) against the shipped one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import vqcodec
from vqcodec.media.types import Video
from vqcodec.priors import rd_choice
from vqcodec.media.video import load_video
from vqcodec.registry import BUILTIN, builtin_model, load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
CLIPS = {"foreman": ("foreman_cif_352x288_300f_intra.h264", None),
         "cars": ("cars_320x240_25fps_30f.yuv", "320x240"),
         "BasketballPass": ("BasketballPass_416x240_50fps_png", None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="built-in names or weights files")
    ap.add_argument("--quality", type=int, default=3)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--rd-weight", type=float, help="the encoder's rate-distortion weight (0: greedy indices)")
    args = ap.parse_args()
    if args.rd_weight is not None:
        rd_choice.RD_WEIGHT = args.rd_weight
    models = {m: builtin_model(m) if m in BUILTIN else load_model(m) for m in args.models}
    for clip, (name, size) in CLIPS.items():
        loaded = load_video(args.data / name, args.frames, size=size)
        media = Video(loaded.frames, loaded.fps)
        for tag, model in models.items():
            t0 = time.perf_counter()
            data = vqcodec.compress(media, model, args.quality)
            t1 = time.perf_counter()
            vqcodec.decompress(data, model)
            t2 = time.perf_counter()
            n = media.frames.shape[1]
            print(f"{clip} {tag} q{args.quality}: {len(data)} bytes, encode {n / (t1 - t0):.2f} fps, "
                  f"decode {n / (t2 - t1):.2f} fps", flush=True)


if __name__ == "__main__":
    main()

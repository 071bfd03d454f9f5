"""Make the video bench set (or, with ``--split train``, the training set): a folder of links to the three
benchmark clips (the four training clips) of ../shared/data/video.

    python scripts/make_video_bench_set.py OUT [--data ../shared/data/video] [--split bench|train]

The split is fixed: foreman (Annex-B), BasketballPass (PNG frames) and cars (raw yuv) are benchmarked and never
trained on; mobile, bikes, asl_book and carphone (plus the still images of images-train) are the training clips.
carphone (176x144) is a training clip because MS-SSIM's five scales need sides above 160 px, and one clip without
MS-SSIM would leave the set's mean undefined.
"""

from __future__ import annotations

import argparse
from pathlib import Path

BENCH = ("foreman_cif_352x288_300f_intra.h264", "BasketballPass_416x240_50fps_png", "cars_320x240_25fps_30f.yuv")
TRAIN = ("mobile_cif_352x288_30f_pcm.h264", "bikes_640x272_25fps_250f.mp4", "asl_book_640x480_30fps_109f.mkv",
         "carphone_qcif_176x144_29.97fps_120f.mp4")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "video")
    ap.add_argument("--split", choices=("bench", "train"), default="bench")
    args = ap.parse_args()
    names = BENCH if args.split == "bench" else TRAIN
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = (args.data / name).resolve()
        if not src.exists():
            raise SystemExit(f"error: {src} is missing")
        link = args.out / name
        if not link.exists():
            link.symlink_to(src)
    print(f"{args.out}: {', '.join(names)}")


if __name__ == "__main__":
    main()

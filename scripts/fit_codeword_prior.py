"""Give a speech or video VQ model a codeword-predictive prior fitted in closed form (``vqcodec.train.codeword_fit``,
``codeword_fit_video``).

    python scripts/fit_codeword_prior.py BASE OUT.safetensors [--data DIR] [--tile FRAMES] [--window N]

BASE: a built-in name or a weights file of a 1-D (speech) or 3-D (video) ``vq`` model (its VQ-VAE is kept as it is,
so the indices and the decoded media do not change). Speech: the encoder's latents and indices of every file of
``--data`` (default ``../shared/data/speech-train``) but every 25th (held out, as ``vqcodec train`` does) fit the
prior; the held-out files pick its metric and histogram weight. Video: ``--data`` is a folder of clips (default
``../shared/data/video``) of which the training clips of ``scripts/make_video_bench_set.py`` are used (the benchmark
clips never), the first ``--frames`` of each, asl_book held out (the video model's validation clip); ``--window`` is
the spatial window ``k`` and ``--tile`` the frames per coding span. Writes an fp16 weights file like ``vqcodec export
--half`` and prints the held-out bits per stage and phase (video: intra, inter).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
from torch import Tensor
from tqdm import tqdm

from vqcodec.api import codec_of, geometry
from vqcodec.config import PriorConfig
from vqcodec.media.adapters import ADAPTERS
from vqcodec.media.load import load_media
from vqcodec.media.pixels import as_float
from vqcodec.media.types import Video
from vqcodec.media.video import load_video
from vqcodec.models.vq import VQCodec
from vqcodec.priors import CodewordPrior, CodewordVideoPrior, build_prior
from vqcodec.registry import BUILTIN, load_model
from vqcodec.train.codeword_fit import Item, StageFit, fit_codeword_prior
from vqcodec.train.codeword_fit_video import Clip, fit_codeword_video_prior
from vqcodec.train.data import split_files
from vqcodec.weights_io import load_weights, save_weights

VIDEO_TRAIN = (("mobile_cif_352x288_30f_pcm.h264", 0), ("bikes_640x272_25fps_250f.mp4", 0),
               ("carphone_qcif_176x144_29.97fps_120f.mp4", 0))
VIDEO_HELD = (("asl_book_640x480_30fps_109f.mkv", 0), ("bikes_640x272_25fps_250f.mp4", 150))
"""(clip, first frame): the training clips of ``scripts/make_video_bench_set.py`` (foreman, BasketballPass and cars
are benchmarked). Held out: asl_book (still camera) and the end of bikes (moving camera), so the metric is not picked
for still pictures only; the fit reads bikes' first ``--frames`` (at most 150) only."""


def speech_items(codec: VQCodec, data: Path) -> tuple[list[Item], list[Item]]:
    """Latents and indices of the training and the held-out files (every 25th) of ``data``."""
    vqvae = codec.networks("cpu")
    adapter = ADAPTERS["audio"]
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".flac", ".wav"))
    train_files, held_files = split_files(files, 25)

    def items(paths: list[Path], what: str) -> list[Item]:
        out = []
        for path in tqdm(paths, desc=what):
            prep = adapter.prepare(load_media(path), geometry(codec))
            with torch.no_grad():
                z = vqvae.encoder(prep.x.float())[0].T.contiguous()  # (T, D)
                out.append(Item(z, vqvae.quantizer.core.encode(z)))
        return out

    return items(train_files, "train latents"), items(held_files, "held-out latents")


def video_clips(codec: VQCodec, data: Path, frames: int, rd_weight: float = 0.0,
                span: int = 32) -> tuple[list[Clip], list[Clip]]:
    """Latents ``(T, H, W, D)`` and indices of the first ``frames`` of the training and held-out clips: the greedy
    quantizer's, or with ``rd_weight`` those the encoder chooses at the top quality under the base's prior (spans of
    ``span`` frames, as coded)."""
    vqvae = codec.networks("cpu")
    adapter = ADAPTERS["video"]

    def clip(name: str, start: int) -> Clip:
        loaded = load_video(data / name, start + frames)
        x = adapter.prepare(Video(loaded.frames[:, start:], loaded.fps), geometry(codec)).x  # (1, 3, T, H, W) uint8
        zs = []
        for lo in tqdm(range(0, x.shape[2], 8), desc=name, leave=False):  # frame-wise network: exact in chunks
            with torch.no_grad():
                zs.append(vqvae.encoder(as_float(x[:, :, lo: lo + 8]))[0])
        z = torch.cat(zs, 1).movedim(0, -1).contiguous()  # (T, H, W, D)
        if rd_weight > 0:  # the indices the encoder codes: chosen under the base's prior, span by span
            return Clip(z, torch.cat([chosen(z[lo: lo + span]) for lo in range(0, z.shape[0], span)]))
        return Clip(z, vqvae.quantizer.core.encode(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1))

    def chosen(z: Tensor) -> Tensor:
        session = codec.rd_session(z[None], codec.num_stages, rd_weight)
        with torch.no_grad():
            for step in range(session.num_steps):
                session.tables(step)
                session.push(step, session.targets(step))
        return session.result()[0]

    if frames > VIDEO_HELD[1][1]:
        raise SystemExit(f"error: --frames {frames} would train on the held-out end of bikes")
    if rd_weight > 0 and (not isinstance(codec.prior, CodewordVideoPrior) or codec.prior.span != span):
        raise SystemExit(f"error: --rd-weight needs a base with a video codeword prior coding spans of {span} frames")
    return [clip(*c) for c in VIDEO_TRAIN], [clip(*c) for c in VIDEO_HELD]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, help="speech: ../shared/data/speech-train; video: ../shared/data/video")
    ap.add_argument("--tile", type=int, default=32,
                    help="speech: tile in latent frames, only sizes the coding spans (256 tiles each); video: "
                         "frames per coding span (its first frame has no previous frame)")
    ap.add_argument("--window", type=int, help="context window: speech 2w+1 frames (9), video k x k positions (3)")
    ap.add_argument("--context-stages", type=int, default=0,
                    help="speech: stages coded with their context (the rest with their histogram); 0 = all")
    ap.add_argument("--frames", type=int, default=120, help="video: frames read from each clip")
    ap.add_argument("--rd-weight", type=float, default=0.0,
                    help="video: fit to the indices the encoder chooses under BASE's prior with this weight "
                         "(vqcodec.priors.rd_choice; 0: the greedy quantizer's)")
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"error: {args.out} exists")
    torch.set_num_threads(2)
    start = time.time()
    loaded = load_model(args.base)
    video = getattr(loaded.module, "dims", 0) == 3
    codec = codec_of(loaded, "video" if video else "audio")
    if not isinstance(codec, VQCodec):
        raise SystemExit(f"error: {args.base} is not a vq model")
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    data = args.data or shared / ("video" if video else "speech-train")
    window = args.window or (3 if video else 9)
    core = codec.networks("cpu").quantizer.core
    vq = codec.config.model.vq
    config = PriorConfig(kind="codeword", dims=3 if video else 1, codebook_size=vq.codebook_size,
                         num_stages=vq.num_stages, channels=vq.codebook_dim, kernel_size=window,
                         tile_shape=(args.tile, 4096, 4096) if video else (args.tile,), precision=16,
                         context_stages=args.context_stages)
    prior = build_prior(config)
    codebooks = core.codebooks().float()
    fits: list[StageFit]
    if isinstance(prior, CodewordVideoPrior):
        train_clips, held_clips = video_clips(codec, data, args.frames, args.rd_weight, args.tile)
        fits = fit_codeword_video_prior(prior, codebooks, train_clips, held_clips)
        sizes = {"train_clips": VIDEO_TRAIN, "held_out_clips": VIDEO_HELD, "frames": args.frames}
    else:
        assert isinstance(prior, CodewordPrior)
        train, held = speech_items(codec, data)
        fits = fit_codeword_prior(prior, codebooks, train, held)
        sizes = {"train_files": len(train), "held_out_files": len(held)}
    wf = load_weights(BUILTIN[args.base].path if args.base in BUILTIN else args.base)
    cfg = copy.deepcopy(wf.config)
    cfg["prior"] = config.to_dict()
    tensors = {"model": wf.tensors["model"], "prior": {k: v.detach() for k, v in prior.state_dict().items()}}
    wall = round(time.time() - start)
    extra = (f" --frames {args.frames} --rd-weight {args.rd_weight}" if video
             else f" --context-stages {args.context_stages}")
    training = {**wf.training, "prior_fit": json.dumps({
        "command": f"python scripts/fit_codeword_prior.py {args.base} {args.out} --data {data} "
                   f"--tile {args.tile} --window {window}{extra}",
        **sizes, "wall_s": wall, "stages": [f.__dict__ for f in fits]})}
    digest = save_weights(args.out, wf.kind, cfg, tensors, training, half=True)
    load_model(args.out)
    print(f"{args.out}: sha256 {digest[:12]}, {wall} s")


if __name__ == "__main__":
    main()

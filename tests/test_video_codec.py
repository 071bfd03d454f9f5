"""The frame-wise video model: an image model's transforms on every frame, a 3-D prior over the (t, h, w, stages)
grid that starts as the image prior per frame; round trips over multi-group clips, bit-exactness in another
process with another thread count, the CLI on the bundled clip."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import vqcodec
from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
from vqcodec.config import PriorConfig
from vqcodec.media import Video
from vqcodec.priors import build_prior
from vqcodec.priors.pixelcnn import inflated_state
from vqcodec.registry import load_model

from vqcodec.train.tasks_vq import frame_wise_video

from cli_helpers import run


def _image_vqvae() -> VQVAE:
    torch.manual_seed(3)
    net = NetConfig(dims=2, hidden=8, max_hidden=16, strides=(2, 2), num_res_blocks=1)
    return VQVAE(VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=4, num_stages=2,
                                                  kmeans_init=False))).eval()


def test_frame_wise_model_codes_every_frame_as_the_image_model() -> None:
    image = _image_vqvae()
    video = frame_wise_video(image)
    assert video.axis_strides == (1, 4, 4)
    x = torch.rand(2, 3, 5, 12, 8)  # 5 frames: more than one frame batch of the per-frame networks
    with torch.no_grad():
        per_frame = torch.stack([image.encode(x[:, :, t]) for t in range(5)], dim=1)
        assert torch.equal(video.encode(x), per_frame)
        rec = video.decode(per_frame)
        assert rec.shape == x.shape
        assert torch.allclose(rec[:, :, 3], image.decode(per_frame[:, 3]), atol=1e-6)
    with pytest.raises(ValueError, match="multiple of the model strides"):
        video.encode(torch.rand(1, 3, 2, 10, 8))


def test_inflated_prior_starts_as_the_image_prior_on_every_frame() -> None:
    torch.manual_seed(4)
    cfg2 = PriorConfig(dims=2, codebook_size=16, num_stages=2, channels=8, num_layers=3, tile_shape=(4, 4))
    prior2 = build_prior(cfg2).eval()
    prior3 = build_prior(PriorConfig(dims=3, codebook_size=16, num_stages=2, channels=8, num_layers=3,
                                     tile_shape=(4, 4, 4))).eval()
    prior3.load_state_dict(inflated_state(prior3, prior2.state_dict()))
    idx = torch.randint(0, 16, (2, 4, 5, 6, 2))
    with torch.no_grad():
        per_frame = torch.stack([prior2(idx[:, t]) for t in range(4)], dim=1)
        assert torch.allclose(prior3(idx), per_frame, atol=1e-5)
    wrong = build_prior(PriorConfig(dims=3, codebook_size=16, num_stages=2, channels=4, num_layers=3,
                                    tile_shape=(4, 4, 4)))
    with pytest.raises(ValueError, match="does not fit"):
        inflated_state(wrong, prior2.state_dict())  # type: ignore[arg-type]


@pytest.fixture(params=["pixelcnn", "codeword"])
def framewise_path(request: pytest.FixtureRequest) -> Path:
    """The tiny frame-wise video codec with each video prior."""
    name = "tiny_framewise_codec_path" if request.param == "pixelcnn" else "tiny_framewise_codeword_path"
    return Path(request.getfixturevalue(name))


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 9, 13), (7, 8, 8), (5, 17, 6)])
def test_frame_wise_round_trip_any_size_and_length(framewise_path: Path, shape: tuple[int, int, int]) -> None:
    """Clips longer than the prior's temporal tile (2 latent frames) are coded in several groups."""
    model = load_model(framewise_path)
    frames = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    comp = vqcodec.encode(Video(frames, Fraction(25)), model, 2)
    assert comp.header.shape == (3, *shape)
    out = vqcodec.decompress(comp.data, model)
    assert isinstance(out, Video) and out.frames.shape == frames.shape and out.fps == Fraction(25)
    again = vqcodec.decompress(comp.data, model)
    assert isinstance(again, Video) and torch.equal(again.frames, out.frames)


_DECODE = """
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
import vqcodec
from vqcodec.registry import load_model
out = vqcodec.decompress(open(sys.argv[2], "rb").read(), load_model(sys.argv[1]))
open(sys.argv[2] + ".raw", "wb").write(out.frames.numpy().tobytes())
"""


def test_frame_wise_decode_is_bit_exact_in_another_process_and_thread_count(framewise_path: Path,
                                                                            tmp_path: Path) -> None:
    model = load_model(framewise_path)
    torch.manual_seed(5)
    frames = torch.randint(0, 256, (3, 6, 20, 28), dtype=torch.uint8)
    with torch.no_grad():
        torch.set_num_threads(2)
        comp = vqcodec.encode(Video(frames, Fraction(30)), model, 2)
        local = vqcodec.decompress(comp.data, model)
    (tmp_path / "c.vq").write_bytes(comp.data)
    for threads in ("1", "2"):
        res = subprocess.run([sys.executable, "-c", _DECODE, str(framewise_path), str(tmp_path / "c.vq"),
                              threads], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "OMP_NUM_THREADS": threads})
        assert res.returncode == 0, res.stderr[-2000:]
        assert (tmp_path / "c.vq.raw").read_bytes() == local.frames.numpy().tobytes()


def test_cli_codes_the_bundled_clip_with_a_frame_wise_model(tiny_framewise_codec_path: Path, tmp_path: Path) -> None:
    from vqcodec.media import load_video

    clip = Path(vqcodec.__file__).parent / "samples" / "clip.mp4"
    vq, out = tmp_path / "clip.vq", tmp_path / "clip.y4m"
    code, err, _ = run("encode", str(clip), "-o", str(vq), "--model", str(tiny_framewise_codec_path), "--quality", "1")
    assert code == 0, err
    code, err, _ = run("decode", str(vq), "-o", str(out), "--model", str(tiny_framewise_codec_path))
    assert code == 0, err
    src, dec = load_video(clip), load_video(out)
    assert dec.frames.shape == src.frames.shape


def test_the_kind_takes_uint8_pixels_and_gives_them_back_tile_by_tile(tiny_framewise_codec_path: Path) -> None:
    """A video reaches the kind as uint8 (x / 255) and can come back as uint8, converted per tile: the same indices
    and the same pixels as with floats, whatever the tiling."""
    from vqcodec.media.pixels import to_pixels
    from vqcodec.media.tiler import Tiling

    codec = load_model(tiny_framewise_codec_path).module
    torch.manual_seed(9)
    frames = torch.randint(0, 256, (1, 3, 9, 24, 16), dtype=torch.uint8)
    tiles = Tiling((4, 8, 8), (0, 4, 4))
    as_float = codec.encode_indices(frames.float() / 255, 2)
    assert torch.equal(codec.encode_indices(frames, 2), as_float)
    assert torch.equal(codec.encode_indices(frames, 2, tiles), as_float)
    for tiling in (None, tiles):
        x_hat = codec.decode_indices(as_float, tiling=tiling)
        pixels = codec.decode_indices(as_float, tiling=tiling, pixels=True)
        assert x_hat.dtype == torch.float32 and pixels.dtype == torch.uint8
        assert torch.equal(pixels, to_pixels(x_hat))


def test_coding_reports_its_progress(tiny_framewise_codec_path: Path) -> None:
    from vqcodec.progress import listening

    model = load_model(tiny_framewise_codec_path)
    heard: list[tuple[str, float]] = []
    frames = torch.randint(0, 256, (3, 7, 16, 16), dtype=torch.uint8)
    with listening(lambda task, fraction: heard.append((task, fraction))):
        data = vqcodec.compress(Video(frames, Fraction(25)), model, 2)
        vqcodec.decompress(data, model)
    assert [t for t, _ in heard if _ == 1.0] == ["encoder", "prior", "prior", "decoder"]
    decode_prior = [f for t, f in heard[heard.index(("prior", 1.0)) + 1:] if t == "prior"]
    assert decode_prior == sorted(decode_prior) and len(decode_prior) > 2  # within sessions, never backwards
    heard.clear()
    vqcodec.decompress(data, model)
    assert not heard  # nobody listens outside the block


def test_chosen_indices_report_one_task_that_never_goes_back(tiny_framewise_codeword_path: Path) -> None:
    """The encoder that chooses its indices runs the networks and the coder span by span: one progress task."""
    from vqcodec.progress import listening

    model = load_model(tiny_framewise_codeword_path)
    heard: list[tuple[str, float]] = []
    frames = torch.randint(0, 256, (3, 9, 16, 16), dtype=torch.uint8)  # 5 spans of 2 frames (the tiny prior's span)
    with listening(lambda task, fraction: heard.append((task, fraction))):
        vqcodec.compress(Video(frames, Fraction(25)), model, 2)
    assert {t for t, _ in heard} == {"encoder"}
    fractions = [f for _, f in heard]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5


def test_the_codeword_video_model_codes_greedy_or_chosen_indices(tiny_framewise_codeword_path: Path) -> None:
    """rd_weight 0 codes the greedy quantizer's indices, a positive weight the chosen ones (fewer bits); both
    decode through the same path; a weight that is not a finite non-negative number is refused."""
    from vqcodec.api import codec_of

    model = load_model(tiny_framewise_codeword_path)
    codec = codec_of(model, "video")
    torch.manual_seed(11)
    frames = torch.randint(0, 256, (1, 3, 5, 16, 16), dtype=torch.uint8)
    greedy = codec.compress(frames, 2, group=1, rd_weight=0.0)
    chosen = codec.compress(frames, 2, group=1, rd_weight=1e4)  # the tiny random model needs a large weight
    assert chosen.estimated_bits < greedy.estimated_bits
    greedy_indices = codec.decode_indices(codec.encode_indices(frames, 2))
    assert torch.equal(codec.decompress(greedy), greedy_indices)
    assert codec.decompress(chosen).shape == greedy_indices.shape
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite and >= 0"):
            codec.compress(frames, 2, group=1, rd_weight=bad)

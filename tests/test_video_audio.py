"""A video's sound track: coded by an audio model into a last payload section of the same ``.vq`` (header flag),
restored on decode into .mkv (FLAC) and .mp4 (AAC), dropped with --no-audio; forged tracks are typed errors."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

import vqcodec
from vqcodec.bitstream import container
from vqcodec.bitstream.errors import CorruptStreamError
from vqcodec.bitstream.header import Header
from vqcodec.media import Video
from vqcodec.media.types import Audio, Image
from vqcodec.media.video import load_audio_track, load_video, save_video
from vqcodec.registry import load_model

from cli_helpers import one_error_line, run


def _tone(seconds: float, rate: int, channels: int = 1) -> Audio:
    t = torch.arange(int(seconds * rate)) / rate
    wave = 0.3 * torch.sin(2 * torch.pi * 330.0 * t) * (1 + 0.5 * torch.sin(2 * torch.pi * 3.0 * t))
    return Audio(wave.repeat(channels, 1).float(), rate)


def _clip(frames: int = 6) -> torch.Tensor:
    torch.manual_seed(7)
    return torch.randint(0, 256, (3, frames, 16, 24), dtype=torch.uint8)


def test_a_video_with_sound_round_trips_both(tiny_framewise_codec_path: Path, tiny_audio_codec_path: Path) -> None:
    video_model, audio_model = load_model(tiny_framewise_codec_path), load_model(tiny_audio_codec_path)
    sound = _tone(0.4, 22050, channels=2)
    comp = vqcodec.encode(Video(_clip(), Fraction(15), sound), video_model, 2, audio_model=audio_model)
    header, sections = container.read(comp.data)
    assert header.audio_track and len(sections) == 2
    track = container.read(sections[-1])[0]
    assert (track.modality, track.shape, track.sample_rate) == ("audio", (2, sound.samples.shape[1]), 22050)
    silent = vqcodec.encode(Video(_clip(), Fraction(15)), video_model, 2)
    assert not silent.header.audio_track and silent.data == vqcodec.compress(
        Video(_clip(), Fraction(15)), video_model, 2)
    assert 1 <= len(comp.data) - len(silent.data) - len(sections[-1]) <= 6  # the track and a few length bytes

    out = vqcodec.decompress(comp.data, video_model, audio_model=audio_model)
    assert isinstance(out, Video) and out.audio is not None
    assert torch.equal(out.frames, vqcodec.decompress(silent.data, video_model).frames)  # same video payload
    assert out.audio.sample_rate == 22050 and out.audio.samples.shape == (1, sound.samples.shape[1])
    alone = vqcodec.decompress(sections[-1], audio_model, rate="input")
    assert isinstance(alone, Audio) and torch.equal(alone.samples, out.audio.samples)


def test_the_track_flag_needs_an_audio_section(tiny_framewise_codec_path: Path, tiny_codec_path: Path) -> None:
    video_model = load_model(tiny_framewise_codec_path)
    data = vqcodec.compress(Video(_clip(), Fraction(15)), video_model, 2)
    header, sections = container.read(data)
    image = vqcodec.compress(Image(torch.zeros(3, 8, 8, dtype=torch.uint8)), str(tiny_codec_path), 1)
    forged = container.write(dataclasses.replace(header, audio_track=True), [*sections, image])
    with pytest.raises(CorruptStreamError, match="holds no audio"):
        vqcodec.decompress(forged, video_model)
    with pytest.raises(CorruptStreamError, match="not a .vq stream"):
        vqcodec.decompress(container.write(dataclasses.replace(header, audio_track=True), [*sections, b"xyz"]),
                           video_model)
    with pytest.raises(CorruptStreamError, match="only a video"):
        dataclasses.replace(container.read(image)[0], audio_track=True)


def test_the_flag_survives_the_header_and_version_one_files_cannot_set_it() -> None:
    from vqcodec.bitstream.header import pack, unpack
    from vqcodec.bitstream.varint import Reader

    from vqcodec.bitstream.fields import VQFields

    fields = VQFields((2, 3, 4), (2, 3, 4), 1, 16, 0, 1, 1)
    h = Header("m", "0" * 8, "video", "vq", (3, 2, 24, 32), (0, 0, 0), 1, fields, frame_rate=(25, 1),
               audio_track=True)
    raw = pack(h)
    assert unpack(Reader(raw, 0)) == h
    assert unpack(Reader(pack(dataclasses.replace(h, audio_track=False)), 0)).audio_track is False


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "flac"), (".mp4", "aac")])
def test_containers_carry_the_sound(tmp_path: Path, suffix: str, codec: str) -> None:
    sound = _tone(1.0, 16000)
    path = tmp_path / f"v{suffix}"
    assert save_video(_clip(30), Fraction(30), path, sound)
    with av.open(str(path)) as c:
        assert [(s.type, s.codec_context.name) for s in c.streams][1] == ("audio", codec)
    back = load_audio_track(path)
    assert back is not None and back.sample_rate == 16000
    n = sound.samples.shape[1]
    if codec == "flac":  # exact 16-bit samples
        assert back.samples.shape == (1, n)
        assert float((back.samples - sound.samples).abs().max()) <= 1.0 / 32767
    else:  # AAC: priming and padding samples, lossy but close
        assert n <= back.samples.shape[1] <= n + 2048
    assert not save_video(_clip(3), Fraction(30), tmp_path / "v.y4m", sound)  # Y4M holds no sound
    assert load_audio_track(tmp_path / "v.y4m") is None
    assert torch.equal(load_video(path).frames, _clip(30))  # both containers keep the frames exactly


def test_cli_keeps_restores_or_drops_the_track(tiny_framewise_codec_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "talk.mkv"
    save_video(_clip(24), Fraction(24), src, _tone(1.0, 16000))
    vq, bare = tmp_path / "talk.vq", tmp_path / "bare.vq"
    model = str(tiny_framewise_codec_path)
    code, err, _ = run("encode", str(src), "-o", str(vq), "--model", model, "--quality", "1")
    assert code == 0 and "sound 1.00 s 16000 Hz 1 ch" in err, err
    code, err, _ = run("encode", str(src), "-o", str(bare), "--model", model, "--quality", "1", "--no-audio")
    assert code == 0, err
    assert container.read(vq.read_bytes())[0].audio_track and not container.read(bare.read_bytes())[0].audio_track
    code, err, info = run("info", str(vq))
    assert code == 0 and "audio_track.model" in info.decode() and "vq-speech" in info.decode(), err

    out = tmp_path / "out.mkv"
    code, err, _ = run("decode", str(vq), "-o", str(out), "--model", model)
    assert code == 0, err
    track = load_audio_track(out)
    assert track is not None and track.samples.shape == (1, 16000) and track.sample_rate == 16000
    code, err, _ = run("decode", str(vq), "-o", str(tmp_path / "out.y4m"), "--model", model)
    assert code == 0 and "sound track is not written" in err
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "x.vq"), "--model", model, "--audio-quality", "99")
    assert code != 0 and one_error_line(err) and "audio track" in err


def test_videos_without_a_container_have_no_track(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    save_video(_clip(2), Fraction(25), frames)
    assert load_audio_track(frames) is None
    raw = tmp_path / "c.yuv"
    raw.write_bytes(np.zeros(16 * 24 * 3 // 2 * 2, dtype=np.uint8).tobytes())
    assert load_audio_track(raw) is None


def test_an_unreadable_track_is_one_line_that_names_the_way_out(tiny_framewise_codec_path: Path,
                                                                tmp_path: Path) -> None:
    """A container whose audio stream holds no samples: the error says so and points at --no-audio, which works."""
    src = tmp_path / "empty-sound.mkv"
    with av.open(str(src), mode="w") as c:
        video = c.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = 24, 16, "bgr0"
        c.add_stream("flac", rate=16000, layout="mono")
        for frame in _clip(3).permute(1, 2, 3, 0).numpy():
            c.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        c.mux(video.encode(None))
    model = str(tiny_framewise_codec_path)
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "x.vq"), "--model", model)
    assert code != 0 and one_error_line(err) and "--no-audio" in err, err
    code, err, _ = run("encode", str(src), "-o", str(tmp_path / "x.vq"), "--model", model, "--no-audio")
    assert code == 0, err

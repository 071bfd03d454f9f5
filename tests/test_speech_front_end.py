"""The source-filter speech front end: pitch tracking, deterministic noise, chunk-invariant synthesis, and a speech
VQ-VAE that trains, codes and decodes long signals in tiles without seams."""

from __future__ import annotations

import math

import pytest
import torch

from vqcodec import VQVAE, NetConfig, VQConfig, VQVAEConfig
from vqcodec.config import PriorConfig, SynthConfig, VQCodecConfig
from vqcodec.media.tiler import Tiling
from vqcodec.models.vq import VQCodec
from vqcodec.nn.speech import postfilter
from vqcodec.nn.synth import Synthesizer, hashed_noise, pitch
from vqcodec.spectral import mel_filterbank

SR = 16000


@pytest.mark.parametrize("f0", [70.0, 123.0, 220.0, 440.0])
def test_pitch_of_a_voiced_tone(f0: float) -> None:
    t = torch.arange(SR) / SR
    x = (0.3 * torch.sin(2 * math.pi * f0 * t) + 0.1 * torch.sin(2 * math.pi * 2 * f0 * t + 1.0))[None]
    est, periodicity = pitch(x, SR, 160, 50, 500)
    assert est.shape == (1, 100)
    assert abs(float(est[0, 10:90].median()) - f0) / f0 < 0.02
    assert float(periodicity[0, 10:90].mean()) > 0.9


def test_noise_and_silence_are_not_periodic() -> None:
    noise = torch.randn(1, SR, generator=torch.Generator().manual_seed(0)) * 0.1
    assert float(pitch(noise, SR, 160, 50, 500)[1].mean()) < 0.4
    assert float(pitch(torch.zeros(1, SR), SR, 160, 50, 500)[1].max()) == 0.0


def test_noise_is_a_function_of_the_sample_index() -> None:
    whole = hashed_noise(-100, 5000)
    parts = torch.cat([hashed_noise(-100, 1234), hashed_noise(1134, 3766)])
    assert torch.equal(whole, parts)
    assert abs(float(whole.std()) - 1.0) < 0.05 and abs(float(whole.mean())) < 0.05
    assert not torch.equal(hashed_noise(0, 100), hashed_noise(0, 100, offset=7))


def test_chunked_synthesis_equals_one_shot() -> None:
    torch.manual_seed(0)
    frames = 97
    f0 = 100 + 80 * torch.rand(2, frames)
    voicing = torch.rand(2, frames)
    harmonic, noise = torch.rand(2, 16, frames), 0.1 * torch.rand(2, 16, frames)
    synth = Synthesizer(SR, 160, 512, mel_filterbank(512, 16, SR))
    whole = synth.synthesize(f0, voicing, harmonic, noise, frames * 160)
    for chunk in (1, 10, 33):
        assert (synth.synthesize(f0, voicing, harmonic, noise, frames * 160, chunk_frames=chunk) - whole).abs().max() \
            < 1e-4 * float(whole.abs().max())
    assert whole.shape == (2, frames * 160) and torch.isfinite(whole).all()


def test_band_amplitudes_set_the_output_spectrum() -> None:
    """Excitations are normalised per band, so a band amplitude sets that band's output energy."""
    frames, bands = 50, mel_filterbank(512, 16, SR)
    synth = Synthesizer(SR, 160, 512, bands)
    f0, voiced = torch.full((1, frames), 140.0), torch.ones(1, frames)
    flat = torch.ones(1, 16, frames)
    louder = flat.clone()
    louder[:, 5] = 4.0
    a = synth.synthesize(f0, voiced, flat, 0 * flat, frames * 160)
    b = synth.synthesize(f0, voiced, louder, 0 * flat, frames * 160)
    spec = lambda y: torch.stft(y, 512, 160, window=torch.hann_window(512), return_complex=True).abs() ** 2
    energy_a, energy_b = bands @ spec(a)[0, :, 5:-5], bands @ spec(b)[0, :, 5:-5]
    ratio = (energy_b.mean(1) / energy_a.mean(1))
    assert ratio[5] > 4 and float(ratio[0]) == pytest.approx(1.0, abs=0.1)


def _speech_vqvae(**synth: float) -> VQVAEConfig:
    net = NetConfig(dims=1, in_channels=1, strides=(160, 2), hidden=16, num_res_blocks=1, res_kernel=3)
    return VQVAEConfig(net=net, vq=VQConfig(codebook_size=16, codebook_dim=8, num_stages=2, kmeans_init=False),
                       synth=SynthConfig(n_mels=20, bins=8, **synth), sample_rate=SR)  # type: ignore[arg-type]


def test_postfilter_sharpens_voicing_and_deepens_band_modulation() -> None:
    bins, frames = 8, 200
    cfg = SynthConfig(n_mels=20, bins=bins, voicing_sharpness=2.0, envelope_expansion=0.5, expansion_frames=11)
    t = torch.arange(frames, dtype=torch.float32)
    controls = torch.zeros(1, 2 + 2 * bins, frames)
    controls[:, 1] = torch.linspace(-3, 3, frames)
    controls[:, 2 : 2 + bins] = -4.0 + torch.sin(2 * math.pi * t / 16)[None]  # a 6.25 Hz band modulation
    controls[:, 2 + bins :] = torch.randn(bins, frames)
    out = postfilter(controls, cfg)
    assert torch.equal(postfilter(controls, SynthConfig(n_mels=20, bins=bins)), controls), "default: off"
    assert torch.equal(out[:, 1], 2 * controls[:, 1]) and torch.equal(out[:, 0], controls[:, 0])
    assert torch.equal(out[:, 2 + bins :], controls[:, 2 + bins :]), "harmonicity is left alone"
    inner = slice(20, frames - 20)
    depth = out[:, 2, inner].std() / controls[:, 2, inner].std()
    mean_gain = math.sin(11 * math.pi / 16) / (11 * math.sin(math.pi / 16))  # an 11-frame mean of a 16-frame period
    assert abs(float(depth) - (1 + 0.5 * (1 - mean_gain))) < 0.01
    flat = controls.clone()
    flat[:, 2 : 2 + bins] = -4.0 + 0.01 * t  # a ramp is its own moving average away from the edges
    assert torch.allclose(postfilter(flat, cfg)[:, 2 : 2 + bins, 10:-10], flat[:, 2 : 2 + bins, 10:-10], atol=1e-5)
    window = postfilter(controls[..., 50:120], cfg)[..., 5:-5]  # 5 frames of context either side suffice
    assert torch.allclose(window, out[..., 55:115], atol=1e-6)


def test_a_speech_vqvae_trains_through_the_synthesizer() -> None:
    torch.manual_seed(0)
    model = VQVAE(_speech_vqvae())
    x = 0.1 * torch.randn(2, 1, 3200)
    out = model(x)
    assert out.x_hat.shape == x.shape and out.aux_loss is not None and float(out.aux_loss) > 0
    out.loss.backward()
    grads = [p.grad for p in model.decoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    with pytest.raises(ValueError, match="synth front end"):
        VQVAEConfig(net=NetConfig(dims=2), synth=SynthConfig())


@pytest.mark.parametrize("synth", [{}, {"voicing_sharpness": 2.0, "envelope_expansion": 0.2}])
def test_long_speech_decodes_in_tiles_like_in_one_piece(synth: dict[str, float]) -> None:
    torch.manual_seed(0)
    cfg = _speech_vqvae(**synth)
    prior = PriorConfig(dims=1, codebook_size=16, num_stages=2, channels=8, num_layers=1, tile_shape=(16,))
    codec = VQCodec(VQCodecConfig(cfg, prior)).eval()
    x = 0.1 * torch.randn(1, 1, 320 * 60)
    tiles = Tiling((320 * 8,), (320 * 16,))  # the margin covers both networks' receptive fields
    indices = codec.encode_indices(x, 2, tiles)
    assert torch.equal(indices, codec.encode_indices(x, 2)), "tiled and untiled encoders give the same indices"
    whole, tiled = codec.decode_indices(indices), codec.decode_indices(indices, tiling=tiles)
    assert whole.shape == x.shape and (whole - tiled).abs().max() < 1e-4 * float(whole.abs().max() + 1e-6)

"""The source-filter front end of the speech VQ-VAE: frame-rate networks around a harmonic-plus-noise synthesizer.

::

    x (B, 1, T) --STFT--> log-mel (n_mels) + YIN pitch (log f0, periodicity), one frame per hop samples
        --conv + residual blocks, downsample by `down`--> z_e (B, D, T / (hop * down))          SpeechEncoder
    z_q --residual blocks, upsample by `down`--> per frame: f0, voicing v, log band amplitudes A (bins), band
        harmonicity m (bins): harmonic part A * v * sigmoid(m), noise part A * (1 - v * sigmoid(m))
        --Synthesizer (vqcodec.nn.synth)--> x_hat (B, 1, T)                                      SpeechDecoder

Everything learned runs at the frame rate (100 Hz for hop 160 at 16 kHz), so the model is cheap to train and to
run; the waveform's fine structure comes from the synthesizer, whose harmonic phase follows the decoded pitch.
The decoder's f0 and voicing are supervised by the encoder's pitch tracker (``pitch_loss``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqcodec.config import NetConfig, SynthConfig
from vqcodec.nn.blocks import ResBlock, conv, downsample, upsample
from vqcodec.nn.synth import Synthesizer, SynthStream, pitch
from vqcodec.spectral import mel_filterbank, mel_spectrogram

HARMONIC_BIAS = 3.0
"""Starting bias of the band harmonicity logits: voiced frames start almost purely harmonic in every band."""
SYNTH_CHUNK_FRAMES = 3000
"""Frames synthesised per chunk when decoding (bounded memory for long recordings)."""


def _blocks(net: NetConfig, channels: int) -> list[nn.Module]:
    return [ResBlock(1, channels, kernel=net.res_kernel, dilation=net.dilation_base**j)
            for j in range(net.num_res_blocks)]


class SpeechEncoder(nn.Module):
    """``x (B, 1, T)`` (T a multiple of ``hop * down``) -> ``z_e (B, out_channels, T / (hop * down))``."""

    def __init__(self, net: NetConfig, synth: SynthConfig, sample_rate: int, out_channels: int) -> None:
        super().__init__()
        self.synth, self.rate = synth, sample_rate
        self.hop, down = net.strides
        c = net.hidden
        layers: list[nn.Module] = [conv(1, synth.n_mels + 2, c, 5), *_blocks(net, c), nn.GELU(),
                                   downsample(1, c, c, down), *_blocks(net, c), nn.GELU(), conv(1, c, out_channels, 1)]
        self.net = nn.Sequential(*layers)

    def analyze(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(features (B, n_mels + 2, F), f0 (B, F) Hz, periodicity (B, F))`` with ``F = T / hop``."""
        s = self.synth
        wave = x[:, 0]
        frames = wave.shape[-1] // self.hop
        mel = mel_spectrogram(wave, self.rate, s.n_fft, s.n_mels, self.hop)[..., :frames]
        with torch.no_grad():
            f0, periodicity = pitch(wave.detach(), self.rate, self.hop, s.f0_min, s.f0_max)
        log_f0 = torch.log2(f0 / math.sqrt(s.f0_min * s.f0_max))
        features = torch.cat([mel.clamp_min(1e-5).log10(), log_f0[:, None], periodicity[:, None]], dim=1)
        return features, f0, periodicity

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.analyze(x)[0])


class SpeechDecoder(nn.Module):
    """``z (B, in_channels, L)`` -> ``x_hat (B, 1, L * hop * down)`` through frame controls and the synthesizer."""

    def __init__(self, net: NetConfig, synth: SynthConfig, sample_rate: int, in_channels: int) -> None:
        super().__init__()
        self.synth_config, self.rate = synth, sample_rate
        self.hop, down = net.strides
        c = net.hidden
        layers: list[nn.Module] = [conv(1, in_channels, c, 3), *_blocks(net, c), nn.GELU(),
                                   upsample(1, c, c, down), *_blocks(net, c), nn.GELU(),
                                   conv(1, c, 2 + 2 * synth.bins, 1)]
        self.net = nn.Sequential(*layers)
        self.synthesizer = Synthesizer(sample_rate, self.hop, synth.synth_fft,
                                       mel_filterbank(synth.synth_fft, synth.bins, sample_rate))

    def controls(self, z: Tensor) -> Tensor:
        """Raw frame controls ``(B, 2 + 2 * bins, L * down)``."""
        return self.net(z)

    def decode_controls(self, z: Tensor) -> Tensor:
        """The frame controls ``(B, 2 + 2 * bins, L * down)`` that decoding synthesises: :func:`postfilter` of the
        raw ones."""
        return postfilter(self.net(z), self.synth_config)

    def f0_voicing(self, controls: Tensor) -> tuple[Tensor, Tensor]:
        """``(f0 Hz, voicing logit)``, each ``(B, F)``."""
        s = self.synth_config
        f0 = s.f0_min * (s.f0_max / s.f0_min) ** torch.sigmoid(controls[:, 0])
        return f0, controls[:, 1]

    def synth_inputs(self, controls: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(f0, voicing, harmonic, noise)`` synthesizer inputs of frame controls ``(B, 2 + 2 * bins, F)``."""
        b = self.synth_config.bins
        f0, voicing = self.f0_voicing(controls)
        amplitude = torch.exp(controls[:, 2 : 2 + b].clamp(-16.0, 6.0))  # band amplitudes (sqrt of band energy)
        harmonic = torch.sigmoid(voicing)[:, None] * torch.sigmoid(controls[:, 2 + b :] + HARMONIC_BIAS)
        return f0.detach(), torch.ones_like(voicing), amplitude * harmonic, amplitude * (1 - harmonic)

    def synthesize(self, controls: Tensor, chunk_frames: int = 0, noise_offset: int = 0) -> Tensor:
        """The waveform ``(B, 1, F * hop)`` of frame controls ``(B, 2 + 2 * bins, F)``."""
        wave = self.synthesizer.synthesize(*self.synth_inputs(controls), controls.shape[-1] * self.hop, chunk_frames,
                                           noise_offset)
        return wave[:, None]

    def stream(self, batch: int, chunk_frames: int = 0) -> _ControlStream:
        """A streaming synthesis of controls pushed piece by piece (see :class:`vqcodec.nn.synth.SynthStream`)."""
        return _ControlStream(self, SynthStream(self.synthesizer, batch, chunk_frames))

    def forward(self, z: Tensor) -> Tensor:
        if self.training:
            return self.synthesize(self.controls(z), noise_offset=int(torch.randint(0, 1 << 30, ())))
        return self.synthesize(self.decode_controls(z))


class _ControlStream:
    """Frame controls in, waveform samples ``(B, 1, n)`` out, for :meth:`SpeechDecoder.stream`."""

    def __init__(self, decoder: SpeechDecoder, stream: SynthStream) -> None:
        self.decoder, self.stream = decoder, stream

    def push(self, controls: Tensor) -> Tensor:
        return self.stream.push(*self.decoder.synth_inputs(controls))[:, None]

    def finish(self) -> Tensor:
        return self.stream.finish()[:, None]


def postfilter(controls: Tensor, synth: SynthConfig) -> Tensor:
    """Decoding's postfilter of frame controls ``(B, 2 + 2 * bins, F)`` (same shape; ``synth``'s settings).

    Two corrections, tuned on held-out training files after training, for what quantisation smooths away:
    the voicing logit times ``voicing_sharpness`` (a firmer voiced/unvoiced decision: less noise in voiced
    frames, less buzz in unvoiced ones), and the log band amplitudes expanded in time,
    ``A + envelope_expansion * (A - mean_w(A))`` with ``mean_w`` the moving average over ``expansion_frames`` frames
    (edges replicated): the syllable-rate modulation of each band, which intelligibility rests on, made deeper.
    Each output frame depends on the ``expansion_frames // 2`` frames either side only, so tiles with that much more
    context decode the same controls as one pass.
    """
    k, a, w = synth.voicing_sharpness, synth.envelope_expansion, synth.expansion_frames
    if k == 1 and a == 0:
        return controls
    out = controls.clone()
    out[:, 1] = controls[:, 1] * k
    if a > 0 and w > 1:
        b = synth.bins
        log_amp = controls[:, 2 : 2 + b].clamp(-16.0, 6.0)
        mean = F.avg_pool1d(F.pad(log_amp, (w // 2, w // 2), mode="replicate"), w, stride=1)
        out[:, 2 : 2 + b] = log_amp + a * (log_amp - mean)
    return out


def band_amplitudes(x: Tensor, decoder: SpeechDecoder) -> Tensor:
    """The band amplitudes ``(B, bins, T / hop)`` of ``x (B, 1, T)`` in the synthesizer's own framing and bands
    (square roots of the band energies of hann-windowed frames centred on ``t * hop``)."""
    syn = decoder.synthesizer
    half = syn.n_fft // 2
    frames = x.shape[-1] // syn.hop
    padded = F.pad(x[:, 0], (half, half))
    spec = torch.fft.rfft(padded.unfold(1, syn.n_fft, syn.hop)[:, :frames] * syn.window.to(x.device, x.dtype))
    energy = torch.matmul(spec.abs() ** 2, syn.bands.to(x.device, x.dtype).T)
    return energy.clamp_min(0).sqrt().transpose(1, 2)


def supervision_loss(controls: Tensor, decoder: SpeechDecoder, x: Tensor, f0: Tensor, periodicity: Tensor) -> Tensor:
    """What the decoder's frame controls are told directly, from the encoder's analysis of ``x``: L1 of log2 f0 on
    voiced frames (weighted by periodicity), the voicing cross-entropy against the periodicity, and the L1 of the
    log band amplitudes against the input's (floor 1e-4). The band harmonicity is learned from the spectral
    losses alone."""
    pred_f0, logit = decoder.f0_voicing(controls)
    weight = periodicity.detach()
    f0_term = (weight * (torch.log2(pred_f0) - torch.log2(f0)).abs()).sum() / weight.sum().clamp_min(1.0)
    voicing = F.binary_cross_entropy_with_logits(logit, weight)
    with torch.no_grad():
        target = band_amplitudes(x, decoder).clamp_min(1e-4).log()
    bins = decoder.synth_config.bins
    return f0_term + voicing + F.l1_loss(controls[:, 2 : 2 + bins], target)

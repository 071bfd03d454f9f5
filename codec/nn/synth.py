"""Source-filter speech synthesis (harmonic + noise, DDSP-style) and a YIN-style pitch tracker, in torch.

Synthesis from frame-rate controls (one frame per ``hop`` samples, centred on sample ``t * hop``)::

    f0 (Hz), voicing v in [0, 1]  --linear interpolation--> f0(n), v(n)
    phase(n) = 2 pi sum_{m<=n} f0(m) / sr                 (float64 accumulator, carried across chunks)
    e(n) = sum_{k=1}^{K(n)} cos(k phase(n)),   K(n) = floor(sr / 2 / f0(n))          (band-limited pulse train)
    u(n) = white noise from a counter-based hash of the absolute sample index (the same on every device/chunking)
    E_t, U_t = STFT_t[e], STFT_t[u];   e_tb, u_tb = their energies in band b (mel-spaced bands W_b(f))
    Y_t(f) = v_t * E_t(f) * sum_b W'_b(f) h_tb / sqrt(e_tb) + U_t(f) * sum_b W'_b(f) n_tb / sqrt(u_tb)
    y = overlap-add of irfft(Y_t), normalised by the summed squared window

``h_tb`` and ``n_tb`` (the decoder's outputs) are the *band amplitudes* of the harmonic and noise parts: each
excitation is normalised to unit energy per band before it is shaped, so the decoder predicts a spectral envelope
(close to its input features) rather than a filter that must undo the excitation's own spectrum.

Harmonic phase comes from the pitch, not from a learned waveform, so spectral (phase-insensitive) losses suffice
to train it (Engel et al., "DDSP", ICLR 2020; Wang et al., "Neural source-filter waveform models", 2019). Long
signals are synthesised in chunks of frames with the phase carried over; the result equals one-shot synthesis up to
float rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_MASK32 = (1 << 32) - 1


def hashed_noise(start: int, length: int, offset: int = 0) -> Tensor:
    """Unit-variance uniform noise for samples ``start .. start + length - 1`` (float32), a pure function of the
    absolute sample index (plus ``offset``): identical whatever the chunking, thread count or device."""
    n = torch.arange(start + offset, start + offset + length, dtype=torch.int64)
    h = (n * 0x9E3779B1 + 0x7F4A7C15) & _MASK32
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & _MASK32
    h = ((h ^ (h >> 12)) * 0x297A2D39) & _MASK32
    h = h ^ (h >> 15)
    return ((h.to(torch.float64) + 0.5) / 2**32 - 0.5).mul_(math.sqrt(12.0)).float()


def frames_to_samples(values: Tensor, hop: int, start: int, length: int) -> Tensor:
    """Linear interpolation of frame values ``(B, F)`` (frame ``t`` at sample ``t * hop``) at samples
    ``start .. start + length - 1`` (held constant beyond the first and last frame) -> ``(B, length)``."""
    pos = torch.arange(start, start + length, dtype=torch.float64, device=values.device) / hop
    pos = pos.clamp(0, values.shape[1] - 1)
    lo = pos.floor().long().clamp(max=values.shape[1] - 1)
    hi = (lo + 1).clamp(max=values.shape[1] - 1)
    w = (pos - lo.double()).to(values.dtype)
    return values[:, lo] * (1 - w) + values[:, hi] * w


def pulse_train(phase: Tensor, harmonics: Tensor) -> Tensor:
    """``sum_{k=1}^{K} cos(k phase)`` with ``K = harmonics`` per sample, by the Dirichlet-kernel closed form."""
    half = phase * 0.5
    s = torch.sin(half)
    safe = torch.where(s.abs() < 1e-6, torch.ones_like(s), s)
    value = (torch.sin((harmonics + 0.5) * phase) / safe - 1.0) * 0.5
    return torch.where(s.abs() < 1e-6, harmonics, value)


class Synthesizer:
    """Harmonic-plus-noise synthesis (see the module docstring) for ``n_fft``-point frames every ``hop`` samples.

    Per frame it takes ``f0`` (Hz), ``voicing`` in [0, 1] and the harmonic and noise band amplitudes
    ``(B, bins, F)`` of ``bands``, mel-spaced triangles ``(bins, n_fft // 2 + 1)``.
    """

    def __init__(self, sample_rate: int, hop: int, n_fft: int, bands: Tensor) -> None:
        self.rate, self.hop, self.n_fft = sample_rate, hop, n_fft
        self.window = torch.hann_window(n_fft, periodic=True)
        self.bands = bands  # (bins, n_fft // 2 + 1): band energies
        self.spread = (bands / bands.sum(0, keepdim=True).clamp_min(1e-6)).T.contiguous()  # bins -> FFT bins

    def _excitation(self, f0: Tensor, start: int, length: int, phase0: Tensor) -> tuple[Tensor, Tensor]:
        f0_n = frames_to_samples(f0, self.hop, start, length).double()
        phase = phase0[:, None] + torch.cumsum(2 * math.pi * f0_n / self.rate, dim=1)
        phase_end = torch.remainder(phase[:, -1], 2 * math.pi)
        harmonics = torch.floor(self.rate / 2 / f0_n.clamp_min(1.0))
        return pulse_train(torch.remainder(phase, 2 * math.pi), harmonics).to(f0.dtype), phase_end

    def synthesize(self, f0: Tensor, voicing: Tensor, harmonic: Tensor, noise: Tensor, length: int,
                   chunk_frames: int = 0, noise_offset: int = 0) -> Tensor:
        """Waveform ``(B, length)`` from frame controls ``f0, voicing (B, F)`` and band amplitudes ``(B, bins, F)``.

        ``chunk_frames`` > 0 synthesises that many frames at a time (the same result up to float rounding);
        ``noise_offset`` shifts the noise sequence (training draws it at random).
        """
        stream = SynthStream(self, f0.shape[0], chunk_frames, noise_offset)
        head = stream.push(f0, voicing, harmonic, noise)
        return torch.cat([head, stream.finish()], dim=1)[:, :length]

    def _filtered(self, e: Tensor, u: Tensor, voicing: Tensor, harmonic: Tensor, noise: Tensor,
                  window: Tensor) -> Tensor:
        """Shaped frames ``(B, n, n_fft)`` of the excitation ``e`` and noise ``u`` for ``n`` frames."""
        spec_e = torch.fft.rfft(e.unfold(1, self.n_fft, self.hop) * window)  # (B, n, bins_fft)
        spec_u = torch.fft.rfft(u.unfold(1, self.n_fft, self.hop) * window)
        bands, spread = self.bands.to(e.device, e.dtype), self.spread.to(e.device, e.dtype)
        with torch.no_grad():  # the excitations' band energies only normalise; no gradient through them
            norm_e = torch.rsqrt(torch.matmul(spec_e.abs() ** 2, bands.T).clamp_min(1e-8))
            norm_u = torch.rsqrt(torch.matmul(spec_u.abs() ** 2, bands.T).clamp_min(1e-8))
        gain_e = torch.matmul(harmonic.transpose(1, 2) * norm_e * voicing[..., None], spread.T)
        gain_u = torch.matmul(noise.transpose(1, 2) * norm_u, spread.T)
        return torch.fft.irfft(spec_e * gain_e + spec_u * gain_u, n=self.n_fft) * window


class SynthStream:
    """Synthesis of frame controls pushed in pieces, with bounded memory: the harmonic phase, the excitation's
    tail and the pending overlap-add are carried from piece to piece, so the samples equal one-shot synthesis up to
    float rounding. ``push`` returns the samples that no later frame touches; ``finish`` the rest."""

    def __init__(self, synth: Synthesizer, batch: int, chunk_frames: int = 0, noise_offset: int = 0) -> None:
        self.s, self.batch, self.chunk, self.offset = synth, batch, chunk_frames, noise_offset
        self.half = synth.n_fft // 2
        self.buf: list[Tensor] = []  # controls (f0, voicing, harmonic, noise) of frames [base, base + n)
        self.base = 0
        self.next = 0  # first frame not yet synthesised
        self.phase: Tensor | None = None
        self.tail: Tensor | None = None  # excitation of samples [next * hop - half, generated)
        self.generated = -self.half
        self.pending: Tensor | None = None  # overlap-add sums of samples [next * hop - half, ...)
        self.emitted = 0

    def _frames(self) -> int:
        return self.base + (self.buf[0].shape[-1] if self.buf else 0)

    def push(self, f0: Tensor, voicing: Tensor, harmonic: Tensor, noise: Tensor) -> Tensor:
        """Add frames; synthesise every frame whose window's pitch is known (it is interpolated between frames,
        and a window reaches ``n_fft / 2`` samples past its frame)."""
        new = [f0, voicing, harmonic, noise]
        self.buf = new if not self.buf else [torch.cat([a, b], dim=-1) for a, b in zip(self.buf, new)]
        return self._run(self._frames() - (self.half // self.s.hop + 2))

    def finish(self) -> Tensor:
        """The remaining samples, the last frame's window included."""
        out = self._run(self._frames(), final=True)
        if self.pending is None:
            return out
        rest = self._normalised(self.pending, self.next * self.s.hop - self.half, self._frames() - 1)
        return torch.cat([out, rest], dim=1)

    def _run(self, upto: int, final: bool = False) -> Tensor:
        outs = []
        size = self.chunk if self.chunk > 0 else max(1, upto - self.next)
        while self.next < upto:
            hi = min(self.next + size, upto)
            outs.append(self._synth(self.next, hi, final))
        if outs:
            return torch.cat(outs, dim=1)
        return torch.zeros(self.batch, 0, dtype=self.buf[0].dtype, device=self.buf[0].device)

    def _synth(self, lo: int, hi: int, final: bool) -> Tensor:
        s, hop, half = self.s, self.s.hop, self.half
        f0, voicing, harmonic, noise = (t[..., lo - self.base : hi - self.base] for t in self.buf)
        need = (hi - 1) * hop + half
        f0_all = self.buf[0][:, max(0, lo - 1 - self.base) :]
        first = max(0, lo - 1 - self.base) + self.base
        phase = self.phase if self.phase is not None else torch.zeros(self.batch, dtype=torch.float64,
                                                                      device=f0.device)
        e_new, self.phase = s._excitation(f0_all, self.generated - first * hop, need - self.generated, phase)
        excitation = e_new if self.tail is None else torch.cat([self.tail, e_new], dim=1)
        self.generated = need
        start = lo * hop - half
        u = hashed_noise(start, need - start, self.offset).to(excitation.device, excitation.dtype)
        window = s.window.to(harmonic.device, harmonic.dtype)
        y = s._filtered(excitation, u[None].expand(self.batch, -1), voicing, harmonic, noise, window)
        span = (hi - lo - 1) * hop + s.n_fft
        added = _overlap_add(y, hop, span)
        if self.pending is not None:
            added[:, : self.pending.shape[1]] += self.pending
        done = (hi - lo) * hop  # samples [start, start + done) are final now
        self.pending, self.tail, self.next = added[:, done:], excitation[:, done:], hi
        self.buf = [t[..., hi - 1 - self.base :] for t in self.buf]  # keep one frame of history for the pitch
        self.base = hi - 1
        return self._normalised(added[:, :done], start, hi - 1)

    def _normalised(self, sums: Tensor, start: int, last: int) -> Tensor:
        """``sums`` of samples ``[start, start + n)`` divided by the squared windows of frames ``0 .. last`` that
        cover each sample (their overlap-add, computed for just the frames that reach the span); samples before
        ``emitted`` (the first window's left half) are dropped."""
        hop, n_fft, half = self.s.hop, self.s.n_fft, self.half
        length = sums.shape[1]
        lo = max(0, -(-(start + half - n_fft + 1) // hop))  # first frame whose window reaches the span
        hi = min(last, (start + length - 1 + half) // hop)  # last one
        norm = sums.new_zeros(length)
        if hi >= lo:
            window2 = self.s.window.to(sums.device, sums.dtype) ** 2
            first = lo * hop - half  # where frame lo's window starts
            span = (hi - lo) * hop + n_fft
            ola = _overlap_add(window2.expand(1, hi - lo + 1, n_fft), hop, span)[0]
            a, b = max(start, first), min(start + length, first + span)
            if b > a:
                norm[a - start : b - start] = ola[a - first : b - first]
        keep = max(0, self.emitted - start)
        self.emitted = max(self.emitted, start + length)
        return (sums / norm.clamp_min(1e-3))[:, keep:]


def _overlap_add(frames: Tensor, hop: int, length: int) -> Tensor:
    """Sum frames ``(B, n, size)`` placed every ``hop`` samples into ``(B, length)``."""
    b, n, size = frames.shape
    folded = F.fold(frames.transpose(1, 2).reshape(b, size, n), output_size=(1, length), kernel_size=(1, size),
                    stride=(1, hop))
    return folded.reshape(b, length)


def pitch(x: Tensor, sample_rate: int, hop: int, f0_min: float, f0_max: float,
          threshold: float = 0.15) -> tuple[Tensor, Tensor]:
    """YIN-style pitch (de Cheveigné & Kawahara, 2002) of ``x (B, T)`` for frames centred on ``t * hop``.

    Returns ``(f0 (B, T // hop) Hz, periodicity (B, T // hop) in [0, 1])``: the first lag whose cumulative mean
    normalised difference falls below ``threshold`` (else the global minimum), refined by a parabola; periodicity is
    ``1 - d'(lag)``. Unvoiced frames still get an f0 (of little meaning; their periodicity is low).
    """
    max_lag = int(math.ceil(sample_rate / f0_min))
    min_lag = max(2, int(sample_rate / f0_max))
    w = max_lag  # integration window
    length = w + max_lag + 1
    frames = x.shape[1] // hop
    padded = F.pad(x, (length // 2, length // 2 + hop))
    segs = padded.unfold(1, length, hop)[:, :frames].double()  # (B, F, length), centred on t * hop
    segs = segs - segs.mean(-1, keepdim=True)
    n = 1 << (length - 1).bit_length()  # n >= length: r(tau) for tau <= max_lag + 1 reads x_{j + tau}, j < w, up
    # to index w + max_lag = length - 1, so the circular correlation never wraps (the same values as n >= 2 length)
    cross = torch.fft.irfft(torch.fft.rfft(segs[..., :w], n=n).conj() * torch.fft.rfft(segs, n=n), n=n)
    r = cross[..., : max_lag + 2]  # r(tau) = sum_{j < w} x_j x_{j + tau}
    energy = F.pad(torch.cumsum(segs**2, dim=-1), (1, 0))  # energy[k] = sum_{j < k} x_j^2
    taus = torch.arange(max_lag + 2, device=x.device)
    e1 = energy[..., w : w + 1]
    e2 = energy[..., taus + w] - energy[..., taus]
    d = (e1 + e2 - 2 * r).clamp_min(0)  # YIN's difference function d(tau)
    e0 = energy[..., -1:]
    taus = torch.arange(d.shape[-1], dtype=d.dtype, device=d.device)
    cum = torch.cumsum(d[..., 1:], dim=-1)
    cmnd = torch.ones_like(d)
    cmnd[..., 1:] = d[..., 1:] * taus[1:] / cum.clamp_min(1e-12)
    search = cmnd[..., min_lag : max_lag + 1]
    below = search < threshold
    first = torch.where(below.any(-1), below.float().argmax(-1), search.argmin(-1))
    # walk down to the local minimum after the first crossing
    idx = first + min_lag
    for _ in range(max_lag // 4):  # the dip after a crossing is at most a quarter of the longest period away
        nxt = (idx + 1).clamp(max=max_lag)
        better = cmnd.gather(-1, nxt[..., None])[..., 0] < cmnd.gather(-1, idx[..., None])[..., 0]
        idx = torch.where(better, nxt, idx)
    left = cmnd.gather(-1, (idx - 1).clamp(min=1)[..., None])[..., 0]
    mid = cmnd.gather(-1, idx[..., None])[..., 0]
    right = cmnd.gather(-1, (idx + 1).clamp(max=max_lag + 1)[..., None])[..., 0]
    denom = left - 2 * mid + right
    shift = torch.where(denom.abs() > 1e-12, 0.5 * (left - right) / denom, torch.zeros_like(denom)).clamp(-1, 1)
    lag = idx.double() + shift
    f0 = (sample_rate / lag).clamp(f0_min, f0_max)
    periodicity = (1.0 - mid).clamp(0.0, 1.0)
    silent = e0[..., 0] < 1e-8 * length
    return f0.float(), torch.where(silent, torch.zeros_like(periodicity), periodicity).float()

"""Chunk seams of the speech codec on a long recording: the default 30 s chunks (1 s context) against one-shot
coding of the same file, and the log-mel error to the reference near chunk boundaries against elsewhere.
Usage: python scripts/speech_seams.py MODEL WAV QUALITY OUT.json"""
import json, sys
from pathlib import Path
import numpy as np, torch
import vqcodec
from vqcodec.api import codec_of, geometry
from vqcodec.media.adapters import ADAPTERS
from vqcodec.media.tiler import Tiling
from vqcodec.media.load import load_media
from vqcodec.spectral import mel_spectrogram
torch.set_num_threads(2)
model = vqcodec.load_model(sys.argv[1]); q = int(sys.argv[3])
codec = codec_of(model, "audio"); adapter = ADAPTERS["audio"]
media = load_media(sys.argv[2]); prep = adapter.prepare(media, geometry(codec))
chunked = adapter.plan(codec.strides); whole = Tiling((prep.x.shape[-1],), (0,))
idx_c = codec.encode_indices(prep.x, q, chunked); idx_w = codec.encode_indices(prep.x, q, whole)
same_indices = bool(torch.equal(idx_c, idx_w))
y_c = codec.decode_indices(idx_c, tiling=chunked)[0, 0]; y_w = codec.decode_indices(idx_c, tiling=whole)[0, 0]
x = prep.x[0, 0]; n = min(len(x), len(y_c))
core = chunked.core[0]; bounds = np.arange(core, n, core)
near = np.zeros(n, bool)
for b in bounds:
    near[max(0, b - 800): b + 800] = True  # +-50 ms
d = (y_c[:n] - y_w[:n]).abs().numpy()
# log-mel error per 10 ms frame (frame i centred on sample 160 i)
mel = lambda s: mel_spectrogram(s[None].double(), 16000, 1024, 80, 160).clamp_min(1e-5).log10()[0]
err = (mel(x[:n]) - mel(y_c[:n])).abs().mean(dim=0).numpy()
frames = np.arange(err.shape[0]) * 160
fnear = near[np.clip(frames, 0, n - 1)]
out = {"file": sys.argv[2], "seconds": n / 16000, "quality": q, "chunk_s": core / 16000,
       "context_s": chunked.margin[0] / 16000, "boundaries": int(len(bounds)),
       "indices_equal_chunked_vs_whole": same_indices,
       "max_abs_diff_chunked_vs_whole_near_boundaries": float(d[near].max()),
       "max_abs_diff_chunked_vs_whole_elsewhere": float(d[~near].max()),
       "logmel_error_near_boundaries": float(err[fnear].mean()), "logmel_error_elsewhere": float(err[~fnear].mean()),
       "signal_rms": float(x.pow(2).mean().sqrt())}
print(json.dumps(out, indent=1)); Path(sys.argv[4]).write_text(json.dumps(out, indent=1))

"""Long test recordings made by concatenating speech-train utterances (training data, never the benchmark):
OUT/tenmin.wav (600 s) and OUT/hour.wav (3600 s), 16 kHz 16-bit mono. Usage: python scripts/make_long_speech.py OUT"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

files = sorted(Path("../shared/data/speech-train").rglob("*.flac"))
out_dir = Path(sys.argv[1])
out_dir.mkdir(parents=True, exist_ok=True)
for name, seconds in (("tenmin", 600), ("hour", 3600)):
    parts, total, i = [], 0, 0
    while total < seconds * 16000:
        x, _ = sf.read(files[i % len(files)], dtype="int16")
        parts.append(x)
        total, i = total + len(x), i + 1
    sf.write(out_dir / f"{name}.wav", np.concatenate(parts)[: seconds * 16000], 16000, subtype="PCM_16")
print("wrote", out_dir / "tenmin.wav", out_dir / "hour.wav")

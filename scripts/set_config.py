"""Write a copy of a weights file with some config values changed (same tensors, fp16 storage).

    python scripts/set_config.py IN.safetensors OUT.safetensors KEY=VALUE [KEY=VALUE ...]

KEY is a dotted path into the file's config (``model.synth.voicing_sharpness=2``); VALUE is JSON (a bare word is a
string), parsed as ``vqcodec train --set`` does. For settings that change no tensor, such as the speech decoder's postfilter (``model.synth.*``, see
``vqcodec.nn.speech.postfilter``). The copy is loaded once to check that it still builds. Its sha256 differs, so
files written with the old weights name another model.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from vqcodec.registry import load_model
from vqcodec.train.config import apply_sets
from vqcodec.weights_io import WeightsError, load_weights, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("items", nargs="+", metavar="KEY=VALUE")
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"error: {args.out} exists")
    wf = load_weights(args.src)
    config = copy.deepcopy(wf.config)
    try:
        apply_sets(config, args.items)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    training = {**wf.training, "config_set": f"{args.src.name}: {', '.join(args.items)}"}
    digest = save_weights(args.out, wf.kind, config, wf.tensors, training, half=True)
    try:
        load_model(args.out)
    except WeightsError as exc:
        args.out.unlink()
        raise SystemExit(f"error: the new config does not build: {exc}") from None
    print(f"{args.out}: {', '.join(args.items)}; sha256 {digest[:12]}")


if __name__ == "__main__":
    main()

"""Write a copy of a weights file with some config values changed (same tensors, fp16 storage).

    python scripts/set_config.py IN.safetensors OUT.safetensors KEY=VALUE [KEY=VALUE ...]

KEY is a dotted path into the file's config (``model.synth.voicing_sharpness=2``); VALUE is JSON (a bare word is a
string). For settings that change no tensor, such as the speech decoder's postfilter (``model.synth.*``, see
``vqcodec.nn.speech.postfilter``). The copy is loaded once to check that it still builds. Its sha256 differs, so
files written with the old weights name another model.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from vqcodec.registry import load_model
from vqcodec.weights_io import WeightsError, load_weights, save_weights


def _assign(config: dict[str, Any], item: str) -> str:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise SystemExit(f"error: {item!r} is not KEY=VALUE")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    *path, last = key.split(".")
    node = config
    for part in path:
        node = node.get(part)  # type: ignore[assignment]
        if not isinstance(node, dict):
            raise SystemExit(f"error: {key}: {part} is not a section of the config")
    node[last] = value
    return f"{key}={json.dumps(value)}"


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
    changes = [_assign(config, item) for item in args.items]
    training = {**wf.training, "config_set": f"{args.src.name}: {', '.join(changes)}"}
    digest = save_weights(args.out, wf.kind, config, wf.tensors, training, half=True)
    try:
        load_model(args.out)
    except WeightsError as exc:
        args.out.unlink()
        raise SystemExit(f"error: the new config does not build: {exc}") from None
    print(f"{args.out}: {', '.join(changes)}; sha256 {digest[:12]}")


if __name__ == "__main__":
    main()

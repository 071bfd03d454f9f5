#!/usr/bin/env bash
# GPU readiness in one call, for a machine with a CUDA device (e.g. the lent H200):
#   scripts/gpu-check.sh OUTDIR [IMAGE_FOLDER]
# Runs the gpu-marked tests and a short image bench on cuda and on cpu (the bundled photos, or IMAGE_FOLDER), and
# writes machine.txt, pytest-gpu.txt, bench-cuda/ and bench-cpu/ and summary.txt to OUTDIR.
# Python packages the machine lacks travel as wheels in .whl/ (see scripts/fetch-gpu-wheels.sh); the package is
# imported through a link tree, so nothing is installed into the machine's Python.
set -uo pipefail
out=${1:?usage: scripts/gpu-check.sh OUTDIR [IMAGE_FOLDER]}
cd "$(dirname "$0")/.."
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/vqsite .whl/*.whl \
    || { echo "installing the carried wheels failed" | tee "$out/summary.txt"; exit 1; }
  export PYTHONPATH=/tmp/vqsite
fi
tree=$(mktemp -d)/tree
mkdir -p "$tree/vqcodec"
for f in codec/*; do ln -s "$PWD/$f" "$tree/vqcodec/"; done
for p in cli train bench; do ln -s "$PWD/$p" "$tree/vqcodec/$p"; done
export PYTHONPATH="$tree${PYTHONPATH:+:$PYTHONPATH}"
{ nvidia-smi; python3 -c "import torch, vqcodec; print('torch', torch.__version__, torch.cuda.get_device_name(0)); print('vqcodec', vqcodec.__version__)"; } > "$out/machine.txt" 2>&1
python3 -m pytest -m gpu -v -p no:cacheprovider -o addopts="" tests/test_gpu.py 2>&1 | tee "$out/pytest-gpu.txt"
tests_rc=${PIPESTATUS[0]}
data=${2:-}
if [ -z "$data" ]; then
  data=$(mktemp -d)/images
  mkdir -p "$data" && cp codec/samples/*.png "$data/"
fi
bench_rc=0
for dev in cuda cpu; do
  python3 -m vqcodec.cli.main bench image --data "$data" --codecs vq --device "$dev" --repeats 3 --threads 2 \
    --out "$out/bench-$dev" --force 2>&1 | tail -n 5 || bench_rc=1
done
{
  echo "gpu tests: exit $tests_rc ($(grep -Eo '[0-9]+ (passed|failed|skipped)' "$out/pytest-gpu.txt" | tr '\n' ' '))"
  for dev in cuda cpu; do
    python3 - "$out/bench-$dev/results.json" "$dev" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
for c in run["codecs"]:
    r = c["results"]
    print(f"{sys.argv[2]}: {c['name']} encode s {[round(v, 3) for v in r['enc_s']]} decode s {[round(v, 3) for v in r['dec_s']]}")
PY
  done
} 2>&1 | tee "$out/summary.txt"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]

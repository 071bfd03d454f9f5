#!/usr/bin/env bash
# Download (here, where PyPI is reachable) the wheels the GPU machine's Python 3.12 lacks into .whl/, which
# .git/info/exclude ignores and `run(carry=[".whl"])` takes along; scripts/gpu-check.sh installs them there.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 \
         manylinux_2_24_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 any; do platforms+=(--platform "$p"); done
for pkg in "constriction==0.5.0" "soundfile==0.14.0" "cffi" "pycparser" "soxr==1.1.0" "av==18.1.0" \
           "pytorch-msssim==1.0.0" "pystoi==0.4.1" "pesq==0.0.4"; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl "$pkg" || echo "no wheel for $pkg (its tests are skipped there)"
done
du -sh .whl

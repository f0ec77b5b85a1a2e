#!/usr/bin/env bash
# Configure + build the native trainer into packages/trainer/build (-j2: the dev machines have 2 cores).
# Extra arguments go to cmake configure, e.g. scripts/build-native.sh -DTRAINER_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  args+=("-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc")
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTRAINER_CUDA=ON "${args[@]}" "$@"   # later -D args win
cmake --build build -j2
if grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' build/CMakeCache.txt; then
  echo "build-native: CUDA backend built (sm_80, sm_90a)"
else
  echo "build-native: CPU backend only (no CUDA compiler, or -DTRAINER_CUDA=OFF)"
fi

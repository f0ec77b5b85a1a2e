#!/usr/bin/env bash
# GPU check of the fine-tune worker (issue 6), for a machine with an NVIDIA GPU and nvcc: builds the
# trainer with CUDA if needed, then runs test/gpu.spec.ts (worker → queue on PostgreSQL → qwen3-lora
# --device cuda → SDK → server). PostgreSQL: TEST_DATABASE_URL, else the testkit's embedded one.
set -euo pipefail
cd "$(dirname "$0")/../../.."
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader
if ! grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' packages/trainer/build/CMakeCache.txt 2>/dev/null; then
  bash packages/trainer/scripts/build-native.sh
fi
grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' packages/trainer/build/CMakeCache.txt || { echo "trainer built without CUDA"; exit 1; }
cd apps/worker
GPU_TESTS=1 npx vitest run test/gpu.spec.ts

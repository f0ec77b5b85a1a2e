#!/usr/bin/env bash
# GPU check of the fine-tune worker (issue 6), on a machine with an NVIDIA GPU and nvcc.
# 1. What the worker does on a GPU, without Node: the nvidia-smi query of src/capabilities.ts, then
#    qwen3-lora init-random + train with the flags of src/handler.ts trainArgs(), --device cuda,
#    CUDA_VISIBLE_DEVICES=0, checking the JSON lines the worker turns into SDK calls.
# 2. With node_modules present: test/gpu.spec.ts (worker → queue on PostgreSQL → trainer → SDK → server).
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=packages/trainer/build/qwen3-lora
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits
if ! grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' packages/trainer/build/CMakeCache.txt 2>/dev/null; then
  bash packages/trainer/scripts/build-native.sh
fi
grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' packages/trainer/build/CMakeCache.txt || { echo "trainer built without CUDA"; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BIN" init-random --config tiny --out "$dir/model" --seed 1 > "$dir/init.jsonl"
# 64 pre-tokenized samples (the worker passes such JSONL through as is): prompt ids, then 2 label ids.
for i in $(seq 0 63); do
  a=$((1000 + i % 7)); echo "{\"input_ids\": [151644, 872, 198, $((2000 + i)), $((3000 + i % 5)), 151645, 198, 151644, 77091, 198, $a, 151643], \"labels\": [-100, -100, -100, -100, -100, -100, -100, -100, -100, -100, $a, 151643]}"
done > "$dir/train.jsonl"
head -8 "$dir/train.jsonl" > "$dir/test.jsonl"
CUDA_VISIBLE_DEVICES=0 "$BIN" train --model "$dir/model" --data "$dir/train.jsonl" --out "$dir/out" --eval "$dir/test.jsonl" \
  --device cuda --lr 0.01 --epochs 2 --micro-batch 8 --accum 1 --lora-r 8 --lora-alpha 32 --lora-dropout 0.1 \
  --targets q,k,v,o,gate,up,down --max-len 128 --seed 1 --schedule linear --max-new-tokens 4 --threads 2 > "$dir/train.jsonl.out"
grep -c '"event": *"step"' "$dir/train.jsonl.out" | xargs -I{} echo "gpu-check: {} step lines (want 16)"
grep -c '"event": *"prediction"' "$dir/train.jsonl.out" | xargs -I{} echo "gpu-check: {} prediction lines (want 8)"
grep '"event": *"start"' "$dir/train.jsonl.out" | head -c 400; echo
grep '"event": *"done"' "$dir/train.jsonl.out"
test "$(grep -c '"event": *"step"' "$dir/train.jsonl.out")" = 16
test -f "$dir/out/adapter/adapter_model.safetensors"
echo "gpu-check: trainer part OK"

if [ -d node_modules/bullmq ]; then
  (cd apps/worker && GPU_TESTS=1 npx vitest run test/gpu.spec.ts)
else
  echo "gpu-check: node_modules missing, skipped test/gpu.spec.ts (needs npm ci)"
fi

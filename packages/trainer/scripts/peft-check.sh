#!/usr/bin/env bash
# On a machine with PyTorch + transformers + PEFT (the GPU machine): train a few steps on the golden tiny
# model with the CPU backend, then scripts/peft_check.py loads the adapter with PeftModel.from_pretrained
# and compares its greedy generation with ours. Usage (repo root): bash packages/trainer/scripts/peft-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=/tmp/peft-check-build; W=/tmp/peft-check
rm -rf $W && mkdir -p $W
cmake -S . -B $B -DTRAINER_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build $B -j"$(nproc)" --target qwen3-lora >/dev/null
python3 - $W <<'PY'
import json, random, sys
random.seed(3)
w = sys.argv[1]
def rows(f, n):
    with open(f, "w") as fh:
        for _ in range(n):
            ids = [random.randrange(500) for _ in range(24)]
            fh.write(json.dumps({"input_ids": ids, "labels": [-100] * 20 + ids[20:]}) + "\n")
rows(f"{w}/train.jsonl", 32); rows(f"{w}/eval.jsonl", 6)
PY
$B/qwen3-lora train --model tests/golden/tiny --data $W/train.jsonl --eval $W/eval.jsonl --out $W/out --device cpu \
  --epochs 2 --micro-batch 4 --accum 2 --lr 5e-3 --lora-r 4 --lora-alpha 16 --lora-dropout 0.1 --max-new-tokens 6 >$W/train.out 2>$W/train.err
python3 scripts/peft_check.py tests/golden/tiny $W/out/adapter $W/eval.jsonl $W/train.out

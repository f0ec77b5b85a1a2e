#!/usr/bin/env bash
# Writes the synthetic Fudan-like data set: OUT_DIR/{train,test}.jsonl (task format) and their .qld files.
# usage: scripts/make-synthetic.sh OUT_DIR [TRAIN=4000] [TEST=200] [SEED=1] [MAX_LEN=384]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then sed -n 3p "$0"; exit 2; fi
out=$1 train=${2:-4000} test=${3:-200} seed=${4:-1} max_len=${5:-384}
prep=(node --conditions=source --import tsx prep/cli.ts)
"${prep[@]}" synthetic --out-dir "$out" --train "$train" --test "$test" --seed "$seed"
for split in train test; do
  "${prep[@]}" encode --input "$out/$split.jsonl" --out "$out/$split.qld" --max-len "$max_len"
done

#!/usr/bin/env bash
# The whole GPU-machine call: correctness first (scripts/gpu-check.sh: CUDA build, kernel tests, golden
# tests on CUDA, compute-sanitizer), then speed (bench/gpu-bench.sh, ours beside the Hugging Face
# baseline). The device tool brings back at most 8 files, so logs travel as one tarball.
# Usage (repo root): HF_DIR=<folder with hf_peft_baseline.py> bash packages/trainer/scripts/device-run.sh
# SKIP_CHECK=1 / SKIP_BENCH=1 run one half: the two fit one 10-minute call each when both do not fit one.
set -uo pipefail
cd "$(dirname "$0")/.."
REAL_OUT=${OUT:-/tmp/device-out}
mkdir -p "$REAL_OUT"
W=/tmp/device-logs
rm -rf $W && mkdir -p $W/check $W/bench
check_rc=0
if [ "${SKIP_CHECK:-0}" != 1 ]; then
  OUT=$W/check bash scripts/gpu-check.sh
  check_rc=$?
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  OUT=$W/bench bash bench/gpu-bench.sh "${HF_DIR:-}"   # every step inside has its own timeout
fi
tar czf "$REAL_OUT/logs.tgz" -C $W . 2>/dev/null
cp $W/check/summary.txt "$REAL_OUT/" 2>/dev/null
cp $W/bench/trainer-*.json "$REAL_OUT/" 2>/dev/null
exit $check_rc

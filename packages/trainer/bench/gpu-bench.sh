#!/usr/bin/env bash
# Speed benchmark of the task recipe on one GPU (issue 7), ours beside the Hugging Face + PEFT baseline
# in the same call: Qwen3-1.7B architecture with random weights (init-random), sequence 384, LoRA r=8 on
# all seven projections, bf16. Prints one table and writes bench/results/trainer-<card>-<date>.json
# (under $OUT too). Expects the CUDA build of scripts/gpu-check.sh in build-gpu/ (builds it otherwise).
# Usage (repo root): bash packages/trainer/bench/gpu-bench.sh [HF_BASELINE_DIR]
#   HF_BASELINE_DIR holds hf_peft_baseline.py (shared/bench; carried to the GPU machine by the caller).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench-out}
HF_DIR=${1:-}
STEPS=${BENCH_STEPS:-24}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
BUILD=${BENCH_BUILD:-$ROOT/build-gpu}
EXE=$BUILD/qwen3-lora
if [ ! -x "$EXE" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a >/dev/null && cmake --build "$BUILD" -j16 --target qwen3-lora >/dev/null || { echo "build failed"; exit 1; }
fi
W=${BENCH_WORK:-/tmp/trainer-bench}
mkdir -p $W

# --- model and data (not timed)
if [ ! -f $W/q17/model.safetensors ]; then
  t_init=$(date +%s.%N)
  timeout 150 "$EXE" init-random --config ${BENCH_CONFIG:-qwen3-1.7b} --out $W/q17 --dtype bf16 >$OUT/init.log 2>&1 || { echo "init-random failed"; tail -5 $OUT/init.log; exit 1; }
  echo "[bench] init-random: $(python3 -c "print(round($(date +%s.%N) - $t_init, 2))") s ($(nproc) threads)"
fi
python3 - $W $STEPS <<'PY'
import json, random, sys
w, steps = sys.argv[1], int(sys.argv[2])
random.seed(0)
def rows(n, f):
    with open(f, "w") as fh:
        for _ in range(n):
            ids = [random.randrange(151000) for _ in range(384)]
            fh.write(json.dumps({"input_ids": ids, "labels": [-100] * 380 + ids[380:]}) + "\n")
rows(16 * (steps + 2), f"{w}/train.jsonl")   # same shape as the HF baseline's batches: labels on the last 4
rows(64, f"{w}/eval.jsonl")                  # generation: 380-token prompts
PY

# peak GPU memory of a command: nvidia-smi sampled every 100 ms (device-wide; the card is ours alone)
peak_run() {   # LOG CMD...
  local log=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >$log.mem 2>/dev/null &
  local smi=$!
  date +%s.%N >$log.t0
  # each stdout line stamped with its arrival time (start-up = process start to the first step)
  timeout "${RUN_TIMEOUT:-120}" "$@" 2>$log.err | while IFS= read -r l; do printf '%s\t%s\n' "$(date +%s.%N)" "$l"; done >$log
  local rc=${PIPESTATUS[0]}
  kill $smi 2>/dev/null; wait $smi 2>/dev/null
  return $rc
}

echo "[bench] ours: batch 16, no recompute, $STEPS steps"
peak_run $OUT/ours_b16.jsonl "$EXE" train --model $W/q17 --data $W/train.jsonl --out $W/o1 --device ${BENCH_DEVICE:-cuda} \
  --micro-batch 16 --accum 1 --epochs 1 --max-steps $STEPS --no-shuffle --max-len 384 || { echo "ours b16 failed"; tail -5 $OUT/ours_b16.jsonl.err; }
echo "[bench] ours: batch 16, 6 steps with TRAINER_PROFILE=1 (GPU time per part of a step, not timed)"
TRAINER_PROFILE=1 peak_run $OUT/ours_prof.jsonl "$EXE" train --model $W/q17 --data $W/train.jsonl --out $W/o3 --device ${BENCH_DEVICE:-cuda} \
  --micro-batch 16 --accum 1 --epochs 1 --max-steps 6 --no-shuffle --max-len 384 || echo "ours profile failed"
# dev/NOTES.md experiment 7: the same profile with the tiled LoRA kernels (the default is skinny): the two
# "lora" rows are the before / after of the skinny kernels.
echo "[bench] ours: batch 16, 6 steps with TRAINER_PROFILE=1 TRAINER_LORA=tiled"
TRAINER_PROFILE=1 peak_run $OUT/ours_prof_tiled.jsonl env TRAINER_LORA=tiled "$EXE" train --model $W/q17 --data $W/train.jsonl --out $W/o3 \
  --device ${BENCH_DEVICE:-cuda} --micro-batch 16 --accum 1 --epochs 1 --max-steps 6 --no-shuffle --max-len 384 || echo "ours profile tiled failed"
# dev/NOTES.md experiment 6: the tensor-core attention (TRAINER_ATTENTION=tc), same setting, half the steps
# (steady state is reached after 2): the difference to the row above is the attention's share.
echo "[bench] ours: batch 16, no recompute, TRAINER_ATTENTION=tc, $((STEPS / 2)) steps"
peak_run $OUT/ours_b16_tc.jsonl env TRAINER_ATTENTION=tc "$EXE" train --model $W/q17 --data $W/train.jsonl --out $W/o3 --device ${BENCH_DEVICE:-cuda} \
  --micro-batch 16 --accum 1 --epochs 1 --max-steps $((STEPS / 2)) --no-shuffle --max-len 384 || { echo "ours b16 tc failed"; tail -5 $OUT/ours_b16_tc.jsonl.err; }
echo "[bench] ours: classic 4 x 4 with --recompute, $((STEPS / 2)) steps"
peak_run $OUT/ours_4x4r.jsonl "$EXE" train --model $W/q17 --data $W/train.jsonl --out $W/o2 --device ${BENCH_DEVICE:-cuda} \
  --micro-batch 4 --accum 4 --epochs 1 --max-steps $((STEPS / 2)) --no-shuffle --max-len 384 --recompute || echo "ours 4x4 failed"
echo "[bench] ours: greedy generation, 64 samples, batch 32, 8 new tokens"
peak_run $OUT/ours_gen.jsonl "$EXE" generate --model $W/q17 --data $W/eval.jsonl --device ${BENCH_DEVICE:-cuda} --micro-batch 32 --max-new-tokens 8 || echo "ours generate failed"

if [ -n "$HF_DIR" ] && [ -f "$HF_DIR/hf_peft_baseline.py" ]; then
  echo "[bench] Hugging Face + PEFT baseline"
  (cd $OUT && PYTHONUNBUFFERED=1 OUT=$OUT timeout 180 python3 "$HF_DIR/hf_peft_baseline.py" 2>$OUT/hf.err | grep '^{' >$OUT/hf.jsonl) || echo "hf baseline failed: $(tail -2 $OUT/hf.err)"
fi

python3 - "$OUT" "$ROOT" <<'PY'
import json, os, statistics, subprocess, sys, datetime
out, root = sys.argv[1], sys.argv[2]
def events(f):
    out = []
    try:
        for l in open(f):
            ts, _, body = l.partition("\t")
            if not body: ts, body = None, l
            if body.startswith("{"):
                e = json.loads(body); e["_ts"] = float(ts) if ts else None; out.append(e)
    except FileNotFoundError: pass
    return out
def peak(f):
    try: return max(int(x) for x in open(f + ".mem") if x.strip().isdigit()) / 1024
    except Exception: return None
card = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip().splitlines()[0]
def memory_plan(ev):   # the CUDA backend's "memory" event (planned bytes by category), GiB
    m = next((e for e in ev if e.get("event") == "memory"), None)
    return m and {k[:-6]: round(v / 2**30, 3) for k, v in m.items() if k.endswith("_bytes")}
def train_stats(f):
    ev = events(f); steps = [e for e in ev if e.get("event") == "step"]
    if len(steps) < 3: return None
    steady = steps[2:] if len(steps) > 4 else steps[1:]   # first steps include warm-up (allocation, cuBLASLt heuristics)
    tps = statistics.median(e["tokens_per_s"] for e in steady)
    t0 = float(open(f + ".t0").read())
    # start-up: process start to the beginning of the first step (its arrival minus its own duration)
    s0 = steps[0]
    first_step_s = s0["_ts"] - t0 - 16 * 384 / s0["tokens_per_s"] if s0.get("_ts") and s0.get("tokens_per_s") else None
    su = next((e for e in ev if e.get("event") == "startup"), {})   # the trainer's own split of start-up (ms)
    return {"tokens_per_s": tps, "s_per_step": 16 * 384 / tps, "two_epoch_s": 500 * 16 * 384 / tps,
            "startup_s": first_step_s, "startup_phases_ms": su.get("phases_ms"), "startup_total_ms": su.get("total_ms"),
            "peak_mem_gib": peak(f), "memory_plan_gib": memory_plan(ev),
            "loss_first": steps[0]["loss"], "loss_last": steps[-1]["loss"]}
b16, r44 = train_stats(f"{out}/ours_b16.jsonl"), train_stats(f"{out}/ours_4x4r.jsonl")
profile = next((e for e in events(f"{out}/ours_prof.jsonl") if e.get("event") == "profile"), None)
b16tc = train_stats(f"{out}/ours_b16_tc.jsonl")   # TRAINER_ATTENTION=tc
profile_tiled = next((e for e in events(f"{out}/ours_prof_tiled.jsonl") if e.get("event") == "profile"), None)   # TRAINER_LORA=tiled
gen = events(f"{out}/ours_gen.jsonl")
gstart = next((e for e in gen if e.get("event") == "start"), None); geval = next((e for e in gen if e.get("event") == "eval"), None)
# generation time: the start event is printed once the model is on the device; eval after the last sample
gen_ms = (geval["_ts"] - gstart["_ts"]) / max(1, geval["total"]) * 1000 if gstart and geval and geval.get("_ts") else None
hf_ev = events(f"{out}/hf.jsonl")
hf = {e["name"]: e for e in hf_ev if e.get("name")}
hf_gen = next((e["generate_384_prompt_8_new_s"] for e in hf_ev if "generate_384_prompt_8_new_s" in e and "name" not in e), None)
hf_classic = hf.get("seed_recipe", {}).get("tokens_per_s")   # checkpointing, 4 x 4
hf_best = max([v["tokens_per_s"] for v in hf.values() if "tokens_per_s" in v] or [0]) or None
res = {"card": card, "date": datetime.date.today().isoformat(),
       "ours_tokens_per_s": b16 and round(b16["tokens_per_s"]), "ours_classic_recompute_tokens_per_s": r44 and round(r44["tokens_per_s"]),
       "ours_tc_attention_tokens_per_s": b16tc and round(b16tc["tokens_per_s"]),
       "hf_classic_tokens_per_s": hf_classic, "hf_best_tokens_per_s": hf_best,
       "two_epoch_s": b16 and round(b16["two_epoch_s"], 1), "startup_s": b16 and b16["startup_s"],
       "peak_mem_gib": b16 and b16["peak_mem_gib"], "peak_mem_classic_recompute_gib": r44 and r44["peak_mem_gib"],
       "generate_ms_per_sample": gen_ms and round(gen_ms, 2), "hf_generate_ms_per_sample": hf_gen and round(hf_gen * 1000, 1), "hf": hf, "ours_b16": b16, "ours_b16_tc_attention": b16tc, "ours_4x4_recompute": r44,
       "profile_b16": profile and profile.get("parts"), "profile_b16_lora_tiled": profile_tiled and profile_tiled.get("parts")}
os.makedirs(f"{root}/../../bench/results", exist_ok=True)
name = f"trainer-{card.replace(' ', '-').lower()}-{res['date']}.json"
for d in (out, f"{root}/../../bench/results"):
    json.dump(res, open(os.path.join(d, name), "w"), indent=1)
def f(x, d=0): return "n/a" if x is None else f"{x:,.{d}f}"
print(f"\n=== trainer benchmark on {card}, {res['date']} ===")
print(f"| setting | tokens/s | s/step | 2 epochs (s) | peak GiB |\n|---|---|---|---|---|")
for label, s in (("ours, batch 16", b16), ("ours, batch 16, TRAINER_ATTENTION=tc", b16tc), ("ours, 4x4 --recompute", r44)):
    if s: print(f"| {label} | {f(s['tokens_per_s'])} | {f(s['s_per_step'],3)} | {f(s['two_epoch_s'],1)} | {f(s['peak_mem_gib'],1)} |")
for k, v in hf.items():
    if "tokens_per_s" in v: print(f"| HF {k} | {f(v['tokens_per_s'])} | {f(v.get('s_per_opt_step'),3)} | {f(500*16*384/v['tokens_per_s'],1)} | {f(v.get('peak_mem_GiB'),1)} |")
for label, s in (("batch 16", b16), ("4x4 --recompute", r44)):
    m = s and s.get("memory_plan_gib")
    if m: print(f"memory, {label}: nvidia-smi peak {f(s['peak_mem_gib'],2)} GiB; planned {f(m.get('planned'),2)} GiB, device used after init "
                f"{f(m.get('device_used'),2)} GiB; plan (GiB): " + ", ".join(f"{k} {v}" for k, v in m.items() if k not in ("planned", "device_used")))
print(f"generate (380-token prompt, 8 new): ours {f(gen_ms,1)} ms/sample (batch 32), HF {f(hf_gen and hf_gen*1000,1)} ms/sample (batch 1); start-up {f(res['startup_s'],1)} s")
if profile and profile.get("parts"):
    parts = sorted(profile["parts"].items(), key=lambda kv: -kv[1]["ms_per_step"])
    total = sum(v["ms_per_step"] for _, v in parts)
    print(f"GPU time per part of a batch-16 step (TRAINER_PROFILE=1, {profile.get('steps')} steps after a warm-up; total {total:.1f} ms):")
    print("| part | ms/step | share | spans/step |\n|---|---|---|---|")
    for k, v in parts: print(f"| {k} | {v['ms_per_step']:.2f} | {100 * v['ms_per_step'] / total:.1f}% | {v['calls_per_step']:.0f} |")
if b16 and b16.get("startup_phases_ms"):
    print("start-up phases, batch 16 run (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in b16["startup_phases_ms"].items()) +
          f"; trainer total {b16['startup_total_ms']:.0f} (from main; startup_s also counts exec and dynamic loading)")
lora_ms = lambda p: p and p.get("parts", {}).get("lora", {}).get("ms_per_step")
if lora_ms(profile) and lora_ms(profile_tiled):
    print(f"lora part (experiment 7): skinny {lora_ms(profile):.2f} ms/step vs tiled {lora_ms(profile_tiled):.2f} ms/step (TRAINER_LORA)")
if b16 and b16tc: print(f"attention: TRAINER_ATTENTION=tc {b16tc['s_per_step']*1000:.1f} ms/step vs simt {b16['s_per_step']*1000:.1f} ms/step (difference = attention time saved)")
if b16 and hf_classic: print(f"ratio to HF classic: {b16['tokens_per_s']/hf_classic:.2f}x")
if b16 and hf_best: print(f"ratio to HF best (this call): {b16['tokens_per_s']/hf_best:.2f}x")
print(f"wrote {name}")
PY

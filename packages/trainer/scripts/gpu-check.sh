#!/usr/bin/env bash
# The ONE script to run on a GPU machine (H100/H200, nvcc + cuBLASLt in /usr/local/cuda): builds with CUDA,
# runs the kernel unit tests, the golden tests on the CUDA backend (cuBLASLt GEMMs, then our own GEMM,
# then with recomputation, then with the tensor-core attention TRAINER_ATTENTION=tc), compute-sanitizer
# memcheck on a 3-step tiny `qwen3-lora train` run and on the golden test, racecheck on the shared-memory
# kernels (attention, GEMMs; memcheck/racecheck/synccheck on the tc attention), and prints one summary. Logs go to $OUT (or
# ./gpu-check-out). Budget: about 5 minutes; every step has a timeout and says PASS / FAIL / SKIP.
# Usage (from the repository root): bash packages/trainer/scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/build/gpu-check-out}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
# cuBLASLt: /usr/local/cuda/lib64 normally; else wherever the image keeps it (e.g. a pip nvidia-cublas wheel).
if ! ls /usr/local/cuda/lib64/libcublasLt.so* >/dev/null 2>&1; then
    LT=$(find /usr /opt -name 'libcublasLt.so*' 2>/dev/null | head -1)
    [ -n "$LT" ] && export LD_LIBRARY_PATH=$(dirname "$LT"):$LD_LIBRARY_PATH
fi
SUMMARY=()
FAILED=0
T0=$(date +%s)
record() {   # name status detail
    SUMMARY+=("$(printf '%-5s %-44s %s' "$2" "$1" "$3")")
    [ "$2" = FAIL ] && FAILED=$((FAILED + 1))
    echo "[gpu-check $(( $(date +%s) - T0 ))s] $2 $1 $3"
}
# run NAME TIMEOUT LOGFILE CMD...: PASS on exit 0, SKIP on 77, FAIL otherwise (timeouts say so).
run() {
    local name=$1 tmo=$2 logf=$3; shift 3
    timeout "$tmo" "$@" >"$OUT/$logf" 2>&1
    local rc=$?
    local skipped
    skipped=$(grep -c '(Skipped)' "$OUT/$logf")
    if [ $rc -eq 77 ] || { [ $rc -eq 0 ] && [ "$skipped" -gt 0 ]; }; then
        # A skip on a machine with a GPU means the CUDA backend could not start: that is a failure.
        local why="$(grep -m1 -h 'SKIP' "$OUT/$logf" | cut -c1-100)"
        [ "$skipped" -gt 0 ] && why="$why ${skipped} ctest test(s) skipped"
        if [ $HAVE_GPU = 1 ]; then record "$name" FAIL "skipped on a GPU machine: $why (log $logf)"; rc=1
        else record "$name" SKIP "no GPU here: $why"; fi
    elif [ $rc -eq 0 ]; then record "$name" PASS "(log $logf)"
    elif [ $rc -eq 124 ]; then record "$name" FAIL "timed out after ${tmo}s (log $logf)"
    else record "$name" FAIL "exit $rc (log $logf): $(grep -m1 -E 'FAIL|rror' "$OUT/$logf" | cut -c1-100)"
    fi
    return $rc
}

# --- 0. the machine
{ nvidia-smi -L; nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv; nvcc --version | tail -2;
  ls /usr/local/cuda/lib64/libcublasLt.so* 2>&1; } >"$OUT/machine.txt" 2>&1
HAVE_GPU=0
nvidia-smi -L >/dev/null 2>&1 && HAVE_GPU=1
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
case "$CC" in 90) ARCH=90a ;; "") ARCH="80;90a" ;; *) ARCH=$CC ;; esac
if [ $HAVE_GPU = 1 ]; then
    record "machine" INFO "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), sm_$CC, build arch $ARCH"
else
    record "machine" INFO "NO GPU visible (nvidia-smi failed): build only, every CUDA check will SKIP"
fi

# --- 1. build (CUDA on, -j16); the kernel tests too, directly with nvcc if the CMake target is absent
BUILD=$ROOT/build/gpu
JOBS=${JOBS:-16}
if run "build (cmake, CUDA, arch $ARCH)" 240 build.log bash -c \
    "cmake -S . -B '$BUILD' -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc \
     -DCMAKE_CUDA_ARCHITECTURES='$ARCH' && cmake --build '$BUILD' -j$JOBS && grep -q '^TRAINER_CUDA_BUILT:INTERNAL=ON' '$BUILD/CMakeCache.txt'"; then
    BUILT=1
else
    BUILT=0
fi
TK=$BUILD/test_kernels
if [ ! -x "$TK" ]; then
    GENCODE="-gencode arch=compute_${ARCH%a},code=sm_${ARCH}"
    [ "$ARCH" = "80;90a" ] && GENCODE="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a"
    run "build test_kernels (nvcc directly)" 120 build_test_kernels.log \
        nvcc -std=c++17 -O2 $GENCODE -Ikernels tests/test_kernels.cu -o "$TK" -ldl
fi

TB=$BUILD/test_cuda_backend
if [ $BUILT = 1 ] && [ ! -x "$TB" ]; then
    run "build test_cuda_backend (g++ + libtrainer_core.a)" 120 build_test_cuda_backend.log \
        g++ -std=c++17 -O2 -Isrc -Icommon -Ireference -Ikernels -I. tests/test_cuda_backend.cpp "$BUILD/libtrainer_core.a" \
        -L/usr/local/cuda/lib64 -lcudart -ldl -lpthread -fopenmp -o "$TB"
fi

# --- 2. kernel unit tests (each kernel vs a double-precision CPU computation; both GEMM paths, both
#        attention implementations: "attention" = CUDA cores, "attention tc" = tensor cores)
if [ -x "$TK" ]; then
    run "kernel unit tests" 120 test_kernels.log "$TK"
    grep -E '^(ok|FAIL) +attention tc' "$OUT/test_kernels.log" >"$OUT/test_kernels_attention_tc.txt" 2>/dev/null
else
    record "kernel unit tests" SKIP "test_kernels did not build"
fi

# --- 2b. backend checks beyond the golden data (untied head, D=32, ragged batch vs CPU; dropout; recompute)
if [ -x "$TB" ]; then
    run "CUDA backend checks (test_cuda_backend)" 120 test_cuda_backend.log "$TB"
    run "CUDA backend checks, own GEMM" 120 test_cuda_backend_owngemm.log env TRAINER_GEMM=own "$TB"
    run "CUDA backend checks, tc attention" 120 test_cuda_backend_tc.log env TRAINER_ATTENTION=tc "$TB"
else
    record "CUDA backend checks" SKIP "test_cuda_backend did not build"
fi

# --- 3. golden tests on the CUDA backend (bf16 tolerances = 1.5x Hugging Face's own bf16 error)
if [ $BUILT = 1 ]; then
    # the kernel and backend tests ran above (also registered under the gpu label): golden tests only here
    GOLDEN=(ctest --test-dir "$BUILD" -L gpu -E "cuda_kernels|cuda_backend" --output-on-failure)
    run "golden tests, CUDA backend (cuBLASLt GEMMs)" 180 ctest_gpu.log "${GOLDEN[@]}"
    grep -E '^(ok|FAIL)|^==|parts at' "$OUT/ctest_gpu.log" >"$OUT/ctest_gpu_summary.txt" 2>/dev/null
    run "golden tests, CUDA, own GEMM (TRAINER_GEMM=own)" 180 ctest_gpu_owngemm.log env TRAINER_GEMM=own "${GOLDEN[@]}"
    run "golden tests, CUDA, recompute (TRAINER_RECOMPUTE=1)" 180 ctest_gpu_recompute.log env TRAINER_RECOMPUTE=1 "${GOLDEN[@]}"
    run "golden tests, CUDA, tc attention (TRAINER_ATTENTION=tc)" 180 ctest_gpu_tc.log env TRAINER_ATTENTION=tc "${GOLDEN[@]}"
    grep -E '^(ok|FAIL)|^==|parts at' "$OUT/ctest_gpu_tc.log" >"$OUT/ctest_gpu_tc_summary.txt" 2>/dev/null
else
    record "golden tests, CUDA backend" SKIP "build failed"
fi

# --- 4. the CLI on CUDA: a 3-step tiny run against the same run on the CPU reference (dropout 0), then
#        compute-sanitizer (memcheck on that run and on the golden test, racecheck on our kernels)
EXE=$BUILD/qwen3-lora
WORK=$OUT/train-run
if [ $HAVE_GPU = 0 ]; then
    record "CLI train on CUDA vs CPU" SKIP "no GPU here"
elif [ $BUILT = 1 ] && [ -x "$EXE" ]; then
    rm -rf "$WORK" && mkdir -p "$WORK"
    # 6 pre-tokenized samples of different lengths (right padding inside a micro-batch), labels on the tail.
    awk 'BEGIN{for(i=0;i<6;i++){n=12+5*i;s="{\"input_ids\": [";l="\"labels\": [";for(t=0;t<n;t++){id=(i*37+t*11)%500+1;s=s (t?", ":"") id;l=l (t?", ":"") (t>=n-3?id:-100)};print s "], " l "]}"}}' >"$WORK/data.jsonl"
    TRAIN_ARGS=(--data "$WORK/data.jsonl" --epochs 1 --micro-batch 2 --accum 1 --max-len 64 --lora-r 4 --seed 1 --no-shuffle)
    if run "init-random tiny model" 60 init_random.log "$EXE" init-random --config tiny --out "$WORK/model"; then
        run "train 3 steps on CPU (reference run)" 120 train_cpu.log "$EXE" train --model "$WORK/model" --out "$WORK/out-cpu" \
            --device cpu --lora-dropout 0 "${TRAIN_ARGS[@]}"
        if run "train 3 steps on CUDA" 120 train_cuda.log "$EXE" train --model "$WORK/model" --out "$WORK/out-cuda" \
            --device cuda --lora-dropout 0 "${TRAIN_ARGS[@]}"; then
            # step losses and grad norms, CUDA vs CPU: bf16 noise is ~1-2%; allow 3%.
            CMP=$(paste <(grep '"event": *"step"' "$OUT/train_cuda.log" | sed -E 's/.*"loss": *([-0-9.e+]+).*"grad_norm": *([-0-9.e+]+).*/\1 \2/') \
                        <(grep '"event": *"step"' "$OUT/train_cpu.log" | sed -E 's/.*"loss": *([-0-9.e+]+).*"grad_norm": *([-0-9.e+]+).*/\1 \2/') |
                  awk 'function ab(x){return x<0?-x:x} {n++; e=ab($1-$3)/ab($3); f=ab($2-$4)/ab($4); if(e>w)w=e; if(f>w)w=f}
                       END{printf "%d %.4f", n, w}')
            set -- $CMP
            if [ "${1:-0}" = 3 ] && awk -v w="${2:-9}" 'BEGIN{exit !(w <= 0.03)}'; then
                record "CUDA vs CPU: 3 step losses and grad norms" PASS "worst rel diff $2 (tol 0.03)"
            else
                record "CUDA vs CPU: 3 step losses and grad norms" FAIL "steps compared ${1:-0}/3, worst rel diff ${2:-?} (logs train_cuda.log, train_cpu.log)"
            fi
        fi
    fi
fi
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
SAN_OK=0
if [ $BUILT = 1 ] && [ -x "$SAN" ] && [ -x "$TK" ]; then
    # Probe: some runtimes (gVisor) refuse compute-sanitizer ("Device not supported", error 999).
    timeout 60 "$SAN" --tool memcheck --error-exitcode 3 "$TK" embedding >"$OUT/sanitizer_probe.log" 2>&1 && SAN_OK=1
    [ $SAN_OK = 0 ] && record "compute-sanitizer probe" SKIP "compute-sanitizer cannot run here: $(grep -m1 -iE 'not supported|error|fail' "$OUT/sanitizer_probe.log" | cut -c1-90) (log sanitizer_probe.log)"
else
    record "compute-sanitizer" SKIP "needs a successful build, test_kernels and $SAN"
fi
if [ $SAN_OK = 1 ]; then
    if [ -d "$WORK/model" ]; then
        run "memcheck: qwen3-lora train (3 steps, tiny, cuda, dropout 0.1)" 150 memcheck_train.log \
            "$SAN" --tool memcheck --error-exitcode 3 "$EXE" train --model "$WORK/model" --out "$WORK/out-memcheck" \
            --device cuda "${TRAIN_ARGS[@]}"
        grep -q '"event": *"done"' "$OUT/memcheck_train.log" || record "memcheck train run reached its done event" FAIL "see memcheck_train.log"
    fi
    run "memcheck: golden test tiny on CUDA" 150 memcheck_golden.log \
        "$SAN" --tool memcheck --error-exitcode 3 "$BUILD/test_reference" --backend cuda \
        --golden "$ROOT/tests/golden/tiny" --weights model.safetensors
    run "racecheck: our shared-memory kernels" 150 racecheck_kernels.log \
        "$SAN" --tool racecheck --error-exitcode 3 "$TK" attention_simt lora_matmul matmul_own
    # the tensor-core attention (dynamic shared memory, __syncwarp hand-offs between WMMA and threads)
    run "racecheck: tc attention" 150 racecheck_attention_tc.log "$SAN" --tool racecheck --error-exitcode 3 "$TK" attention_tc
    run "memcheck: tc attention" 120 memcheck_attention_tc.log "$SAN" --tool memcheck --error-exitcode 3 "$TK" attention_tc
    run "synccheck: tc attention" 120 synccheck_attention_tc.log "$SAN" --tool synccheck --error-exitcode 3 "$TK" attention_tc
fi

# --- summary
{
    echo "================ gpu-check summary ($(( $(date +%s) - T0 )) s) ================"
    printf '%s\n' "${SUMMARY[@]}"
    [ -s "$OUT/ctest_gpu_summary.txt" ] && { echo "--- golden checks (CUDA, cuBLASLt path)"; cat "$OUT/ctest_gpu_summary.txt"; }
    [ -s "$OUT/ctest_gpu_tc_summary.txt" ] && { echo "--- golden checks (CUDA, cuBLASLt path, TRAINER_ATTENTION=tc)"; cat "$OUT/ctest_gpu_tc_summary.txt"; }
    [ -s "$OUT/test_kernels_attention_tc.txt" ] && { echo "--- tensor-core attention kernel checks"; cat "$OUT/test_kernels_attention_tc.txt"; }
    grep -h "GEMM path\|cuda backend: attention" "$OUT"/ctest_gpu*.log "$OUT"/train_cuda.log 2>/dev/null | sort | uniq -c
    if [ $HAVE_GPU = 0 ]; then echo "RESULT: NOT a GPU run: nothing was checked on a GPU; $FAILED failure(s) (logs in $OUT)"
    else echo "RESULT: $([ $FAILED = 0 ] && echo 'all checks passed' || echo "$FAILED check(s) FAILED") (logs in $OUT)"; fi
} | tee "$OUT/summary.txt"
[ $FAILED = 0 ]

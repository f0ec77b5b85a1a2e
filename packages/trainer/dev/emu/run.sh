#!/usr/bin/env bash
# Builds and runs the CUDA code path on the CPU emulator (cuda_emu.h), with AddressSanitizer:
#   1. tests/test_kernels.cu (every kernel vs double CPU math; the GEMM here is the emulator's CPU loop)
#   2. tests/test_cuda_backend.cpp (untied head, D=32, ragged batch vs the CPU reference; dropout, recompute)
#   3. tests/test_reference.cpp --backend cuda on the golden data (tiny and tiny_hd128, f32 and bf16 files)
# Slow (fibers per CUDA thread) but needs no GPU. Usage: bash dev/emu/run.sh [kernels|backend|golden]...
# (default all; TRAINER_RECOMPUTE=1 in the environment runs the golden tests with recomputation)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/emu
mkdir -p $B
FLAGS="-std=c++17 -O1 -g -DTRAINER_EMU -DTRAINER_HAVE_CUDA -fsanitize=address -fno-omit-frame-pointer -Wno-unknown-pragmas"
INC="-Isrc -Icommon -Ireference -Ikernels -I."
what=${*:-kernels backend golden}
if [[ $what == *kernels* ]]; then
    g++ $FLAGS $INC -x c++ tests/test_kernels.cu -o $B/test_kernels_emu -ldl
    ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=0 $B/test_kernels_emu
fi
if [[ $what == *golden* || $what == *backend* ]]; then
    SRCS="common/json.cpp common/safetensors.cpp common/config.cpp common/dataset.cpp src/lora.cpp src/generate.cpp reference/cpu_reference.cpp"
    objs=()
    for f in $SRCS; do
        o=$B/$(basename $f .cpp).o
        [ $o -nt $f ] || g++ $FLAGS $INC -fopenmp -c $f -o $o
        objs+=($o)
    done
    g++ $FLAGS $INC -x c++ -c src/cuda/cuda_backend.cu -o $B/cuda_backend.o
fi
if [[ $what == *backend* ]]; then
    g++ $FLAGS $INC -fopenmp tests/test_cuda_backend.cpp $B/cuda_backend.o "${objs[@]}" -o $B/test_cuda_backend_emu -ldl -lpthread
    ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=0 $B/test_cuda_backend_emu
fi
if [[ $what == *golden* ]]; then
    g++ $FLAGS $INC -fopenmp tests/test_reference.cpp $B/cuda_backend.o "${objs[@]}" -o $B/test_reference_emu -ldl -lpthread
    for cfg in tiny tiny_hd128; do
        for wf in model.safetensors model.bf16.safetensors; do
            ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=0 $B/test_reference_emu --backend cuda --golden tests/golden/$cfg --weights $wf
        done
    done
fi

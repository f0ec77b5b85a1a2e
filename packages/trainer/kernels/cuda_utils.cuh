// Shared CUDA helpers for the trainer kernels: error-to-Status conversion (file:line), bf16 load/store,
// warp reductions. Every kernel header includes this; nothing here allocates or keeps state.
// TRAINER_EMU (dev/emu only): the same kernels compiled as plain C++ and run on the CPU by a fiber-based
// emulator, so the CUDA code path can be exercised on machines without a GPU. Never set in real builds.
#pragma once
#ifdef TRAINER_EMU
#include "../dev/emu/cuda_emu.h"
#else
#include <cuda_runtime.h>
#include <cuda_bf16.h>
// Kernel launch; written as a macro so the emulator can run the same launch sites.
#define LAUNCH(kernel, grid, block, stream) kernel<<<grid, block, 0, stream>>>
#define LAUNCH_SMEM(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
// The launch's dynamic shared memory (LAUNCH_SMEM's smem bytes), as a byte pointer named `name`.
#define DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#endif
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>

typedef __nv_bfloat16 bf16;

// Library code returns errors (an empty string = success), see backend.h.
inline std::string cuda_error_string(cudaError_t e, const char* what, const char* file, int line) {
    return std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " + what +
           " at " + file + ":" + std::to_string(line);
}
#define CUDA_TRY(call)                                                                       \
    do {                                                                                     \
        cudaError_t e_ = (call);                                                             \
        if (e_ != cudaSuccess) return cuda_error_string(e_, #call, __FILE__, __LINE__);      \
    } while (0)
// After a group of launches: catches bad launch configurations (not asynchronous faults).
#define CUDA_LAUNCH_CHECK() CUDA_TRY(cudaGetLastError())

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void store_f32(float* p, float x) { *p = x; }
__device__ __forceinline__ void store_f32(bf16* p, float x) { *p = __float2bfloat16(x); }
// x as a bf16 tensor would hold it: the value a kernel keeps when a later pass recomputes from the bf16 copy.
__device__ __forceinline__ float bf16_round(float x) { return __bfloat162float(__float2bfloat16(x)); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// A run-time switch of the backend read from the environment: unset or empty = `fallback`; otherwise one of
// `names` (its index in *choice), or an error naming the variable and the values it takes.
inline std::string env_choice(const char* var, std::initializer_list<const char*> names, int fallback, int* choice) {
    *choice = fallback;
    const char* e = std::getenv(var);
    if (!e || !*e) return "";
    std::string allowed;
    int i = 0;
    for (const char* n : names) {
        if (std::strcmp(e, n) == 0) { *choice = i; return ""; }
        allowed += (i ? " or " : "") + std::string(n);
        i++;
    }
    return std::string(var) + " must be " + allowed + ", not '" + e + "'";
}

inline int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }
// Grid for grid-stride elementwise kernels of 256 threads.
inline int elementwise_blocks(size_t n) { size_t b = (n + 255) / 256; return (int)(b < 65535 ? (b ? b : 1) : 65535); }

// A small CUDA emulator for machines without a GPU (dev only, never in real builds): kernels/*.cuh and
// src/cuda/cuda_backend.cu compile as plain C++ with -DTRAINER_EMU and run on the CPU. Each block runs
// its threads as fibers (ucontext) on one OS thread; __syncthreads and warp shuffles are barriers that
// the scheduler resolves, so barrier divergence and shuffles with exited lanes abort loudly. Blocks run
// one after another, so `__shared__` becomes `static`. The WMMA GEMM is replaced by a CPU loop (the
// real one is covered by test_kernels on a GPU). Device memory is host memory: build with
// -fsanitize=address to catch out-of-bounds accesses, as compute-sanitizer memcheck would.
#pragma once
#include <ucontext.h>
#include <ctime>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint4 { unsigned x, y, z, w; };
inline dim3 threadIdx, blockIdx, blockDim, gridDim;

struct __nv_bfloat16 { uint16_t x; };
inline float __bfloat162float(__nv_bfloat16 h) {
    uint32_t u = (uint32_t)h.x << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline __nv_bfloat16 __float2bfloat16(float f) {   // round to nearest even, NaN stays NaN
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16{(uint16_t)((u >> 16) | 0x40)};
    u += 0x7fffu + ((u >> 16) & 1u);
    return __nv_bfloat16{(uint16_t)(u >> 16)};
}
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

// --- runtime API subset
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2, cudaErrorInvalidConfiguration = 9 };
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
typedef struct EmuStream* cudaStream_t;
#define cudaStreamNonBlocking 1
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; };

namespace emu {
inline cudaError_t& last_error() { static cudaError_t e = cudaSuccess; return e; }
}
inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        default: return "cudaErrorInvalidConfiguration";
    }
}
inline const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
inline cudaError_t cudaGetLastError() { cudaError_t e = emu::last_error(); emu::last_error() = cudaSuccess; return e; }
// Copies to or from pinned host memory (cudaHostAlloc) are queued and run at the next launch or synchronising
// call, in order, as a copy engine would: a host write into a pinned buffer whose copy has not run yet arrives
// on the "device" as the new data, the same race a GPU has. Copies of pageable memory run at once (as CUDA
// stages them before returning). One stream: every launch or sync runs the whole queue first.
namespace emu {
struct Copy { void* d; const void* s; size_t n; };
struct CopyQueue {
    std::deque<Copy> q;        // not run yet
    size_t done = 0;           // copies run so far; an event waits for done to reach done + q.size() at record
    std::vector<std::pair<const char*, size_t>> pinned;
};
inline CopyQueue& copies() { static CopyQueue c; return c; }
inline void run_copies(size_t upto = (size_t)-1) {
    CopyQueue& c = copies();
    while (!c.q.empty() && c.done < upto) {
        Copy k = c.q.front();
        c.q.pop_front();
        c.done++;
        if (k.n) std::memcpy(k.d, k.s, k.n);
    }
}
inline bool is_pinned(const void* p) {
    const char* x = static_cast<const char*>(p);
    for (auto& r : copies().pinned) if (x >= r.first && x < r.first + r.second) return true;
    return false;
}
}  // namespace emu
struct EmuEvent { size_t target = 0; double ms = 0; };
typedef EmuEvent* cudaEvent_t;
#define cudaEventDisableTiming 2
#define cudaHostAllocDefault 0

template <typename T> cudaError_t cudaMalloc(T** p, size_t n) {
    size_t bytes = ((n ? n : 1) + 255) & ~(size_t)255;
    *p = static_cast<T*>(std::aligned_alloc(256, bytes));
    if (!*p) return cudaErrorMemoryAllocation;
    std::memset(static_cast<void*>(*p), 0xA5, bytes);   // garbage, like fresh device memory
    return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) { emu::run_copies(); std::free(p); return cudaSuccess; }
inline cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) {
    *p = std::malloc(n ? n : 1);
    if (!*p) return cudaErrorMemoryAllocation;
    emu::copies().pinned.push_back({static_cast<const char*>(*p), n});
    return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
    emu::run_copies();
    auto& v = emu::copies().pinned;
    for (size_t i = 0; i < v.size(); i++) if (v[i].first == p) { v.erase(v.begin() + i); break; }
    std::free(p);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { emu::run_copies(); if (n) std::memcpy(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind k, cudaStream_t) {
    if ((k == cudaMemcpyHostToDevice && emu::is_pinned(s)) || (k == cudaMemcpyDeviceToHost && emu::is_pinned(d))) {
        emu::copies().q.push_back({d, s, n});
        return cudaSuccess;
    }
    return cudaMemcpy(d, s, n, k);
}
inline cudaError_t cudaMemset(void* p, int v, size_t n) { emu::run_copies(); if (n) std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) { return cudaMemset(p, v, n); }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = reinterpret_cast<cudaStream_t>(1); return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { emu::run_copies(); return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { emu::run_copies(); return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { *e = new EmuEvent(); return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { delete e; return cudaSuccess; }
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }
// An event marks the copies queued so far (for the staging buffers) and the host clock: launches run
// synchronously here, so elapsed times (the step profiler, src/cuda/profiler.h) are host times.
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) {
    e->target = emu::copies().done + emu::copies().q.size();
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->ms = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    return cudaSuccess;
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) { *ms = (float)(b->ms - a->ms); return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) { emu::run_copies(e->target); return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total_b) { *free_b = *total_b = 0; return cudaSuccess; }   // unknown here
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
    std::memset(p, 0, sizeof *p);
    std::strcpy(p->name, "CPU emulator (dev/emu)");
    p->major = 9; p->minor = 0; p->multiProcessorCount = 1;
    return cudaSuccess;
}

// --- fiber scheduler
namespace emu {
enum State { READY, WAIT_BLOCK, WAIT_WARP, DONE };
struct Sched {
    ucontext_t main_ctx;
    std::vector<ucontext_t> ctx;
    std::vector<State> st;
    std::vector<char*> stacks;
    std::vector<int> parity;          // per thread: which shuffle slot bank it uses next
    std::vector<float> slots;         // [2][warps][32]
    int n = 0, cur = 0, warps = 0;
    const std::function<void()>* body = nullptr;
    const char* kernel = "";
#ifdef EMU_ASAN
    void* fake_stack = nullptr;
#endif
};
constexpr size_t kStack = 256 * 1024;
inline Sched& sched() { static Sched s; return s; }

[[noreturn]] inline void fatal(const char* what) {
    std::fprintf(stderr, "emu: %s in kernel %s (block %u,%u,%u)\n", what, sched().kernel, blockIdx.x, blockIdx.y, blockIdx.z);
    std::abort();
}

inline void switch_to_main(State next) {
    Sched& s = sched();
    s.st[s.cur] = next;
#ifdef EMU_ASAN
    __sanitizer_start_switch_fiber(next == DONE ? nullptr : &s.fake_stack, nullptr, 0);
#endif
    swapcontext(&s.ctx[s.cur], &s.main_ctx);
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(s.fake_stack, nullptr, nullptr);
#endif
}

inline void fiber_entry() {
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    (*sched().body)();
    switch_to_main(DONE);
}

inline float shfl(float v, int src_lane) {
    Sched& s = sched();
    const int t = s.cur, w = t / 32, lane = t % 32, p = s.parity[t];
    s.slots[((size_t)p * s.warps + w) * 32 + lane] = v;
    s.parity[t] ^= 1;
    switch_to_main(WAIT_WARP);
    return s.slots[((size_t)p * s.warps + w) * 32 + (src_lane & 31)];
}

inline void run_block(int n) {
    Sched& s = sched();
    s.n = n;
    s.warps = (n + 31) / 32;
    s.ctx.resize(n);
    s.st.assign(n, READY);
    s.parity.assign(n, 0);
    s.slots.assign((size_t)2 * s.warps * 32, 0.f);
    while ((int)s.stacks.size() < n) s.stacks.push_back(static_cast<char*>(std::malloc(kStack)));
    for (int t = 0; t < n; t++) {
        getcontext(&s.ctx[t]);
        s.ctx[t].uc_stack.ss_sp = s.stacks[t];
        s.ctx[t].uc_stack.ss_size = kStack;
        s.ctx[t].uc_link = nullptr;
        makecontext(&s.ctx[t], fiber_entry, 0);
    }
    for (;;) {
        bool ran = false;
        for (int t = 0; t < n; t++) {
            if (s.st[t] != READY) continue;
            s.cur = t;
            threadIdx = dim3(t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y));
#ifdef EMU_ASAN
            void* fs = nullptr;
            __sanitizer_start_switch_fiber(&fs, s.stacks[t], kStack);
#endif
            swapcontext(&s.main_ctx, &s.ctx[t]);
#ifdef EMU_ASAN
            __sanitizer_finish_switch_fiber(fs, nullptr, nullptr);
#endif
            ran = true;
        }
        int done = 0, wblock = 0;
        for (int t = 0; t < n; t++) { done += s.st[t] == DONE; wblock += s.st[t] == WAIT_BLOCK; }
        if (done == n) return;
        bool released = false;
        for (int w = 0; w < s.warps; w++) {
            int lanes = std::min(32, n - w * 32), ww = 0, wd = 0;
            for (int l = 0; l < lanes; l++) { ww += s.st[w * 32 + l] == WAIT_WARP; wd += s.st[w * 32 + l] == DONE; }
            if (ww == 0) continue;
            if (wd > 0) fatal("warp shuffle while some lanes of the warp have exited");
            if (ww == lanes) {
                for (int l = 0; l < lanes; l++) s.st[w * 32 + l] = READY;
                released = true;
            }
        }
        if (!released && wblock > 0 && wblock + done == n) {
            for (int t = 0; t < n; t++) if (s.st[t] == WAIT_BLOCK) s.st[t] = READY;
            released = true;
        }
        if (!ran && !released) fatal("deadlock: divergent __syncthreads or warp shuffle");
    }
}

inline void run_grid(dim3 g, dim3 b, const std::function<void()>& body, const char* name) {
    run_copies();   // stream order: queued copies land before the kernel reads
    const unsigned threads = b.x * b.y * b.z;
    if (g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535 || threads == 0 || threads > 1024) {
        last_error() = cudaErrorInvalidConfiguration;
        return;
    }
    Sched& s = sched();
    s.body = &body;
    s.kernel = name;
    gridDim = g;
    blockDim = b;
    for (unsigned z = 0; z < g.z; z++)
        for (unsigned y = 0; y < g.y; y++)
            for (unsigned x = 0; x < g.x; x++) {
                blockIdx = dim3(x, y, z);
                run_block((int)threads);
            }
}

template <typename F> struct Launcher {
    F k;
    dim3 g, b;
    const char* name;
    template <typename... A> void operator()(A... args) const {
        std::function<void()> body = [&]() { k(args...); };
        run_grid(g, b, body, name);
    }
};
template <typename F> Launcher<F> launcher(F k, dim3 g, dim3 b, const char* name) { return Launcher<F>{k, g, b, name}; }
}  // namespace emu

inline void __syncthreads() { emu::switch_to_main(emu::WAIT_BLOCK); }
inline float __shfl_xor_sync(unsigned, float v, int mask) { return emu::shfl(v, (emu::sched().cur % 32) ^ mask); }
inline float __shfl_sync(unsigned, float v, int src) { return emu::shfl(v, src); }

#define LAUNCH(kernel, grid, block, stream) emu::launcher(kernel, dim3(grid), dim3(block), #kernel)


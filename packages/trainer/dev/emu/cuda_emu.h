// A small CUDA emulator for machines without a GPU (dev only, never in real builds): kernels/*.cuh and
// src/cuda/cuda_backend.cu compile as plain C++ with -DTRAINER_EMU and run on the CPU. Each block runs
// its threads as fibers (ucontext) on one OS thread; __syncthreads and warp shuffles are barriers that
// the scheduler resolves, so barrier divergence and shuffles with exited lanes abort loudly. Blocks run
// one after another, so `__shared__` becomes `static`; dynamic shared memory (LAUNCH_SMEM) is one heap
// buffer per launch, refilled with garbage for every block. Device memory is host memory: build with
// -fsanitize=address to catch out-of-bounds accesses, as compute-sanitizer memcheck would.
// Warp-collective operations (shuffles, __syncwarp, WMMA) are barriers of the 32 lanes of a warp: a lane
// that reaches one alone, lanes that reach different ones, or a warp with exited lanes abort.
// WMMA (nvcuda::wmma, 16x16x16 bf16 -> fp32, the subset the kernels use): fragments hold 8 elements per
// lane, like the hardware, but in a deliberately scrambled order (a different one per fragment kind), so a
// kernel that assumed some element-to-(row, column) mapping would fail its tests here. The matmul.cuh GEMM
// is still replaced by a CPU loop (its real kernel is covered by test_kernels on a GPU).
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
#include <map>
#include <new>
#include <string>
#include <type_traits>
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
#define __align__(n) __attribute__((aligned(n)))   // GCC accepts it where CUDA puts it (after __shared__)

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
struct float4 { float x, y, z, w; };
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
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
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
    std::vector<int> parity;          // per thread: which exchange bank its next warp collective uses
    std::vector<int> tag;             // per thread: the warp collective it waits in (Collective)
    std::vector<float> xchg;          // [2][warps][kXchg]: what lanes hand each other in a collective
    int n = 0, cur = 0, warps = 0;
    unsigned char* smem = nullptr;    // dynamic shared memory of the running launch
    size_t smem_bytes = 0;
    std::map<const void*, int> max_dyn_smem;   // cudaFuncAttributeMaxDynamicSharedMemorySize per kernel
    const std::function<void()>* body = nullptr;
    const char* kernel = "";
#ifdef EMU_ASAN
    void* fake_stack = nullptr;
#endif
};
constexpr size_t kStack = 256 * 1024;
constexpr size_t kXchg = 32 + 3 * 256;   // shuffle slots, then the A, B, C matrices of an mma
enum Collective { C_SHFL = 1, C_SYNCWARP, C_WMMA_FILL, C_WMMA_LOAD, C_WMMA_STORE, C_WMMA_MMA };
inline const char* collective_name(int c) {
    static const char* n[] = {"?", "shuffle", "__syncwarp", "wmma::fill_fragment", "wmma::load_matrix_sync",
                              "wmma::store_matrix_sync", "wmma::mma_sync"};
    return c >= 0 && c <= C_WMMA_MMA ? n[c] : "?";
}
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

// A warp collective in two halves: begin() gives this lane its exchange bank (write what the other lanes
// need there), wait() blocks until all 32 lanes of the warp have arrived at the same collective; then
// every lane reads the bank. Banks alternate per collective (parity): a lane that has left collective n
// can at most reach the barrier of n+1, so it cannot overwrite bank n%2 while a slower lane reads it.
inline float* collective_begin() {
    Sched& s = sched();
    const int t = s.cur, p = s.parity[t];
    s.parity[t] ^= 1;
    return &s.xchg[((size_t)p * s.warps + t / 32) * kXchg];
}
inline void collective_wait(int what) {
    Sched& s = sched();
    s.tag[s.cur] = what;
    switch_to_main(WAIT_WARP);
}
inline int lane_id() { return sched().cur % 32; }
// WMMA needs all 32 lanes (a block whose size is not a multiple of 32 has a partial last warp).
inline void require_full_warp(const char* op) {
    Sched& s = sched();
    if ((s.cur / 32) * 32 + 32 > s.n) fatal(op);
}

inline float shfl(float v, int src_lane) {
    float* bank = collective_begin();
    bank[lane_id()] = v;
    collective_wait(C_SHFL);
    return bank[src_lane & 31];
}
inline unsigned char* dynamic_smem() {
    if (!sched().smem) fatal("dynamic shared memory used by a kernel launched without LAUNCH_SMEM");
    return sched().smem;
}

inline void run_block(int n) {
    Sched& s = sched();
    s.n = n;
    s.warps = (n + 31) / 32;
    s.ctx.resize(n);
    s.st.assign(n, READY);
    s.parity.assign(n, 0);
    s.tag.assign(n, 0);
    s.xchg.assign((size_t)2 * s.warps * kXchg, 0.f);
    if (s.smem) std::memset(s.smem, 0xA5, s.smem_bytes);   // garbage, as left by an earlier block
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
            if (wd > 0) fatal("warp collective (shuffle, __syncwarp, WMMA) while some lanes of the warp have exited");
            if (ww == lanes) {
                for (int l = 1; l < lanes; l++)
                    if (s.tag[w * 32 + l] != s.tag[w * 32]) {
                        std::fprintf(stderr, "emu: lane 0 is in %s, lane %d in %s\n", collective_name(s.tag[w * 32]), l,
                                     collective_name(s.tag[w * 32 + l]));
                        fatal("lanes of one warp in different warp collectives");
                    }
                for (int l = 0; l < lanes; l++) s.st[w * 32 + l] = READY;
                released = true;
            }
        }
        if (!released && wblock > 0 && wblock + done == n) {
            for (int t = 0; t < n; t++) if (s.st[t] == WAIT_BLOCK) s.st[t] = READY;
            released = true;
        }
        if (!ran && !released) fatal("deadlock: divergent __syncthreads or warp collective (shuffle, __syncwarp, WMMA)");
    }
}

// Dynamic shared memory above 48 KB needs cudaFuncSetAttribute first, as on the GPU (static shared
// memory is not counted here: the emulator cannot see it).
inline void run_grid(dim3 g, dim3 b, const std::function<void()>& body, const char* name, const void* fn, size_t smem) {
    run_copies();   // stream order: queued copies land before the kernel reads
    const unsigned threads = b.x * b.y * b.z;
    if (g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535 || threads == 0 || threads > 1024) {
        last_error() = cudaErrorInvalidConfiguration;
        return;
    }
    Sched& s = sched();
    auto attr = s.max_dyn_smem.find(fn);
    if (smem > 48 * 1024 && (attr == s.max_dyn_smem.end() || (size_t)attr->second < smem)) {
        std::fprintf(stderr, "emu: %s launched with %zu B of dynamic shared memory without cudaFuncSetAttribute\n", name, smem);
        last_error() = cudaErrorInvalidValue;
        return;
    }
    if (smem) {
        s.smem = static_cast<unsigned char*>(::operator new(smem, std::align_val_t(128)));   // exact size: ASan sees overruns
        s.smem_bytes = smem;
    }
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
    if (s.smem) ::operator delete(s.smem, std::align_val_t(128));
    s.smem = nullptr;
    s.smem_bytes = 0;
}

template <typename F> struct Launcher {
    F k;
    dim3 g, b;
    const char* name;
    size_t smem;
    template <typename... A> void operator()(A... args) const {
        std::function<void()> body = [&]() { k(args...); };
        run_grid(g, b, body, name, reinterpret_cast<const void*>(k), smem);
    }
};
template <typename F> Launcher<F> launcher(F k, dim3 g, dim3 b, const char* name, size_t smem = 0) {
    return Launcher<F>{k, g, b, name, smem};
}
}  // namespace emu

template <typename F> cudaError_t cudaFuncSetAttribute(F* fn, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > 227 * 1024) return cudaErrorInvalidValue;
    emu::sched().max_dyn_smem[reinterpret_cast<const void*>(fn)] = value;   // 227 KB: the sm_90 opt-in limit
    return cudaSuccess;
}

inline void __syncthreads() { emu::switch_to_main(emu::WAIT_BLOCK); }
inline float __shfl_xor_sync(unsigned, float v, int mask) { return emu::shfl(v, (emu::sched().cur % 32) ^ mask); }
inline float __shfl_sync(unsigned, float v, int src) { return emu::shfl(v, src); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) emu::fatal("__syncwarp with a partial mask (not emulated)");
    emu::collective_begin();
    emu::collective_wait(emu::C_SYNCWARP);
}

#define LAUNCH(kernel, grid, block, stream) emu::launcher(kernel, dim3(grid), dim3(block), #kernel)
#define LAUNCH_SMEM(kernel, grid, block, smem, stream) emu::launcher(kernel, dim3(grid), dim3(block), #kernel, smem)
#define DYNAMIC_SMEM(name) unsigned char* name = emu::dynamic_smem()

// --- WMMA: the subset of <mma.h> the kernels use (m16n16k16, bf16 inputs, fp32 accumulator).
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "emu: only m16n16k16 fragments");
    static constexpr int num_elements = 8;   // 256 elements over 32 lanes
    T x[num_elements];
};

namespace detail {
// Element e of lane l holds matrix entry (idx / 16, idx % 16), idx = (mul * (32 e + l) + add) mod 256: a
// bijection for odd mul, different for each fragment kind (rows x cols: A = M x K, B = K x N, C = M x N).
template <typename Use> inline int entry(int lane, int e) {
    const int mul = std::is_same<Use, matrix_a>::value ? 37 : std::is_same<Use, matrix_b>::value ? 101 : 77;
    const int add = std::is_same<Use, matrix_a>::value ? 11 : std::is_same<Use, matrix_b>::value ? 200 : 5;
    return (mul * (32 * e + lane) + add) & 255;
}
inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
inline void from_float(float& d, float v) { d = v; }
inline void from_float(__nv_bfloat16& d, float v) { d = __float2bfloat16(v); }
template <typename T> inline void check_ptr(const T* p, unsigned ldm, const char* op) {
    emu::require_full_warp(op);
    if (reinterpret_cast<uintptr_t>(p) % 32 != 0) emu::fatal("WMMA pointer not 256-bit aligned");
    if ((ldm * sizeof(T)) % 16 != 0) emu::fatal("WMMA ldm not a multiple of 16 bytes");
}
// Offset of entry (r, c) in memory laid out row- or column-major with leading dimension ldm.
inline size_t offset(int r, int c, unsigned ldm, bool row_major) { return row_major ? (size_t)r * ldm + c : (size_t)c * ldm + r; }
template <typename L> constexpr bool is_row() { return std::is_same<L, row_major>::value; }
}  // namespace detail

// Every lane must pass the same value (the element mapping is unspecified, so anything else is a bug).
template <typename Use, typename T, typename L> void fill_fragment(fragment<Use, 16, 16, 16, T, L>& f, float v) {
    emu::require_full_warp("wmma::fill_fragment in a partial warp");
    float* bank = emu::collective_begin();
    bank[emu::lane_id()] = v;
    emu::collective_wait(emu::C_WMMA_FILL);
    for (int l = 0; l < 32; l++)
        if (!(bank[l] == v || (std::isnan(bank[l]) && std::isnan(v)))) emu::fatal("wmma::fill_fragment with different values across lanes");
    for (int e = 0; e < 8; e++) detail::from_float(f.x[e], v);
}
template <typename Use, typename T, typename L> void load_matrix_sync(fragment<Use, 16, 16, 16, T, L>& f, const T* p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "accumulator loads take a layout_t");
    detail::check_ptr(p, ldm, "wmma::load_matrix_sync in a partial warp");
    emu::collective_begin();
    emu::collective_wait(emu::C_WMMA_LOAD);
    for (int e = 0; e < 8; e++) {
        const int idx = detail::entry<Use>(emu::lane_id(), e);
        f.x[e] = p[detail::offset(idx / 16, idx % 16, ldm, detail::is_row<L>())];
    }
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p, unsigned ldm, layout_t layout) {
    detail::check_ptr(p, ldm, "wmma::load_matrix_sync in a partial warp");
    emu::collective_begin();
    emu::collective_wait(emu::C_WMMA_LOAD);
    for (int e = 0; e < 8; e++) {
        const int idx = detail::entry<accumulator>(emu::lane_id(), e);
        f.x[e] = p[detail::offset(idx / 16, idx % 16, ldm, layout == mem_row_major)];
    }
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm, layout_t layout) {
    detail::check_ptr(p, ldm, "wmma::store_matrix_sync in a partial warp");
    emu::collective_begin();
    emu::collective_wait(emu::C_WMMA_STORE);
    for (int e = 0; e < 8; e++) {
        const int idx = detail::entry<accumulator>(emu::lane_id(), e);
        p[detail::offset(idx / 16, idx % 16, ldm, layout == mem_row_major)] = f.x[e];
    }
}
// d = a b + c (fp32 accumulation in k order; the tensor cores' internal rounding differs slightly). Each
// lane hands its elements of a, b and c to the warp, then computes its own elements of d.
template <typename T, typename LA, typename LB>
void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, T, LA>& a,
              const fragment<matrix_b, 16, 16, 16, T, LB>& b, const fragment<accumulator, 16, 16, 16, float>& c) {
    emu::require_full_warp("wmma::mma_sync in a partial warp");
    float* bank = emu::collective_begin();
    float *A = bank + 32, *B = A + 256, *C = B + 256;
    const int lane = emu::lane_id();
    for (int e = 0; e < 8; e++) {
        A[detail::entry<matrix_a>(lane, e)] = detail::to_float(a.x[e]);
        B[detail::entry<matrix_b>(lane, e)] = detail::to_float(b.x[e]);
        C[detail::entry<accumulator>(lane, e)] = c.x[e];
    }
    emu::collective_wait(emu::C_WMMA_MMA);
    for (int e = 0; e < 8; e++) {
        const int idx = detail::entry<accumulator>(lane, e), m = idx / 16, n = idx % 16;
        float acc = C[idx];
        for (int k = 0; k < 16; k++) acc += A[m * 16 + k] * B[k * 16 + n];
        d.x[e] = acc;
    }
}
}  // namespace wmma
}  // namespace nvcuda

// Base-weight GEMMs: D (M, N) fp32 = alpha * A (M, K) · op(B) + beta * C, A and B bf16, fp32 accumulation.
//   MATMUL_NT: B stored (N, K) row-major (a Linear weight (out, in): y = x Wᵀ)
//   MATMUL_NN: B stored (K, N) row-major (input gradient dx = dy W; lm_head backward dlogits · E)
// C may be null (beta = 0), equal to D (in-place accumulate) or another buffer (residual add fused:
// x_next = x + h Wᵀ without a separate pass).
// Why two paths: cuBLASLt is the fastest bf16 GEMM on H100/H200 (wgmma, tuned tiles), but it is not on
// the development and CI machines, and the build must not depend on it. So it is loaded with dlopen at
// run time (types and enums declared below from cublasLt.h's documented ABI; no header needed), checked
// once against our own kernel on random data, and used when present and correct. Otherwise (or with
// TRAINER_GEMM=own) our own tensor-core kernel runs: WMMA bf16 16x16x16, 64x64x32 tiles, correct for
// any shape, several times slower than cuBLASLt on Hopper (no wgmma, no async copies).
#pragma once
#include <dlfcn.h>
#ifndef TRAINER_EMU
#include <mma.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "cuda_utils.cuh"

enum MatmulOp { MATMUL_NT = 0, MATMUL_NN = 1 };

// --- kernels
#ifndef TRAINER_EMU
#define MM_BM 64
#define MM_BN 64
#define MM_BK 32
#define MM_PAD 8

template <int OP>
__global__ void __launch_bounds__(128) matmul_kernel(float* D, const float* C, float beta, const bf16* A, const bf16* B,
                                                     int M, int N, int K, float alpha) {
    using namespace nvcuda;
    __shared__ __align__(128) bf16 As[MM_BM][MM_BK + MM_PAD];                         // (m, k)
    __shared__ __align__(128) bf16 Bs[OP == MATMUL_NT ? MM_BN : MM_BK]
                                     [OP == MATMUL_NT ? MM_BK + MM_PAD : MM_BN + MM_PAD];  // NT (n, k); NN (k, n)
    __shared__ __align__(128) float Cs[MM_BM][MM_BN + 4];
    const int tid = threadIdx.x, warp = tid / 32, wm = warp / 2, wn = warp % 2;
    const int m0 = blockIdx.y * MM_BM, n0 = blockIdx.x * MM_BN;
    const bool a_vec = (K % 8 == 0) && ((reinterpret_cast<uintptr_t>(A) & 15) == 0);
    const bool b_vec = (OP == MATMUL_NT ? K % 8 == 0 : N % 8 == 0) && ((reinterpret_cast<uintptr_t>(B) & 15) == 0);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);
    for (int k0 = 0; k0 < K; k0 += MM_BK) {
        // 64 x 32 tiles = 256 chunks of 8 bf16; 2 per thread. 16-byte loads when aligned and in bounds.
        for (int c = tid; c < 256; c += 128) {
            int r = c / 4, kc = (c % 4) * 8, m = m0 + r, k = k0 + kc;
            if (a_vec && m < M && k + 8 <= K) {
                *reinterpret_cast<uint4*>(&As[r][kc]) = *reinterpret_cast<const uint4*>(A + (size_t)m * K + k);
            } else {
                for (int e = 0; e < 8; e++)
                    As[r][kc + e] = (m < M && k + e < K) ? A[(size_t)m * K + k + e] : __float2bfloat16(0.f);
            }
            if (OP == MATMUL_NT) {
                int n = n0 + r;
                if (b_vec && n < N && k + 8 <= K) {
                    *reinterpret_cast<uint4*>(&Bs[r][kc]) = *reinterpret_cast<const uint4*>(B + (size_t)n * K + k);
                } else {
                    for (int e = 0; e < 8; e++)
                        Bs[r][kc + e] = (n < N && k + e < K) ? B[(size_t)n * K + k + e] : __float2bfloat16(0.f);
                }
            } else {
                int kr = c / 8, nc = (c % 8) * 8, kk = k0 + kr, n = n0 + nc;
                if (b_vec && kk < K && n + 8 <= N) {
                    *reinterpret_cast<uint4*>(&Bs[kr][nc]) = *reinterpret_cast<const uint4*>(B + (size_t)kk * N + n);
                } else {
                    for (int e = 0; e < 8; e++)
                        Bs[kr][nc + e] = (kk < K && n + e < N) ? B[(size_t)kk * N + n + e] : __float2bfloat16(0.f);
                }
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < MM_BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> af[2];
            for (int i = 0; i < 2; i++) wmma::load_matrix_sync(af[i], &As[wm * 32 + i * 16][kk], MM_BK + MM_PAD);
            for (int j = 0; j < 2; j++) {
                if (OP == MATMUL_NT) {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> bfg;
                    wmma::load_matrix_sync(bfg, &Bs[wn * 32 + j * 16][kk], MM_BK + MM_PAD);
                    for (int i = 0; i < 2; i++) wmma::mma_sync(acc[i][j], af[i], bfg, acc[i][j]);
                } else {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> bfg;
                    wmma::load_matrix_sync(bfg, &Bs[kk][wn * 32 + j * 16], MM_BN + MM_PAD);
                    for (int i = 0; i < 2; i++) wmma::mma_sync(acc[i][j], af[i], bfg, acc[i][j]);
                }
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], MM_BN + 4, wmma::mem_row_major);
    __syncthreads();
    for (int e = tid; e < MM_BM * MM_BN; e += 128) {
        int r = e / MM_BN, c = e % MM_BN, m = m0 + r, n = n0 + c;
        if (m < M && n < N) {
            float v = alpha * Cs[r][c];
            if (beta != 0.f) v += beta * C[(size_t)m * N + n];
            D[(size_t)m * N + n] = v;
        }
    }
}

#endif  // TRAINER_EMU

// --- launchers
#ifdef TRAINER_EMU
// dev/emu: a CPU loop with the kernel's semantics (bf16 inputs, fp32 accumulation).
inline void matmul_own(MatmulOp op, float* D, const float* C, float beta, const bf16* A, const bf16* B, int M, int N,
                       int K, float alpha, cudaStream_t) {
    emu::run_copies();   // stream order, as a kernel launch
    std::vector<float> row(N);
    for (int m = 0; m < M; m++) {
        std::fill(row.begin(), row.end(), 0.f);
        for (int k = 0; k < K; k++) {
            float a = __bfloat162float(A[(size_t)m * K + k]);
            for (int n = 0; n < N; n++)
                row[n] += a * __bfloat162float(op == MATMUL_NT ? B[(size_t)n * K + k] : B[(size_t)k * N + n]);
        }
        for (int n = 0; n < N; n++) {
            float v = alpha * row[n];
            if (beta != 0.f) v += beta * C[(size_t)m * N + n];
            D[(size_t)m * N + n] = v;
        }
    }
}
#else
inline void matmul_own(MatmulOp op, float* D, const float* C, float beta, const bf16* A, const bf16* B, int M, int N,
                       int K, float alpha, cudaStream_t s) {
    if (M <= 0 || N <= 0) return;
    dim3 grid(ceil_div(N, MM_BN), ceil_div(M, MM_BM));
    if (op == MATMUL_NT) LAUNCH(matmul_kernel<MATMUL_NT>, grid, 128, s)(D, C, beta, A, B, M, N, K, alpha);
    else LAUNCH(matmul_kernel<MATMUL_NN>, grid, 128, s)(D, C, beta, A, B, M, N, K, alpha);
}
#endif

// --- cuBLASLt through dlopen (ABI of cublasLt.h, CUDA 11.x-13.x)
namespace lt {
typedef void* Handle;
typedef void* MatmulDesc;
typedef void* MatrixLayout;
typedef void* Preference;
struct Algo { uint64_t data[8]; };
struct HeuristicResult { Algo algo; size_t workspaceSize; int state; float wavesCount; int reserved[4]; };
enum { COMPUTE_32F = 68, R_32F = 0, R_16BF = 14, OP_N = 0, OP_T = 1 };
enum { DESC_TRANSA = 3, DESC_TRANSB = 4, PREF_MAX_WORKSPACE_BYTES = 1 };
typedef int (*CreateFn)(Handle*);
typedef int (*DestroyFn)(Handle);
typedef int (*DescCreateFn)(MatmulDesc*, int, int);
typedef int (*DescDestroyFn)(MatmulDesc);
typedef int (*DescSetFn)(MatmulDesc, int, const void*, size_t);
typedef int (*LayoutCreateFn)(MatrixLayout*, int, uint64_t, uint64_t, int64_t);
typedef int (*LayoutDestroyFn)(MatrixLayout);
typedef int (*PrefCreateFn)(Preference*);
typedef int (*PrefDestroyFn)(Preference);
typedef int (*PrefSetFn)(Preference, int, const void*, size_t);
typedef int (*HeuristicFn)(Handle, MatmulDesc, MatrixLayout, MatrixLayout, MatrixLayout, MatrixLayout, Preference, int,
                           HeuristicResult*, int*);
typedef int (*MatmulFn)(Handle, MatmulDesc, const void*, const void*, MatrixLayout, const void*, MatrixLayout,
                        const void*, const void*, MatrixLayout, void*, MatrixLayout, const Algo*, void*, size_t,
                        cudaStream_t);
}  // namespace lt

// One cached plan per (op, M, N, K, C != D): descriptors and the heuristic's algorithm.
struct MatmulPlan {
    int op, M, N, K;
    bool separate_c;
    lt::MatmulDesc desc;
    lt::MatrixLayout a, b, c;
    lt::Algo algo;
};

struct MatmulEngine {
    void* lib = nullptr;
    lt::Handle handle = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 32u << 20;
    std::string lib_name;
    std::vector<MatmulPlan> plans;
    bool warned = false;
    lt::CreateFn create = nullptr;
    lt::DestroyFn destroy_handle = nullptr;
    lt::DescCreateFn desc_create = nullptr;
    lt::DescDestroyFn desc_destroy = nullptr;
    lt::DescSetFn desc_set = nullptr;
    lt::LayoutCreateFn layout_create = nullptr;
    lt::LayoutDestroyFn layout_destroy = nullptr;
    lt::PrefCreateFn pref_create = nullptr;
    lt::PrefDestroyFn pref_destroy = nullptr;
    lt::PrefSetFn pref_set = nullptr;
    lt::HeuristicFn heuristic = nullptr;
    lt::MatmulFn matmul = nullptr;

    bool using_lt() const { return handle != nullptr; }
    std::string path() const { return using_lt() ? "cuBLASLt (" + lib_name + ")" : "own WMMA tensor-core kernel"; }

    // Tries cuBLASLt; *note says which path was taken and why. Errors only for CUDA failures.
    std::string init(bool allow_lt, std::string* note) {
        const char* env = getenv("TRAINER_GEMM");
        if (!allow_lt || (env && strcmp(env, "own") == 0)) { *note = "cuBLASLt disabled (TRAINER_GEMM=own)"; return ""; }
#ifdef TRAINER_EMU
        *note = "CPU emulator: no cuBLASLt";
        return "";
#endif
        const char* names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so",
                               "/usr/local/cuda/lib64/libcublasLt.so.13", "/usr/local/cuda/lib64/libcublasLt.so"};
        for (const char* n : names) {
            lib = dlopen(n, RTLD_NOW | RTLD_LOCAL);
            if (lib) { lib_name = n; break; }
        }
        if (!lib) { *note = "libcublasLt.so not found (dlopen failed)"; return ""; }
        bool ok = true;
        auto sym = [&](const char* s) { void* p = dlsym(lib, s); if (!p) ok = false; return p; };
        create = (lt::CreateFn)sym("cublasLtCreate");
        destroy_handle = (lt::DestroyFn)sym("cublasLtDestroy");
        desc_create = (lt::DescCreateFn)sym("cublasLtMatmulDescCreate");
        desc_destroy = (lt::DescDestroyFn)sym("cublasLtMatmulDescDestroy");
        desc_set = (lt::DescSetFn)sym("cublasLtMatmulDescSetAttribute");
        layout_create = (lt::LayoutCreateFn)sym("cublasLtMatrixLayoutCreate");
        layout_destroy = (lt::LayoutDestroyFn)sym("cublasLtMatrixLayoutDestroy");
        pref_create = (lt::PrefCreateFn)sym("cublasLtMatmulPreferenceCreate");
        pref_destroy = (lt::PrefDestroyFn)sym("cublasLtMatmulPreferenceDestroy");
        pref_set = (lt::PrefSetFn)sym("cublasLtMatmulPreferenceSetAttribute");
        heuristic = (lt::HeuristicFn)sym("cublasLtMatmulAlgoGetHeuristic");
        matmul = (lt::MatmulFn)sym("cublasLtMatmul");
        if (!ok || create(&handle) != 0) {
            *note = std::string(lib_name) + " lacks a symbol or cublasLtCreate failed";
            handle = nullptr;
            return "";
        }
        CUDA_TRY(cudaMalloc(&workspace, workspace_bytes));
        *note = "cuBLASLt loaded from " + lib_name;
        return "";
    }

    void release() {
        for (auto& p : plans) {
            desc_destroy(p.desc);
            layout_destroy(p.a);
            layout_destroy(p.b);
            layout_destroy(p.c);
        }
        plans.clear();
        if (handle) destroy_handle(handle);
        handle = nullptr;
        if (workspace) cudaFree(workspace);
        workspace = nullptr;
    }

    // Drops cuBLASLt (e.g. after a failed self-check): every later call uses the own kernel.
    void disable_lt() { release(); }

    std::string plan_for(MatmulOp op, int M, int N, int K, bool separate_c, const MatmulPlan** out) {
        for (auto& p : plans)
            if (p.op == op && p.M == M && p.N == N && p.K == K && p.separate_c == separate_c) { *out = &p; return ""; }
        // Row-major D (M, N) is column-major Dᵀ (N, M) = op(B)ᵀ-side first: Dᵀ = Bᵀ·Aᵀ with m=N, n=M, k=K.
        MatmulPlan p{};
        p.op = op; p.M = M; p.N = N; p.K = K; p.separate_c = separate_c;
        int ta = op == MATMUL_NT ? lt::OP_T : lt::OP_N, tb = lt::OP_N;
        if (desc_create(&p.desc, lt::COMPUTE_32F, lt::R_32F) != 0) return "cublasLtMatmulDescCreate failed";
        desc_set(p.desc, lt::DESC_TRANSA, &ta, sizeof(ta));
        desc_set(p.desc, lt::DESC_TRANSB, &tb, sizeof(tb));
        if (op == MATMUL_NT) layout_create(&p.a, lt::R_16BF, K, N, K);   // our B (N, K) row-major = col-major K x N
        else layout_create(&p.a, lt::R_16BF, N, K, N);                    // our B (K, N) row-major = col-major N x K
        layout_create(&p.b, lt::R_16BF, K, M, K);                         // our A (M, K) row-major = col-major K x M
        layout_create(&p.c, lt::R_32F, N, M, N);                          // D (M, N) row-major = col-major N x M
        lt::Preference pref;
        pref_create(&pref);
        pref_set(pref, lt::PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof(workspace_bytes));
        // Padded: the struct layout is declared here by hand, so leave room should a library write more.
        struct { lt::HeuristicResult r; char pad[512]; } res{};
        int count = 0;
        int st = heuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &res.r, &count);
        pref_destroy(pref);
        if (st != 0 || count == 0) {
            desc_destroy(p.desc); layout_destroy(p.a); layout_destroy(p.b); layout_destroy(p.c);
            return "cuBLASLt found no algorithm for " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
        }
        p.algo = res.r.algo;
        plans.push_back(p);
        *out = &plans.back();
        return "";
    }

    std::string run(MatmulOp op, float* D, const float* C, float beta, const bf16* A, const bf16* B, int M, int N, int K,
                    float alpha, cudaStream_t s) {
        if (M <= 0 || N <= 0) return "";
        if (!using_lt() || K <= 0) {
            matmul_own(op, D, C, beta, A, B, M, N, K, alpha, s);
            CUDA_LAUNCH_CHECK();
            return "";
        }
        const MatmulPlan* p = nullptr;
        std::string err = plan_for(op, M, N, K, C != nullptr && C != D, &p);
        if (!err.empty()) {   // a shape cuBLASLt declines: our kernel covers every shape
            if (!warned) std::fprintf(stderr, "matmul: %s; using the own kernel for such shapes\n", err.c_str());
            warned = true;
            matmul_own(op, D, C, beta, A, B, M, N, K, alpha, s);
            CUDA_LAUNCH_CHECK();
            return "";
        }
        const void* cptr = (beta != 0.f && C) ? (const void*)C : (const void*)D;
        int st = matmul(handle, p->desc, &alpha, B, p->a, A, p->b, &beta, cptr, p->c, D, p->c, &p->algo, workspace,
                        workspace_bytes, s);
        if (st != 0) return "cublasLtMatmul failed with status " + std::to_string(st);
        return "";
    }
};

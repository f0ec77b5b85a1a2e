// Unit tests of every CUDA kernel against a plain double-precision CPU computation on fresh random data
// (odd sizes, padding, GQA, both GEMM paths). Outputs are poisoned (NaN) before each launch, so an
// unwritten element fails. Exit 0 = all passed, 1 = a failure, 77 = no GPU (ctest: skipped).
// Owned by the CUDA engineer; registered with ctest label "gpu".
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adamw.cuh"
#include "attention.cuh"
#include "attention_tc.cuh"
#include "convert.cuh"
#include "cross_entropy.cuh"
#include "dropout.cuh"
#include "embedding.cuh"
#include "lora_matmul.cuh"
#include "matmul.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"
#include "swiglu.cuh"

// ---------------------------------------------------------------------------------------------------
// Harness

static int g_fail = 0;
static std::mt19937_64 g_rng(20261128);

static void check(const std::string& what, double err, double tol) {
    bool ok = std::isfinite(err) && err <= tol;
    if (!ok) g_fail++;
    std::printf("%-4s %-58s err %.3e  tol %.1e\n", ok ? "ok" : "FAIL", what.c_str(), err, tol);
}
#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            std::printf("FAIL CUDA %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_)); \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)
#define SYNC() do { CK(cudaGetLastError()); CK(cudaDeviceSynchronize()); } while (0)

static std::vector<float> randn(size_t n, float scale = 1.f) {
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g_rng);
    return v;
}
static float bf(float x) { return __bfloat162float(__float2bfloat16(x)); }
static std::vector<float> round_bf16(std::vector<float> v) { for (auto& x : v) x = bf(x); return v; }

// Relative Frobenius error ||a - b|| / ||b||; NaN anywhere -> inf.
static double rel(const std::vector<float>& a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < b.size(); i++) {
        if (!std::isfinite(a[i])) return INFINITY;
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

template <typename T> struct Dev {
    T* p = nullptr;
    size_t n = 0;
    explicit Dev(size_t n_) : n(n_) { CK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T))); poison(); }
    ~Dev() { cudaFree(p); }
    void poison() { CK(cudaMemset(p, 0xFF, std::max<size_t>(n, 1) * sizeof(T))); }   // NaN for float and bf16
};
static Dev<float>* up_f(const std::vector<float>& v) {
    auto* d = new Dev<float>(v.size());
    CK(cudaMemcpy(d->p, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    return d;
}
static Dev<bf16>* up_b(const std::vector<float>& v) {
    std::vector<bf16> h(v.size());
    for (size_t i = 0; i < v.size(); i++) h[i] = __float2bfloat16(v[i]);
    auto* d = new Dev<bf16>(v.size());
    CK(cudaMemcpy(d->p, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
    return d;
}
static Dev<int32_t>* up_i(const std::vector<int32_t>& v) {
    auto* d = new Dev<int32_t>(v.size());
    CK(cudaMemcpy(d->p, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    return d;
}
static std::vector<float> down(const Dev<float>& d) {
    std::vector<float> v(d.n);
    CK(cudaMemcpy(v.data(), d.p, d.n * 4, cudaMemcpyDeviceToHost));
    return v;
}
static std::vector<float> down(const Dev<bf16>& d) {
    std::vector<bf16> h(d.n);
    CK(cudaMemcpy(h.data(), d.p, d.n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> v(d.n);
    for (size_t i = 0; i < d.n; i++) v[i] = __bfloat162float(h[i]);
    return v;
}

// Number of elements whose bf16 bits differ (0 = bit-identical): rebuilt activations must equal the saved ones.
static double bits_differ(const Dev<bf16>& a, const Dev<bf16>& b) {
    std::vector<uint16_t> ha(a.n), hb(b.n);
    CK(cudaMemcpy(ha.data(), a.p, a.n * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hb.data(), b.p, b.n * 2, cudaMemcpyDeviceToHost));
    double n = 0;
    for (size_t i = 0; i < ha.size(); i++) n += ha[i] != hb[i];
    return n;
}

// ---------------------------------------------------------------------------------------------------
// GEMM: both layouts, odd shapes, unaligned K, separate C; own kernel and (when present) cuBLASLt.

static void test_matmul(MatmulEngine& eng, const char* path) {
    struct Shape { int M, N, K; };
    for (Shape s : {Shape{77, 130, 72}, Shape{64, 64, 64}, Shape{5, 513, 45}, Shape{200, 24, 160}}) {
        for (int op = 0; op < 2; op++) {
            auto a = round_bf16(randn((size_t)s.M * s.K)), b = round_bf16(randn((size_t)s.N * s.K)), c = randn((size_t)s.M * s.N);
            std::unique_ptr<Dev<bf16>> da(up_b(a)), db(up_b(b));
            std::unique_ptr<Dev<float>> dc(up_f(c));
            Dev<float> dd((size_t)s.M * s.N);
            const float alpha = 0.75f, beta = 0.5f;
            std::string err = eng.run((MatmulOp)op, dd.p, dc->p, beta, da->p, db->p, s.M, s.N, s.K, alpha, 0);
            if (!err.empty()) { check(std::string("matmul run: ") + err, INFINITY, 0); continue; }
            SYNC();
            std::vector<double> ref((size_t)s.M * s.N);
            for (int m = 0; m < s.M; m++)
                for (int n = 0; n < s.N; n++) {
                    double acc = 0;
                    for (int k = 0; k < s.K; k++)
                        acc += (double)a[(size_t)m * s.K + k] * (op == MATMUL_NT ? b[(size_t)n * s.K + k] : b[(size_t)k * s.N + n]);
                    ref[(size_t)m * s.N + n] = alpha * acc + beta * c[(size_t)m * s.N + n];
                }
            char name[160];
            std::snprintf(name, sizeof name, "matmul %s %s %dx%dx%d", path, op == MATMUL_NT ? "NT" : "NN", s.M, s.N, s.K);
            check(name, rel(down(dd), ref), 1e-5);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// LoRA products with dropout on A, B or the output.

static void test_lora_matmul(LoraImpl impl) {
    const std::string tag = impl == LORA_SKINNY ? " [skinny]" : " [tiled]";
    const int N = 70, in = 96, r = 8, out = 130;
    auto x = round_bf16(randn((size_t)N * in)), A = randn((size_t)r * in), dy = randn((size_t)N * out), u = randn((size_t)N * r);
    std::unique_ptr<Dev<bf16>> dx_in(up_b(x));
    std::unique_ptr<Dev<float>> dA(up_f(A)), ddy(up_f(dy)), du(up_f(u));
    DropoutSpec d; d.seed = 99; d.stream = 3; d.p = 0.25f; d.ld = in;
    auto keep = [&](size_t idx) { return (double)dropout_scale(d, idx); };
    {   // u = drop(x) Aᵀ  (N, r)
        Dev<float> o((size_t)N * r);
        lora_matmul<bf16, float>(o.p, r, dx_in->p, in, 1, dA->p, 1, in, N, r, in, 1.f, 0.f, d, LORA_DROP_A, 0, nullptr, impl);
        SYNC();
        std::vector<double> ref((size_t)N * r);
        for (int n = 0; n < N; n++)
            for (int k = 0; k < r; k++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += x[(size_t)n * in + i] * keep((size_t)n * in + i) * A[(size_t)k * in + i];
                ref[(size_t)n * r + k] = s;
            }
        check(std::string("lora x·Aᵀ with dropout on the input") + tag, rel(down(o), ref), 1e-5);
    }
    {   // dA += uᵀ drop(x)  (r, in), beta = 1
        auto g0 = randn((size_t)r * in);
        std::unique_ptr<Dev<float>> g(up_f(g0));
        lora_matmul<float, bf16>(g->p, in, du->p, 1, r, dx_in->p, in, 1, r, in, N, 1.f, 1.f, d, LORA_DROP_B, 0, nullptr, impl);
        SYNC();
        std::vector<double> ref((size_t)r * in);
        for (int k = 0; k < r; k++)
            for (int i = 0; i < in; i++) {
                double s = g0[(size_t)k * in + i];
                for (int n = 0; n < N; n++) s += u[(size_t)n * r + k] * x[(size_t)n * in + i] * keep((size_t)n * in + i);
                ref[(size_t)k * in + i] = s;
            }
        check(std::string("lora duᵀ·drop(x) accumulate") + tag, rel(down(*g), ref), 1e-5);
    }
    {   // dx += drop'(u A)  (N, in)
        auto x0 = randn((size_t)N * in);
        std::unique_ptr<Dev<float>> o(up_f(x0));
        lora_matmul<float, float>(o->p, in, du->p, r, 1, dA->p, in, 1, N, in, r, 1.f, 1.f, d, LORA_DROP_C, 0, nullptr, impl);
        SYNC();
        std::vector<double> ref((size_t)N * in);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) s += u[(size_t)n * r + k] * A[(size_t)k * in + i];
                ref[(size_t)n * in + i] = x0[(size_t)n * in + i] + s * keep((size_t)n * in + i);
            }
        check(std::string("lora dx += drop'(du·A)") + tag, rel(down(*o), ref), 1e-5);
    }
    {   // dB = 2 dyᵀ u (out, r): transposed strided A operand, K = tokens
        Dev<float> o((size_t)out * r);
        DropoutSpec none;
        lora_matmul<float, float>(o.p, r, ddy->p, 1, out, du->p, r, 1, out, r, N, 2.f, 0.f, none, LORA_DROP_NONE, 0, nullptr, impl);
        SYNC();
        std::vector<double> ref((size_t)out * r);
        for (int o2 = 0; o2 < out; o2++)
            for (int k = 0; k < r; k++) {
                double s = 0;
                for (int n = 0; n < N; n++) s += dy[(size_t)n * out + o2] * u[(size_t)n * r + k];
                ref[(size_t)o2 * r + k] = 2 * s;
            }
        check(std::string("lora dyᵀ·u (transposed operand)") + tag, rel(down(o), ref), 1e-5);
    }
    {   // split-K over a long token reduction (deterministic partials + ordered sum), with dropout on B
        const int NT = 3000;
        auto u2 = randn((size_t)NT * r), x2 = round_bf16(randn((size_t)NT * in)), dy2 = randn((size_t)NT * out);
        auto g0 = randn((size_t)r * in), b0 = randn((size_t)out * r);
        std::unique_ptr<Dev<float>> du2(up_f(u2)), ddy2(up_f(dy2)), gA(up_f(g0)), gB(up_f(b0));
        std::unique_ptr<Dev<bf16>> dx2(up_b(x2));
        Dev<float> scratch((size_t)LORA_MAX_SPLITS * out * r), gA2((size_t)r * in);
        lora_matmul<float, bf16>(gA->p, in, du2->p, 1, r, dx2->p, in, 1, r, in, NT, 1.f, 1.f, d, LORA_DROP_B, 0, scratch.p, impl);
        CK(cudaMemcpy(gA2.p, g0.data(), g0.size() * 4, cudaMemcpyHostToDevice));
        lora_matmul<float, bf16>(gA2.p, in, du2->p, 1, r, dx2->p, in, 1, r, in, NT, 1.f, 1.f, d, LORA_DROP_B, 0, scratch.p, impl);
        DropoutSpec none;
        lora_matmul<float, float>(gB->p, r, ddy2->p, 1, out, du2->p, r, 1, out, r, NT, 4.f, 1.f, none, LORA_DROP_NONE, 0, scratch.p, impl);
        SYNC();
        std::vector<double> ra((size_t)r * in), rb((size_t)out * r);
        for (int k = 0; k < r; k++)
            for (int i = 0; i < in; i++) {
                double acc = g0[(size_t)k * in + i];
                for (int n = 0; n < NT; n++) acc += u2[(size_t)n * r + k] * x2[(size_t)n * in + i] * keep((size_t)n * in + i);
                ra[(size_t)k * in + i] = acc;
            }
        for (int o2 = 0; o2 < out; o2++)
            for (int k = 0; k < r; k++) {
                double acc = 0;
                for (int n = 0; n < NT; n++) acc += dy2[(size_t)n * out + o2] * u2[(size_t)n * r + k];
                rb[(size_t)o2 * r + k] = b0[(size_t)o2 * r + k] + 4 * acc;
            }
        auto a1 = down(*gA), a2 = down(gA2);
        check(std::string("lora split-K duᵀ·drop(x), 3000 tokens") + tag, rel(a1, ra), 1e-5);
        check(std::string("lora split-K dyᵀ·u, 3000 tokens") + tag, rel(down(*gB), rb), 1e-5);
        check(std::string("lora split-K deterministic (bitwise, 2 runs)") + tag, std::memcmp(a1.data(), a2.data(), a1.size() * 4) != 0, 0);
    }
    if (impl == LORA_TILED) return;   // the rest does not depend on the product kernels
    {   // dropout statistics and determinism
        const size_t n = 1 << 20;
        Dev<float> m1(n), m2(n);
        dropout_mask(m1.p, d, n, 0);
        dropout_mask(m2.p, d, n, 0);
        SYNC();
        auto a = down(m1), b = down(m2);
        size_t kept = 0, same = 0, bad = 0;
        for (size_t i = 0; i < n; i++) {
            kept += a[i] != 0.f;
            same += a[i] == b[i];
            bad += !(a[i] == 0.f || std::fabs(a[i] - 1.f / (1.f - d.p)) < 1e-6f);
            if (i < 4096 && a[i] != (float)keep(i)) bad++;   // device == host hash
        }
        check("dropout keep fraction - (1 - p)", std::fabs((double)kept / n - (1.0 - d.p)), 2e-3);
        check("dropout deterministic per seed (mismatches)", (double)(n - same) + bad, 0);
        DropoutSpec d2 = d; d2.stream = 4;
        dropout_mask(m2.p, d2, n, 0);
        SYNC();
        auto c = down(m2);
        size_t eq = 0;
        for (size_t i = 0; i < n; i++) eq += (a[i] != 0.f) == (c[i] != 0.f);
        check("dropout streams independent (agreement - expected)", std::fabs((double)eq / n - (0.75 * 0.75 + 0.25 * 0.25)), 3e-3);
    }
}

// ---------------------------------------------------------------------------------------------------
// RMSNorm forward / backward (fused residual accumulate).

static void test_rmsnorm() {
    const int N = 37, C = 200;
    const float eps = 1e-6f;
    auto x = randn((size_t)N * C, 2.f), w = round_bf16(randn(C, 0.2f)), dy = randn((size_t)N * C), d0 = randn((size_t)N * C);
    for (auto& v : w) v = bf(v + 1.f);
    std::unique_ptr<Dev<float>> dx(up_f(x)), ddy(up_f(dy)), dres(up_f(d0));
    std::unique_ptr<Dev<bf16>> dw(up_b(w));
    Dev<bf16> out((size_t)N * C);
    Dev<float> rstd(N);
    rmsnorm_forward(out.p, rstd.p, dx->p, dw->p, N, C, eps, 0);
    rmsnorm_backward(dres->p, ddy->p, dx->p, rstd.p, dw->p, N, C, 0);
    SYNC();
    std::vector<double> ref((size_t)N * C), gref((size_t)N * C);
    for (int n = 0; n < N; n++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)x[n * C + c] * x[n * C + c];
        double r = 1.0 / std::sqrt(ss / C + eps), dot = 0;
        for (int c = 0; c < C; c++) { ref[n * C + c] = x[n * C + c] * r * w[c]; dot += dy[n * C + c] * w[c] * x[n * C + c] * r; }
        dot /= C;
        for (int c = 0; c < C; c++) gref[n * C + c] = d0[n * C + c] + r * (dy[n * C + c] * w[c] - x[n * C + c] * r * dot);
    }
    check("rmsnorm forward (bf16 out)", rel(down(out), ref), 6e-3);
    check("rmsnorm backward + residual", rel(down(*dres), gref), 1e-5);
}

// ---------------------------------------------------------------------------------------------------
// q/k RMSNorm + RoPE forward / backward, checked against a CPU version and a finite difference.

static void qk_cpu(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& cs, const std::vector<float>& sn,
                   int N, int T, int nh, int D, std::vector<double>& out) {
    int half = D / 2;
    out.assign((size_t)N * nh * D, 0);
    for (int row = 0; row < N * nh; row++) {
        int t = (row / nh) % T;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)x[(size_t)row * D + i] * x[(size_t)row * D + i];
        double r = 1.0 / std::sqrt(ss / D + 1e-6);
        for (int i = 0; i < half; i++) {
            double a = x[(size_t)row * D + i] * r * w[i], b = x[(size_t)row * D + i + half] * r * w[i + half];
            double c = cs[t * half + i], s = sn[t * half + i];
            out[(size_t)row * D + i] = a * c - b * s;
            out[(size_t)row * D + i + half] = b * c + a * s;
        }
    }
}

static void test_qk_norm_rope() {
    for (int D : {16, 128}) {
        const int B = 2, T = 9, nh = 3, N = B * T, half = D / 2;
        auto x = round_bf16(randn((size_t)N * nh * D)), w = round_bf16(randn(D, 0.2f)), dy = randn((size_t)N * nh * D);
        for (auto& v : w) v = bf(v + 1.f);
        std::vector<float> cs((size_t)T * half), sn((size_t)T * half);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < half; i++) {
                double ang = t * std::pow(1e6, -2.0 * i / D);
                cs[t * half + i] = (float)std::cos(ang);
                sn[t * half + i] = (float)std::sin(ang);
            }
        std::unique_ptr<Dev<float>> dx(up_f(x)), ddy(up_f(dy)), dcs(up_f(cs)), dsn(up_f(sn));
        std::unique_ptr<Dev<bf16>> dw(up_b(w));
        Dev<bf16> out(x.size()), raw(x.size()), gx(x.size());
        Dev<float> rstd((size_t)N * nh);
        qk_norm_rope_forward(out.p, raw.p, rstd.p, dx->p, dw->p, dcs->p, dsn->p, N, T, nh, D, 1e-6f, 0);
        qk_norm_rope_backward(gx.p, ddy->p, raw.p, rstd.p, dw->p, dcs->p, dsn->p, N, T, nh, D, 0);
        // The backward rebuilds the attention input from raw + rstd: it must be the forward's, bit for bit,
        // also for a projection output that is not a bf16 value (the forward rounds it first).
        std::unique_ptr<Dev<float>> dx32(up_f(randn(x.size())));
        Dev<bf16> out32(x.size()), raw32(x.size()), again(x.size());
        Dev<float> rstd32((size_t)N * nh);
        qk_norm_rope_forward(out32.p, raw32.p, rstd32.p, dx32->p, dw->p, dcs->p, dsn->p, N, T, nh, D, 1e-6f, 0);
        qk_norm_rope_rebuild(again.p, raw32.p, rstd32.p, dw->p, dcs->p, dsn->p, N, T, nh, D, 0);
        SYNC();
        std::vector<double> ref;
        qk_cpu(x, w, cs, sn, N, T, nh, D, ref);
        check("qk_norm_rope forward D=" + std::to_string(D), rel(down(out), ref), 6e-3);
        check("qk_norm_rope rebuild == forward, bit for bit, D=" + std::to_string(D), bits_differ(again, out32), 0);
        // Backward: gradient of L = sum(dy * f(x)) by central differences in double on the CPU.
        std::vector<double> gref(x.size());
        std::vector<float> xp = x;
        for (size_t i = 0; i < x.size(); i++) {
            const float h = 1e-2f;
            std::vector<double> fp, fm;
            xp[i] = x[i] + h; qk_cpu(xp, w, cs, sn, N, T, nh, D, fp);
            xp[i] = x[i] - h; qk_cpu(xp, w, cs, sn, N, T, nh, D, fm);
            xp[i] = x[i];
            size_t row = i / D;
            double g = 0;
            for (int j = 0; j < D; j++) g += dy[row * D + j] * (fp[row * D + j] - fm[row * D + j]) / (2.0 * h);
            gref[i] = g;
        }
        check("qk_norm_rope backward D=" + std::to_string(D) + " (vs finite differences)", rel(down(gx), gref), 8e-3);
    }
}

// ---------------------------------------------------------------------------------------------------
// Attention: causal + right padding + GQA, forward and backward vs a naive CPU version, for both
// implementations (attention.cuh on CUDA cores, attention_tc.cuh on tensor cores). Configurations cover
// every head_dim, T below / above / not a multiple of the 64-row tiles, group sizes 1, 2 and 4, lengths
// 1, exactly one tile, and rows whose padding leaves whole key tiles unattended.

static void test_attention(bool simt, bool tc) {
    struct Cfg { int D, B, T, H, KVH; std::vector<int32_t> len; };
    // Tolerances: simt keeps dO and the softmax in fp32 (only its bf16 output is rounded). tc rounds dO, P and
    // dS to bf16 as WMMA operands (as flash-attention does): ~2^-9 relative per element, random in sign.
    struct Impl { AttentionImpl impl; const char* name; double tol_o, tol_dqk, tol_dv; };
    const Impl impls[] = {{ATTENTION_SIMT, "attention", 6e-3, 1e-4, 6e-3}, {ATTENTION_TC, "attention tc", 6e-3, 6e-3, 6e-3}};
    for (const Cfg& cf : {Cfg{16, 2, 37, 4, 2, {37, 23}}, Cfg{64, 2, 37, 4, 2, {37, 23}}, Cfg{128, 2, 37, 4, 2, {37, 23}},
                          Cfg{32, 3, 70, 6, 2, {70, 1, 40}}, Cfg{128, 2, 150, 4, 1, {150, 97}},
                          Cfg{64, 2, 130, 2, 2, {130, 64}}}) {
        const int D = cf.D, B = cf.B, T = cf.T, H = cf.H, KVH = cf.KVH, g = H / KVH;
        const std::vector<int32_t>& len = cf.len;
        auto q = round_bf16(randn((size_t)B * T * H * D)), k = round_bf16(randn((size_t)B * T * KVH * D)),
             v = round_bf16(randn((size_t)B * T * KVH * D)), dout = randn((size_t)B * T * H * D);
        std::unique_ptr<Dev<bf16>> dq_in(up_b(q)), dk_in(up_b(k)), dv_in(up_b(v));
        std::unique_ptr<Dev<float>> ddo(up_f(dout));
        std::unique_ptr<Dev<int32_t>> dlen(up_i(len));
        for (const Impl& im : impls) {
            if (!(im.impl == ATTENTION_TC ? tc : simt)) continue;
            Dev<bf16> out(q.size()), dv(v.size());
            Dev<float> lse((size_t)B * H * T), delta((size_t)B * H * T), dq(q.size()), dk(k.size());
            attention_forward(im.impl, out.p, lse.p, dq_in->p, dk_in->p, dv_in->p, dlen->p, B, T, H, KVH, D, 0);
            SYNC();
            auto o_gpu = down(out);   // backward uses the bf16 O, as in the backend
            auto lse_gpu = down(lse);
            attention_backward(im.impl, dq.p, dk.p, dv.p, delta.p, ddo->p, out.p, dq_in->p, dk_in->p, dv_in->p, lse.p, dlen->p,
                               B, T, H, KVH, D, 0);
            SYNC();
            auto dq1 = down(dq), dk1 = down(dk), dv1 = down(dv);
            // no atomics: a second backward must give the same bits
            dq.poison(); dk.poison(); dv.poison();
            attention_backward(im.impl, dq.p, dk.p, dv.p, delta.p, ddo->p, out.p, dq_in->p, dk_in->p, dv_in->p, lse.p, dlen->p,
                               B, T, H, KVH, D, 0);
            SYNC();
            auto dq2 = down(dq), dk2 = down(dk), dv2 = down(dv);
            const bool same = std::memcmp(dq1.data(), dq2.data(), dq1.size() * 4) == 0 &&
                              std::memcmp(dk1.data(), dk2.data(), dk1.size() * 4) == 0 &&
                              std::memcmp(dv1.data(), dv2.data(), dv1.size() * 4) == 0;
            const double scale = 1.0 / std::sqrt((double)D);
            std::vector<double> oref(q.size()), lref((size_t)B * H * T), dqr(q.size(), 0), dkr(k.size(), 0), dvr(v.size(), 0);
            std::vector<float> lse_got((size_t)B * H * T);
            auto Q = [&](int b, int t, int h, int d) { return (double)q[(((size_t)b * T + t) * H + h) * D + d]; };
            auto K = [&](int b, int t, int h, int d) { return (double)k[(((size_t)b * T + t) * KVH + h) * D + d]; };
            auto Vv = [&](int b, int t, int h, int d) { return (double)v[(((size_t)b * T + t) * KVH + h) * D + d]; };
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < T; i++) {
                        int kv = h / g, n = std::min(i, len[b] - 1) + 1;
                        std::vector<double> p(n), dp(n);
                        double mx = -1e300, sum = 0;
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int d = 0; d < D; d++) s += Q(b, i, h, d) * K(b, j, kv, d);
                            p[j] = s * scale;
                            mx = std::max(mx, p[j]);
                        }
                        for (int j = 0; j < n; j++) { p[j] = std::exp(p[j] - mx); sum += p[j]; }
                        for (int j = 0; j < n; j++) p[j] /= sum;
                        const size_t li = ((size_t)b * H + h) * T + i;
                        lref[li] = mx + std::log(sum);
                        lse_got[li] = lse_gpu[li];
                        size_t orow = (((size_t)b * T + i) * H + h) * D;
                        double dl = 0;
                        for (int d = 0; d < D; d++) {
                            double o = 0;
                            for (int j = 0; j < n; j++) o += p[j] * Vv(b, j, kv, d);
                            oref[orow + d] = o;
                            dl += dout[orow + d] * o_gpu[orow + d];
                        }
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int d = 0; d < D; d++) s += dout[orow + d] * Vv(b, j, kv, d);
                            double ds = p[j] * (s - dl);
                            size_t krow = (((size_t)b * T + j) * KVH + kv) * D;
                            for (int d = 0; d < D; d++) {
                                dqr[orow + d] += scale * ds * K(b, j, kv, d);
                                dkr[krow + d] += scale * ds * Q(b, i, h, d);
                                dvr[krow + d] += p[j] * dout[orow + d];
                            }
                        }
                    }
            std::string sfx = " D=" + std::to_string(D) + " (T=" + std::to_string(T) + ", pad, GQA " + std::to_string(g) + ")";
            check(std::string(im.name) + " forward" + sfx, rel(o_gpu, oref), im.tol_o);
            check(std::string(im.name) + " forward lse" + sfx, rel(lse_got, lref), 1e-5);
            check(std::string(im.name) + " backward dQ" + sfx, rel(dq1, dqr), im.tol_dqk);
            check(std::string(im.name) + " backward dK" + sfx, rel(dk1, dkr), im.tol_dqk);
            check(std::string(im.name) + " backward dV (bf16)" + sfx, rel(dv1, dvr), im.tol_dv);
            check(std::string(im.name) + " backward bitwise repeatable" + sfx, same ? 0.0 : 1.0, 0.0);
        }
    }
}

// The skinny LoRA kernels (rows: x·Aᵀ, s·dy·B; tokens: duᵀ·x, s·dyᵀ·u) for every product shape of the backend:
// ranks 4, 8, 16 and 5 (padded to 8), ragged token counts, feature sizes with and without 8-element alignment
// (vector and scalar loads), dropout on and off, beta 0 and 1, fp32 and bf16 dy, split-K on and off. Each
// product runs twice and must be bit-equal (fixed reduction order).
template <typename TY>
static void lora_skinny_case(int N, int in, int out, int r, bool dropout, float beta, bool split) {
    char name[96];
    std::snprintf(name, sizeof name, " N%d in%d out%d r%d%s b%g%s %s", N, in, out, r, dropout ? " drop" : "", beta,
                  split ? " splitK" : "", sizeof(TY) == 2 ? "bf16" : "f32");
    auto x = round_bf16(randn((size_t)N * in)), A = randn((size_t)r * in), Bm = randn((size_t)out * r);
    auto dy = randn((size_t)N * out), u = randn((size_t)N * r);
    if (sizeof(TY) == 2) dy = round_bf16(dy);
    auto g0 = randn((size_t)std::max({N, in, out}) * r);   // initial outputs (beta = 1)
    std::unique_ptr<Dev<bf16>> dx(up_b(x));
    std::unique_ptr<Dev<float>> dA(up_f(A)), dB(up_f(Bm)), du(up_f(u));
    std::unique_ptr<Dev<TY>> ddy;
    if constexpr (sizeof(TY) == 2) ddy.reset(up_b(dy)); else ddy.reset(up_f(dy));
    Dev<float> scratch((size_t)LORA_MAX_SPLITS * std::max(in, out) * r);
    float* sp = split ? scratch.p : nullptr;
    DropoutSpec d, none;
    if (dropout) { d.seed = 7; d.stream = 11; d.p = 0.3f; d.ld = in; }
    auto keep = [&](size_t idx) { return (double)dropout_scale(d, idx); };
    const double s = 0.75;
    int reruns_differ = 0;
    // Runs `launch` twice on outputs that start as `init`; checks the first against ref and the two bitwise.
    auto run2 = [&](const char* what, size_t n, const std::vector<double>& ref, const std::function<void(float*)>& launch) {
        std::vector<float> init(g0.begin(), g0.begin() + n);
        std::unique_ptr<Dev<float>> o1(up_f(init)), o2(up_f(init));
        launch(o1->p);
        launch(o2->p);
        SYNC();
        auto a = down(*o1), b = down(*o2);
        check(std::string(what) + name, rel(a, ref), 1e-5);
        reruns_differ += std::memcmp(a.data(), b.data(), a.size() * 4) != 0;
    };
    {   // u (N, r) = drop(x) Aᵀ (+ beta u)
        std::vector<double> ref((size_t)N * r);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < r; j++) {
                double acc = beta * g0[(size_t)n * r + j];
                for (int i = 0; i < in; i++) acc += x[(size_t)n * in + i] * keep((size_t)n * in + i) * A[(size_t)j * in + i];
                ref[(size_t)n * r + j] = acc;
            }
        run2("lora skinny x·Aᵀ", (size_t)N * r, ref, [&](float* o) {
            lora_matmul<bf16, float>(o, r, dx->p, in, 1, dA->p, 1, in, N, r, in, 1.f, beta, d, LORA_DROP_A, 0, sp, LORA_SKINNY);
        });
    }
    {   // du (N, r) = s dy B (+ beta du)
        std::vector<double> ref((size_t)N * r);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < r; j++) {
                double acc = 0;
                for (int o = 0; o < out; o++) acc += dy[(size_t)n * out + o] * Bm[(size_t)o * r + j];
                ref[(size_t)n * r + j] = s * acc + beta * g0[(size_t)n * r + j];
            }
        run2("lora skinny s·dy·B", (size_t)N * r, ref, [&](float* o) {
            lora_matmul<TY, float>(o, r, ddy->p, out, 1, dB->p, r, 1, N, r, out, (float)s, beta, none, LORA_DROP_NONE, 0, sp,
                                   LORA_SKINNY);
        });
    }
    {   // dA (r, in) = duᵀ drop(x) (+ beta dA)
        std::vector<double> ref((size_t)r * in);
        for (int j = 0; j < r; j++)
            for (int i = 0; i < in; i++) {
                double acc = 0;
                for (int n = 0; n < N; n++) acc += u[(size_t)n * r + j] * x[(size_t)n * in + i] * keep((size_t)n * in + i);
                ref[(size_t)j * in + i] = acc + beta * g0[(size_t)j * in + i];
            }
        run2("lora skinny duᵀ·drop(x)", (size_t)r * in, ref, [&](float* o) {
            lora_matmul<float, bf16>(o, in, du->p, 1, r, dx->p, in, 1, r, in, N, 1.f, beta, d, LORA_DROP_B, 0, sp, LORA_SKINNY);
        });
    }
    {   // dB (out, r) = s dyᵀ u (+ beta dB)
        std::vector<double> ref((size_t)out * r);
        for (int o = 0; o < out; o++)
            for (int j = 0; j < r; j++) {
                double acc = 0;
                for (int n = 0; n < N; n++) acc += dy[(size_t)n * out + o] * u[(size_t)n * r + j];
                ref[(size_t)o * r + j] = s * acc + beta * g0[(size_t)o * r + j];
            }
        run2("lora skinny s·dyᵀ·u", (size_t)out * r, ref, [&](float* o) {
            lora_matmul<TY, float>(o, r, ddy->p, 1, out, du->p, r, 1, out, r, N, (float)s, beta, none, LORA_DROP_NONE, 0, sp,
                                   LORA_SKINNY);
        });
    }
    check(std::string("lora skinny bitwise reruns (products that differ)") + name, reruns_differ, 0);
}

static void test_lora_skinny() {
    lora_skinny_case<float>(70, 96, 130, 8, true, 1.f, false);
    lora_skinny_case<bf16>(70, 96, 130, 8, true, 0.f, true);
    lora_skinny_case<float>(333, 64, 96, 4, false, 0.f, true);
    lora_skinny_case<bf16>(333, 100, 70, 16, true, 1.f, true);     // in, out not multiples of 8: scalar loads
    lora_skinny_case<float>(333, 100, 70, 5, true, 0.f, false);    // rank 5 padded to 8
    lora_skinny_case<bf16>(1000, 2048, 1024, 8, true, 1.f, true);  // recipe widths (q/k), 1000 tokens
    lora_skinny_case<float>(150, 1024, 2048, 16, false, 1.f, true);
}

// ---------------------------------------------------------------------------------------------------
// SwiGLU, embedding, cross-entropy, AdamW + grad norm.

static void test_swiglu() {
    const size_t n = 5000;
    auto g = round_bf16(randn(n, 2.f)), u = round_bf16(randn(n)), dh = randn(n);
    std::unique_ptr<Dev<float>> dg_in(up_f(g)), du_in(up_f(u)), ddh(up_f(dh));
    Dev<bf16> h(n), gs(n), us(n), dg(n), du(n);
    swiglu_forward(h.p, gs.p, us.p, dg_in->p, du_in->p, n, 0);
    swiglu_backward(dg.p, du.p, nullptr, ddh->p, gs.p, us.p, n, 0);
    SYNC();
    std::vector<double> hr(n), dgr(n), dur(n);
    for (size_t i = 0; i < n; i++) {
        double s = 1.0 / (1.0 + std::exp(-(double)g[i]));
        hr[i] = g[i] * s * u[i];
        dgr[i] = dh[i] * u[i] * s * (1 + g[i] * (1 - s));
        dur[i] = dh[i] * g[i] * s;
    }
    check("swiglu forward", rel(down(h), hr), 6e-3);
    check("swiglu backward dg", rel(down(dg), dgr), 6e-3);
    check("swiglu backward du", rel(down(du), dur), 6e-3);
    // The backward rebuilds h from the saved bf16 g, u: the forward's h bit for bit, also for GEMM outputs
    // that are not bf16 values (the forward rounds them before silu).
    std::unique_ptr<Dev<float>> g32(up_f(randn(n, 2.f))), u32(up_f(randn(n)));
    Dev<bf16> h32(n), gs32(n), us32(n), h_again(n);
    swiglu_forward(h32.p, gs32.p, us32.p, g32->p, u32->p, n, 0);
    swiglu_backward(dg.p, du.p, h_again.p, ddh->p, gs32.p, us32.p, n, 0);
    SYNC();
    check("swiglu backward rebuilds h == forward h, bit for bit", bits_differ(h_again, h32), 0);
}

static void test_embedding() {
    const int V = 50, C = 72, N = 31;
    auto table = round_bf16(randn((size_t)V * C));
    std::vector<int32_t> tok(N);
    for (auto& t : tok) t = (int32_t)(g_rng() % V);
    std::unique_ptr<Dev<bf16>> dt(up_b(table));
    std::unique_ptr<Dev<int32_t>> dtok(up_i(tok));
    Dev<float> x((size_t)N * C);
    embedding_forward(x.p, dtok->p, dt->p, N, C, 0);
    SYNC();
    std::vector<double> ref((size_t)N * C);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) ref[(size_t)n * C + c] = table[(size_t)tok[n] * C + c];
    check("embedding gather", rel(down(x), ref), 0);
}

static void test_cross_entropy() {
    const int M = 7, V = 1000, C = 40, Nrows = 20;
    auto logits = randn((size_t)M * V, 3.f);
    std::vector<int32_t> tg(M), rows(M);
    for (int m = 0; m < M; m++) { tg[m] = (int32_t)(g_rng() % V); rows[m] = 2 * m + 1; }
    std::unique_ptr<Dev<float>> dl(up_f(logits));
    std::unique_ptr<Dev<int32_t>> dtg(up_i(tg)), drows(up_i(rows));
    Dev<float> losses(M);
    Dev<bf16> dlog((size_t)M * V);
    Dev<double> acc(1);
    CK(cudaMemset(acc.p, 0, sizeof(double)));
    const float gs = 0.125f;
    cross_entropy(losses.p, dlog.p, dl->p, dtg->p, M, V, gs, 0);
    loss_sum_add(acc.p, losses.p, M, 0);
    SYNC();
    std::vector<double> lref(M), gref((size_t)M * V);
    double total = 0;
    for (int m = 0; m < M; m++) {
        double mx = -1e300, se = 0;
        for (int i = 0; i < V; i++) mx = std::max(mx, (double)logits[(size_t)m * V + i]);
        for (int i = 0; i < V; i++) se += std::exp(logits[(size_t)m * V + i] - mx);
        double lse = mx + std::log(se);
        lref[m] = lse - logits[(size_t)m * V + tg[m]];
        total += lref[m];
        for (int i = 0; i < V; i++) gref[(size_t)m * V + i] = gs * (std::exp(logits[(size_t)m * V + i] - lse) - (i == tg[m]));
    }
    check("cross-entropy per-row loss", rel(down(losses), lref), 1e-5);
    check("cross-entropy dlogits (bf16)", rel(down(dlog), gref), 6e-3);
    double got = 0;
    CK(cudaMemcpy(&got, acc.p, sizeof(double), cudaMemcpyDeviceToHost));
    check("cross-entropy loss sum", std::fabs(got - total) / total, 1e-5);
    // gather / scatter of label rows
    auto src = round_bf16(randn((size_t)Nrows * C));
    std::unique_ptr<Dev<bf16>> dsrc(up_b(src));
    Dev<bf16> gathered((size_t)M * C);
    gather_rows(gathered.p, dsrc->p, drows->p, M, C, 0);
    auto rowsv = randn((size_t)M * C);
    std::unique_ptr<Dev<float>> drv(up_f(rowsv));
    Dev<float> dst((size_t)Nrows * C);
    CK(cudaMemset(dst.p, 0, dst.n * 4));
    scatter_rows(dst.p, drv->p, drows->p, M, C, 0);
    SYNC();
    std::vector<double> gr((size_t)M * C), sr((size_t)Nrows * C, 0);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) { gr[(size_t)m * C + c] = src[(size_t)rows[m] * C + c]; sr[(size_t)rows[m] * C + c] = rowsv[(size_t)m * C + c]; }
    check("gather label rows", rel(down(gathered), gr), 0);
    check("scatter label-row gradients", rel(down(dst), sr), 0);
}

static void test_adamw() {
    const size_t n = 100003;
    auto p = randn(n), g = randn(n, 0.1f), m = randn(n, 0.01f), v = randn(n, 0.01f);
    for (auto& x : v) x = x * x;
    std::unique_ptr<Dev<float>> dp(up_f(p)), dg(up_f(g)), dm(up_f(m)), dv(up_f(v));
    Dev<double> part(GRAD_NORM_BLOCKS), out(1);
    grad_sumsq(out.p, part.p, dg->p, n, 0);
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f, mult = 0.5f;
    const int step = 3;
    adamw_update(dp->p, dg->p, dm->p, dv->p, n, lr, b1, b2, eps, wd, mult, step, 0);
    SYNC();
    double ss = 0, got = 0;
    for (float x : g) ss += (double)x * x;
    CK(cudaMemcpy(&got, out.p, sizeof(double), cudaMemcpyDeviceToHost));
    check("grad sum of squares", std::fabs(got - ss) / ss, 1e-9);
    std::vector<double> pr(n);
    double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] * mult, mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
        double mh = mi / bc1, vh = vi / bc2;
        pr[i] = p[i] - lr * (mh / (std::sqrt(vh) + eps) + wd * p[i]);
    }
    check("adamw update", rel(down(*dp), pr), 1e-6);
}

// Optional arguments pick groups (matmul = both GEMM paths, matmul_own, lora_matmul rmsnorm rope attention swiglu embedding cross_entropy
// adamw; attention = attention_simt + attention_tc), e.g. for a shorter compute-sanitizer racecheck run; none = all.
int main(int argc, char** argv) {
    auto want = [&](const char* g) {
        if (argc < 2) return true;
        for (int i = 1; i < argc; i++) if (std::strcmp(argv[i], g) == 0) return true;
        return false;
    };
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) { std::printf("SKIP no CUDA device\n"); return 77; }
    cudaDeviceProp prop{};
    CK(cudaGetDeviceProperties(&prop, 0));
    std::printf("== kernel tests on %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
    if (want("matmul") || want("matmul_own")) {
        MatmulEngine own;
        std::string note;
        if (!own.init(false, &note).empty()) { std::printf("FAIL matmul init\n"); return 1; }
        test_matmul(own, "own");
    }
    if (want("matmul")) {
        std::string note;
        MatmulEngine lt;
        std::string err = lt.init(true, &note);
        if (err.empty() && lt.using_lt()) test_matmul(lt, "cuBLASLt");
        else std::printf("note cuBLASLt path not tested: %s %s\n", note.c_str(), err.c_str());
        lt.release();
    }
    if (want("lora_matmul")) {
        test_lora_matmul(LORA_TILED);
        test_lora_matmul(LORA_SKINNY);
        test_lora_skinny();
    }
    if (want("rmsnorm")) test_rmsnorm();
    if (want("rope")) test_qk_norm_rope();
    if (want("attention") || want("attention_simt") || want("attention_tc"))
        test_attention(want("attention") || want("attention_simt"), want("attention") || want("attention_tc"));
    if (want("swiglu")) test_swiglu();
    if (want("embedding")) test_embedding();
    if (want("cross_entropy")) test_cross_entropy();
    if (want("adamw")) test_adamw();
    std::printf("== kernel tests: %s (%d failures)\n", g_fail ? "FAILED" : "passed", g_fail);
    return g_fail ? 1 : 0;
}

// The bf16 CUDA backend (backend.h): base weights bf16 on device, residual stream and every reduction
// in fp32, LoRA parameters / gradients / AdamW state in ONE flat fp32 buffer (canonical order of lora.h).
// Memory: weights in one allocation, every activation and scratch buffer carved from ONE workspace sized
// from max_B * max_T at init; scratch of phases that never overlap (forward GEMM outputs, lm_head chunk,
// backward) shares bytes, and init prints the plan as a "memory" event (dev/NOTES.md, experiment 2).
// Each layer keeps what its backward cannot cheaply rebuild; q, k (attention inputs) and h = silu(g) * u
// are rebuilt bit-identically from saved q_raw / k_raw and g, u. With recompute on, only the residual
// stream of each layer is kept and a layer's forward is re-run (same dropout hash) right before its backward.
// (set_recompute(true) before init, or TRAINER_RECOMPUTE=1 in the environment.)
// Weights upload: threads read the checkpoint (bf16 file bytes unchanged) into one of two pinned staging
// buffers while the copy engine drains the other; no host copy of the whole model is ever made.
// Host synchronisation happens only where the Backend API returns a value (loss, norm, copies out).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend.h"
#include "log.h"
#include "lora.h"
#include "safetensors.h"

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
#include "profiler.h"

#define PART(name) prof_.enter(name, stream_)   // the stream's next launches belong to `name` (profiler.h)

namespace {

// ---------------------------------------------------------------------------------------------------
// Device-side structures

struct LayerWeights {            // bf16, Hugging Face shapes (out, in)
    bf16 *wq, *wk, *wv, *wo;     // (H*D, C), (KVH*D, C), (KVH*D, C), (C, H*D)
    bf16 *wg, *wu, *wd;          // (I, C), (I, C), (C, I)
    bf16 *ln1, *ln2, *qn, *kn;   // (C), (C), (D), (D)
};

// What one layer's backward needs (N = B*T tokens). One set per layer, or one shared set with recompute.
// q, k and h point at ONE buffer each, shared by all layers: the forward writes them for its next op only
// and layer_backward rebuilds them from q_raw/k_raw + rstd and g, u (bit-identical, see rope.cuh, swiglu.cuh).
struct LayerActs {
    bf16* ln1; float* rstd1;              // (N, C), (N)
    bf16 *q_raw, *k_raw;                  // (N, H, D), (N, KVH, D): q/k projections (bf16), input of norm + RoPE
    float *q_rstd, *k_rstd;               // (N, H), (N, KVH)
    bf16 *q, *k, *v;                      // attention inputs (normed + rotated q/k); q, k shared, v per layer
    bf16* att; float* lse;                // (N, H*D), (B, H, T)
    float* x_mid;                         // (N, C) residual after attention
    bf16* ln2; float* rstd2;              // (N, C), (N)
    bf16 *g, *u, *h;                      // (N, I) each; h shared
    float* lu[LORA_NUM_TARGETS];          // LoRA x·Aᵀ (N, r) per target (null if not adapted)
};

// Bump allocator over one buffer; the first pass (base = null) only measures.
struct Carver {
    char* base = nullptr;
    size_t off = 0;
    size_t align() { return off = (off + 255) & ~(size_t)255; }
    template <typename T> T* take(size_t n) {
        align();
        T* p = base ? reinterpret_cast<T*>(base + off) : nullptr;
        off += n * sizeof(T);
        return p;
    }
};

// Buffers of phases that are never live at the same time share bytes: each phase starts at the overlay's
// start, and the overlay ends after its largest phase. Overlays nest.
struct Overlay {
    Carver& cv;
    size_t start, end;
    explicit Overlay(Carver& c) : cv(c), start(c.align()), end(start) {}
    size_t next() {   // closes the current phase, returns its bytes
        size_t n = cv.align() - start;
        end = std::max(end, cv.off);
        cv.off = start;
        return n;
    }
    size_t close() { next(); cv.off = end; return end - start; }
};

// Device bytes by category (carve_workspace), printed as the "memory" event; see dev/NOTES.md.
struct MemoryPlan {
    size_t lora = 0, residual = 0, acts = 0, acts_per_layer = 0, shared = 0;
    size_t scratch = 0, scratch_forward = 0, scratch_head = 0, scratch_backward = 0, grad_stream = 0, small = 0;
};

// Pinned host buffers for the weights upload, freed on every exit path (errors included). If pinning fails
// (a locked-memory limit), plain memory still works: the copies then return only once they have read it.
struct UploadStaging {
    char* buf[2] = {nullptr, nullptr};
    bool pinned[2] = {false, false};
    cudaEvent_t done[2] = {nullptr, nullptr};
    bool pending[2] = {false, false};
    Status init(size_t bytes) {
        for (int b = 0; b < 2; b++) {
            pinned[b] = cudaHostAlloc(reinterpret_cast<void**>(&buf[b]), bytes, cudaHostAllocDefault) == cudaSuccess;
            if (!pinned[b]) {
                (void)cudaGetLastError();   // not sticky: clear it
                buf[b] = static_cast<char*>(std::malloc(bytes));
                if (!buf[b]) return "cuda backend: cannot allocate a " + std::to_string(bytes >> 20) + " MiB staging buffer";
                std::fprintf(stderr, "cuda backend: pinned staging buffer refused, uploading from pageable memory (slower)\n");
            }
            CUDA_TRY(cudaEventCreateWithFlags(&done[b], cudaEventDisableTiming));
        }
        return "";
    }
    ~UploadStaging() {
        for (int b = 0; b < 2; b++) {
            if (pending[b]) cudaEventSynchronize(done[b]);   // an error path: copies may still read the buffer
            if (done[b]) cudaEventDestroy(done[b]);
            if (buf[b] && pinned[b]) cudaFreeHost(buf[b]);
            else std::free(buf[b]);
        }
    }
};

class CudaBackend : public Backend {
public:
    ~CudaBackend() override {
        mm_.release();
        if (weights_) cudaFree(weights_);
        if (work_) cudaFree(work_);
        if (stream_) cudaStreamDestroy(stream_);
    }
    const char* name() const override { return "cuda"; }

    Status init(const Qwen3Config& cfg, const LoraConfig& lc, const WeightSet& w, int max_B, int max_T) override;
    std::vector<std::pair<std::string, double>> init_phases_ms() const override { return phases_; }
    size_t lora_param_count() const override { return layout_.total; }
    Status set_lora(const float* p) override { return copy_in(lp_, p); }
    Status get_lora(float* p) const override { return copy_out(p, lp_); }
    Status get_grad(float* g) const override { return copy_out(g, lg_); }
    Status set_optimizer_state(const float* m, const float* v) override {
        Status s = copy_in(lm_, m);
        return s.empty() ? copy_in(lv_, v) : s;
    }
    Status get_optimizer_state(float* m, float* v) const override {
        Status s = copy_out(m, lm_);
        return s.empty() ? copy_out(v, lv_) : s;
    }
    Status zero_grad() override {
        CUDA_TRY(cudaMemsetAsync(lg_, 0, layout_.total * sizeof(float), stream_));
        return "";
    }
    Status forward_backward(const Batch& b, float grad_scale, uint64_t seed, double* loss_sum, int64_t* n_label) override;
    Status grad_norm(double* norm) override;
    Status adamw_step(const AdamWParams& opt, float lr, float grad_mult, int step) override;
    Status logits(const Batch& b, bool use_lora, float* out) override;
    Status last_logits(const Batch& b, float* out) override;
    Status hidden_states(const Batch& b, bool use_lora, int index, float* out) override;
    std::string take_profile() override {
        std::string j = prof_.json();
        prof_.on = false;   // what follows (evaluation) is not part of the training step
        return j;
    }
    Status set_recompute(bool on) override {
        if (work_) return "cuda backend: set_recompute must come before init";
        recompute_ = on;
        return "";
    }

private:
    Status gemm_self_check(std::string* note);
    Status upload_weights(const WeightSet& w);
    Status carve_workspace();
    Status upload_batch(const Batch& b, bool need_targets);
    Status forward(const Batch& b, bool use_lora, bool train, uint64_t seed, int stop_after = -1);
    Status layer_forward(int l, const LayerActs& A, const float* x_in, float* x_out, bool use_lora, bool train, uint64_t seed);
    Status layer_backward(int l, const LayerActs& A, const float* x_in, uint64_t seed);
    Status lora_forward(int l, int t, const bf16* x, float* y, float* u, bool train, uint64_t seed);
    template <typename TY>
    Status lora_backward_dx(int l, int t, const TY* dy, const float* u, float* dx, uint64_t seed);
    Status lora_backward_da(int l, int t, const bf16* x, uint64_t seed);
    template <typename TY>
    Status lora_backward(int l, int t, const TY* dy, const bf16* x, const float* u, float* dx, uint64_t seed) {
        Status s = lora_backward_dx<TY>(l, t, dy, u, dx, seed);
        return s.empty() ? lora_backward_da(l, t, x, seed) : s;
    }
    size_t weight_bytes() const;
    void print_memory_plan(const MemoryPlan& mp, size_t workspace);
    Status head_rows_to_host(const bf16* rows, int M, float* out);
    Status mm(MatmulOp op, float* D, const float* C, float beta, const bf16* A, const bf16* B, int M, int N, int K) {
        PartScope part(prof_, "gemm", stream_);
        Status s = mm_.run(op, D, C, beta, A, B, M, N, K, 1.f, stream_);
        if (!s.empty()) return s;
        CUDA_LAUNCH_CHECK();
        return "";
    }
    DropoutSpec dropout_for(int l, int t, int in, bool train, uint64_t seed) const {
        DropoutSpec d;
        d.seed = seed;
        d.stream = (uint32_t)(l * 8 + t);
        d.p = train ? lc_.dropout : 0.f;
        d.ld = in;
        return d;
    }
    Status copy_in(float* dst, const float* src) {
        CUDA_TRY(cudaMemcpyAsync(dst, src, layout_.total * sizeof(float), cudaMemcpyHostToDevice, stream_));
        CUDA_TRY(cudaStreamSynchronize(stream_));
        return "";
    }
    Status copy_out(float* dst, const float* src) const {
        CUDA_TRY(cudaMemcpyAsync(dst, src, layout_.total * sizeof(float), cudaMemcpyDeviceToHost, stream_));
        CUDA_TRY(cudaStreamSynchronize(stream_));
        return "";
    }

    Qwen3Config c_;
    LoraConfig lc_;
    LoraLayout layout_;
    std::vector<std::pair<std::string, double>> phases_;   // init_phases_ms
    int max_B_ = 0, max_T_ = 0, max_N_ = 0, head_rows_ = 0;
    bool recompute_ = false;
    cudaStream_t stream_ = nullptr;
    MatmulEngine mm_;
    StepProfiler prof_;                 // TRAINER_PROFILE=1: GPU time per part of a step
    AttentionImpl attn_ = ATTENTION_SIMT;   // TRAINER_ATTENTION=tc|simt
    LoraImpl lora_impl_ = LORA_SKINNY;      // TRAINER_LORA=skinny|tiled

    // weights (one allocation)
    void* weights_ = nullptr;
    bf16 *emb_ = nullptr, *lm_head_ = nullptr, *norm_w_ = nullptr;
    std::vector<LayerWeights> lw_;

    // workspace (one allocation)
    void* work_ = nullptr;
    float *lp_ = nullptr, *lg_ = nullptr, *lm_ = nullptr, *lv_ = nullptr;   // LoRA params, grads, m, v
    float *cos_ = nullptr, *sin_ = nullptr;                                  // (max_T, D/2)
    int32_t *d_tokens_ = nullptr, *d_len_ = nullptr, *d_rows_ = nullptr, *d_row_tgt_ = nullptr;
    std::vector<float*> xs_;                                                 // L+1 residual streams (N, C)
    std::vector<LayerActs> acts_;                                            // L sets, or 1 with recompute
    float *fq_, *fk_, *fv_, *fg_, *fu_;                                      // fp32 GEMM outputs
    bf16* lnf_; float* rstdf_;                                               // final norm (N, C), (N)
    bf16* head_in_; float* head_logits_; bf16* dlogits_; float* dhead_;      // (Mc, C), (Mc, V), (Mc, V), (Mc, C)
    float* splitk_;                                                          // LoRA split-K partials
    float* losses_; double* loss_acc_; double* norm_partial_; double* norm_out_;
    float *dres_, *dln_, *dh_, *datt_, *dq_, *dk_, *delta_, *du_lora_;       // backward scratch
    bf16 *dres_bf_, *dg_, *du_, *dq_bf_, *dk_bf_, *dv_bf_;
    int B_ = 0, T_ = 0, N_ = 0;                                              // current batch
    int M_ = 0;                                                              // label rows of the batch
};

// ---------------------------------------------------------------------------------------------------
// Setup

Status CudaBackend::init(const Qwen3Config& cfg, const LoraConfig& lc, const WeightSet& w, int max_B, int max_T) {
    c_ = cfg;
    lc_ = lc;
    max_B_ = max_B;
    max_T_ = max_T;
    max_N_ = max_B * max_T;
    const char* rc = getenv("TRAINER_RECOMPUTE");
    recompute_ = recompute_ || (rc && strcmp(rc, "1") == 0);   // env: lets the golden tests exercise it
    const char* prof = getenv("TRAINER_PROFILE");
    prof_.on = prof && strcmp(prof, "1") == 0;
    Status as = attention_impl_from_env(&attn_);
    if (!as.empty()) return "cuda backend: " + as;
    std::fprintf(stderr, "cuda backend: attention: %s\n", attention_impl_name(attn_));
    Status ls = lora_impl_from_env(&lora_impl_);
    if (!ls.empty()) return "cuda backend: " + ls;
    std::fprintf(stderr, "cuda backend: lora: %s\n", lora_impl_name(lora_impl_));
    if (max_B <= 0 || max_T <= 0) return "cuda backend: max_B and max_T must be positive";
    if (!attention_supports(cfg.head_dim))
        return "cuda backend: head_dim " + std::to_string(cfg.head_dim) + " is not supported (16, 32, 64, 128)";
    if (cfg.num_key_value_heads <= 0 || cfg.num_attention_heads % cfg.num_key_value_heads != 0)
        return "cuda backend: num_attention_heads must be a multiple of num_key_value_heads";
    if (lc.r <= 0) return "cuda backend: LoRA rank must be positive";
    layout_ = lora_layout(cfg, lc);
    phases_.clear();
    auto t0 = std::chrono::steady_clock::now();
    auto mark = [&](const char* name) {   // every phase ends in a synchronising call, so host time is device time
        auto now = std::chrono::steady_clock::now();
        phases_.push_back({name, std::chrono::duration<double, std::milli>(now - t0).count()});
        t0 = now;
    };
    CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    std::string note;
    Status s = mm_.init(true, &note);
    if (!s.empty()) return s;
    mark("gemm_init");
    s = gemm_self_check(&note);
    if (!s.empty()) return s;
    mark("gemm_check");
    std::fprintf(stderr, "cuda backend: GEMM path: %s [%s]; recompute %s\n", mm_.path().c_str(), note.c_str(), recompute_ ? "on" : "off");
    s = upload_weights(w);
    if (!s.empty()) return s;
    mark("weights_upload");
    s = carve_workspace();
    if (!s.empty()) return s;
    // RoPE tables as transformers computes them: fp32 inv_freq, fp32 angle (the CPU reference does the same).
    const int half = c_.head_dim / 2;
    std::vector<float> hc((size_t)max_T_ * half), hs((size_t)max_T_ * half);
    for (int i = 0; i < half; i++) {
        float inv = 1.0f / (float)std::pow(c_.rope_theta, (double)(2 * i) / c_.head_dim);
        for (int t = 0; t < max_T_; t++) {
            float ang = (float)t * inv;
            hc[(size_t)t * half + i] = std::cos(ang);
            hs[(size_t)t * half + i] = std::sin(ang);
        }
    }
    CUDA_TRY(cudaMemcpy(cos_, hc.data(), hc.size() * 4, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(sin_, hs.data(), hs.size() * 4, cudaMemcpyHostToDevice));
    size_t P = layout_.total * sizeof(float);
    CUDA_TRY(cudaMemset(lp_, 0, P));
    CUDA_TRY(cudaMemset(lg_, 0, P));
    CUDA_TRY(cudaMemset(lm_, 0, P));
    CUDA_TRY(cudaMemset(lv_, 0, P));
    CUDA_TRY(cudaDeviceSynchronize());
    mark("workspace");
    return "";
}

// Both GEMM paths against a double-precision host product on random data (both layouts, a separate C,
// odd sizes). cuBLASLt is used only if it is right; the own kernel is the fallback only if it is right.
// Cost: 2 x 70·136·104 = 2.0M double multiply-adds on the host (a few ms) and four tiny GEMMs.
Status CudaBackend::gemm_self_check(std::string* note) {
    const int M = 70, N = 136, K = 104;
    std::vector<bf16> ha((size_t)M * K), hb((size_t)N * K);
    std::vector<float> hc((size_t)M * N);
    uint64_t st = 12345;
    auto rnd = [&]() { st = dropout_hash(st); return (float)((st >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f; };
    for (auto& x : ha) x = __float2bfloat16(rnd());
    for (auto& x : hb) x = __float2bfloat16(rnd());
    for (auto& x : hc) x = rnd();
    bf16 *da, *db;
    float *dc, *dd;
    CUDA_TRY(cudaMalloc(&da, ha.size() * 2));
    CUDA_TRY(cudaMalloc(&db, hb.size() * 2));
    CUDA_TRY(cudaMalloc(&dc, hc.size() * 4));
    CUDA_TRY(cudaMalloc(&dd, hc.size() * 4));
    CUDA_TRY(cudaMemcpy(da, ha.data(), ha.size() * 2, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(db, hb.data(), hb.size() * 2, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(dc, hc.data(), hc.size() * 4, cudaMemcpyHostToDevice));
    double err_own = 0, err_lt = 0;
    std::string lt_status;
    std::vector<float> got(hc.size());
    for (int op = 0; op < 2; op++) {
        // reference: D = 0.5 * A·op(B) + C; NN reads the same B buffer as (K, N)
        std::vector<double> ref(hc.size());
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double acc = 0;
                for (int k = 0; k < K; k++)
                    acc += (double)__bfloat162float(ha[(size_t)m * K + k]) *
                           __bfloat162float(op == MATMUL_NT ? hb[(size_t)n * K + k] : hb[(size_t)k * N + n]);
                ref[(size_t)m * N + n] = 0.5 * acc + hc[(size_t)m * N + n];
            }
        auto err_of = [&]() {
            double num = 0, den = 0;
            for (size_t i = 0; i < ref.size(); i++) { num += (got[i] - ref[i]) * (got[i] - ref[i]); den += ref[i] * ref[i]; }
            return std::isfinite(num) ? std::sqrt(num / den) : 1e30;
        };
        CUDA_TRY(cudaMemsetAsync(dd, 0xFF, hc.size() * 4, stream_));   // same stream as the GEMM: ordered
        matmul_own((MatmulOp)op, dd, dc, 1.f, da, db, M, N, K, 0.5f, stream_);
        CUDA_LAUNCH_CHECK();
        CUDA_TRY(cudaStreamSynchronize(stream_));
        CUDA_TRY(cudaMemcpy(got.data(), dd, got.size() * 4, cudaMemcpyDeviceToHost));
        err_own = std::max(err_own, err_of());
        if (mm_.using_lt() && lt_status.empty()) {
            CUDA_TRY(cudaMemsetAsync(dd, 0xFF, hc.size() * 4, stream_));   // same stream as the GEMM: ordered
            lt_status = mm_.run((MatmulOp)op, dd, dc, 1.f, da, db, M, N, K, 0.5f, stream_);
            CUDA_TRY(cudaStreamSynchronize(stream_));
            CUDA_TRY(cudaMemcpy(got.data(), dd, got.size() * 4, cudaMemcpyDeviceToHost));
            err_lt = std::max(err_lt, err_of());
        }
    }
    cudaFree(da); cudaFree(db); cudaFree(dc); cudaFree(dd);
    const double tol = 1e-5;
    const bool own_ok = err_own <= tol;
    *note += "; own kernel self-check " + std::string(own_ok ? "ok" : "FAILED") + " (rel err " + std::to_string(err_own) + ")";
    if (mm_.using_lt()) {
        const bool lt_ok = lt_status.empty() && err_lt <= tol;
        *note += "; cuBLASLt self-check " + std::string(lt_ok ? "ok" : "FAILED") + " (" +
                 (lt_status.empty() ? "rel err " + std::to_string(err_lt) : lt_status) + ")";
        if (!lt_ok) mm_.disable_lt();
    }
    if (!mm_.using_lt() && !own_ok) return "cuda backend: GEMM self-check failed [" + *note + "]";
    return "";
}

Status CudaBackend::upload_weights(const WeightSet& w) {
    const int64_t C = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim, V = c_.vocab_size;
    const int64_t HD = (int64_t)c_.num_attention_heads * D, KD = (int64_t)c_.num_key_value_heads * D;
    struct Item { std::string name; std::vector<int64_t> shape; bf16** dst; };
    std::vector<Item> items;
    lw_.assign(c_.num_hidden_layers, LayerWeights{});
    items.push_back({"model.embed_tokens.weight", {V, C}, &emb_});
    items.push_back({"model.norm.weight", {C}, &norm_w_});
    if (!c_.tie_word_embeddings) items.push_back({"lm_head.weight", {V, C}, &lm_head_});
    for (int l = 0; l < c_.num_hidden_layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        LayerWeights& L = lw_[l];
        items.push_back({p + "self_attn.q_proj.weight", {HD, C}, &L.wq});
        items.push_back({p + "self_attn.k_proj.weight", {KD, C}, &L.wk});
        items.push_back({p + "self_attn.v_proj.weight", {KD, C}, &L.wv});
        items.push_back({p + "self_attn.o_proj.weight", {C, HD}, &L.wo});
        items.push_back({p + "self_attn.q_norm.weight", {D}, &L.qn});
        items.push_back({p + "self_attn.k_norm.weight", {D}, &L.kn});
        items.push_back({p + "mlp.gate_proj.weight", {I, C}, &L.wg});
        items.push_back({p + "mlp.up_proj.weight", {I, C}, &L.wu});
        items.push_back({p + "mlp.down_proj.weight", {C, I}, &L.wd});
        items.push_back({p + "input_layernorm.weight", {C}, &L.ln1});
        items.push_back({p + "post_attention_layernorm.weight", {C}, &L.ln2});
    }
    std::vector<const Tensor*> ts(items.size());
    size_t total = 0;
    for (size_t i = 0; i < items.size(); i++) {
        Status s = w.get(items[i].name, items[i].shape, &ts[i]);
        if (!s.empty()) return s;
        total += ((size_t)ts[i]->numel() * sizeof(bf16) + 255) & ~(size_t)255;
    }
    cudaError_t e = cudaMalloc(&weights_, total);
    if (e != cudaSuccess)
        return "out of GPU memory: the base weights need " + std::to_string(total >> 20) + " MiB (" + cudaGetErrorString(e) + ")";
    size_t off = 0;
    for (size_t i = 0; i < items.size(); i++) {
        *items[i].dst = reinterpret_cast<bf16*>(static_cast<char*>(weights_) + off);
        off += ((size_t)ts[i]->numel() * sizeof(bf16) + 255) & ~(size_t)255;
    }
    if (c_.tie_word_embeddings) lm_head_ = emb_;

    // Two pinned staging buffers: host threads fill one (tensors_read_bf16) while cudaMemcpyAsync drains the
    // other. A buffer holds slices of several tensors; a big tensor spans several fills. Pinned memory lets the
    // copy run asynchronously at full PCIe rate; the event per buffer says when it may be refilled.
    size_t stage = (size_t)64 << 20;
    if (const char* env = getenv("TRAINER_STAGE_BYTES")) stage = std::max<size_t>(256, strtoull(env, nullptr, 10));   // tests: many fills
    stage = std::min(stage, std::max<size_t>(total, 256));
    stage &= ~(size_t)1;
    UploadStaging st;
    Status s = st.init(stage);
    if (!s.empty()) return s;
    std::vector<Bf16Slice> slices;
    std::vector<std::pair<bf16*, size_t>> copies;   // (device destination, bytes) of each slice, in buffer order
    size_t used = 0;
    int cur = 0;
    auto flush = [&]() -> Status {   // fill the current buffer, start its copies, switch to the other buffer
        if (slices.empty()) return "";
        Status r = tensors_read_bf16(w, slices);
        if (!r.empty()) return r;
        const char* src = st.buf[cur];
        for (auto& c : copies) {
            CUDA_TRY(cudaMemcpyAsync(c.first, src, c.second, cudaMemcpyHostToDevice, stream_));
            src += c.second;
        }
        CUDA_TRY(cudaEventRecord(st.done[cur], stream_));
        st.pending[cur] = true;
        cur ^= 1;
        if (st.pending[cur]) CUDA_TRY(cudaEventSynchronize(st.done[cur]));   // its copies have read it
        st.pending[cur] = false;
        slices.clear(); copies.clear(); used = 0;
        return "";
    };
    for (size_t i = 0; i < items.size(); i++) {
        const int64_t n = ts[i]->numel();
        for (int64_t k = 0; k < n;) {
            if (used + sizeof(bf16) > stage) { s = flush(); if (!s.empty()) return s; }
            int64_t c = std::min<int64_t>(n - k, (int64_t)((stage - used) / sizeof(bf16)));
            slices.push_back({ts[i], k, c, reinterpret_cast<uint16_t*>(st.buf[cur] + used)});
            copies.push_back({*items[i].dst + k, (size_t)c * sizeof(bf16)});
            used += (size_t)c * sizeof(bf16);
            k += c;
        }
    }
    s = flush();
    if (!s.empty()) return s;
    CUDA_TRY(cudaStreamSynchronize(stream_));   // before the staging buffers are freed
    return "";
}

// Layout and lifetimes (N = max_B * max_T). Persistent: LoRA state, the L+1 residual streams, each layer's
// saved activations, the shared q/k/h, the residual-stream gradient. Overlaid (never live together):
// forward GEMM outputs (dead once a layer's forward returns), the lm_head chunk (between forward and
// backward, and inference), backward scratch (MLP part, then attention part, of one layer).
Status CudaBackend::carve_workspace() {
    const size_t N = max_N_, C = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim, V = c_.vocab_size;
    const size_t H = c_.num_attention_heads, KV = c_.num_key_value_heads, L = c_.num_hidden_layers, r = lc_.r;
    const size_t P = layout_.total;
    // lm_head rows per chunk: logits (fp32) + dlogits (bf16) of about 384 MiB at most.
    head_rows_ = (int)std::max<size_t>(1, std::min<size_t>(N, ((size_t)64 << 20) / V));
    const size_t Mc = head_rows_;
    MemoryPlan mp;
    for (int pass = 0; pass < 2; pass++) {
        Carver cv;
        cv.base = static_cast<char*>(work_);
        size_t mark = 0;
        auto section = [&]() { size_t n = cv.align() - mark; mark = cv.off; return n; };
        lp_ = cv.take<float>(P); lg_ = cv.take<float>(P); lm_ = cv.take<float>(P); lv_ = cv.take<float>(P);
        mp.lora = section();
        xs_.assign(L + 1, nullptr);
        for (auto& x : xs_) x = cv.take<float>(N * C);
        mp.residual = section();
        acts_.assign(recompute_ ? 1 : L, LayerActs{});
        for (auto& A : acts_) {
            A.ln1 = cv.take<bf16>(N * C); A.rstd1 = cv.take<float>(N);
            A.q_raw = cv.take<bf16>(N * H * D); A.k_raw = cv.take<bf16>(N * KV * D);
            A.q_rstd = cv.take<float>(N * H); A.k_rstd = cv.take<float>(N * KV);
            A.v = cv.take<bf16>(N * KV * D);
            A.att = cv.take<bf16>(N * H * D); A.lse = cv.take<float>(N * H);
            A.x_mid = cv.take<float>(N * C);
            A.ln2 = cv.take<bf16>(N * C); A.rstd2 = cv.take<float>(N);
            A.g = cv.take<bf16>(N * I); A.u = cv.take<bf16>(N * I);
            for (int t = 0; t < LORA_NUM_TARGETS; t++) A.lu[t] = lc_.has((LoraTarget)t) ? cv.take<float>(N * r) : nullptr;
        }
        mp.acts = section();
        mp.acts_per_layer = mp.acts / acts_.size();
        bf16* q = cv.take<bf16>(N * H * D);
        bf16* k = cv.take<bf16>(N * KV * D);
        bf16* h = cv.take<bf16>(N * I);
        for (auto& A : acts_) { A.q = q; A.k = k; A.h = h; }
        mp.shared = section();
        Overlay ov(cv);
        fq_ = cv.take<float>(N * H * D); fk_ = cv.take<float>(N * KV * D); fv_ = cv.take<float>(N * KV * D);
        fg_ = cv.take<float>(N * I); fu_ = cv.take<float>(N * I);
        mp.scratch_forward = ov.next();
        head_in_ = cv.take<bf16>(Mc * C); head_logits_ = cv.take<float>(Mc * V); dlogits_ = cv.take<bf16>(Mc * V);
        dhead_ = cv.take<float>(Mc * C); losses_ = cv.take<float>(N);
        mp.scratch_head = ov.next();
        dres_bf_ = cv.take<bf16>(N * C);
        Overlay bw(cv);
        dh_ = cv.take<float>(N * I); dg_ = cv.take<bf16>(N * I); du_ = cv.take<bf16>(N * I);
        bw.next();
        datt_ = cv.take<float>(N * H * D); dq_ = cv.take<float>(N * H * D); dk_ = cv.take<float>(N * KV * D);
        delta_ = cv.take<float>(N * H);
        dq_bf_ = cv.take<bf16>(N * H * D); dk_bf_ = cv.take<bf16>(N * KV * D); dv_bf_ = cv.take<bf16>(N * KV * D);
        bw.close();
        mp.scratch_backward = ov.next();
        ov.close();
        mp.scratch = section();
        dres_ = cv.take<float>(N * C); dln_ = cv.take<float>(N * C);
        mp.grad_stream = section();
        lnf_ = cv.take<bf16>(N * C); rstdf_ = cv.take<float>(N);
        cos_ = cv.take<float>((size_t)max_T_ * D / 2); sin_ = cv.take<float>((size_t)max_T_ * D / 2);
        d_tokens_ = cv.take<int32_t>(N); d_len_ = cv.take<int32_t>(max_B_);
        d_rows_ = cv.take<int32_t>(N); d_row_tgt_ = cv.take<int32_t>(N);
        loss_acc_ = cv.take<double>(1); du_lora_ = cv.take<float>(N * r);
        splitk_ = cv.take<float>((size_t)LORA_MAX_SPLITS * std::max({C, I, H * D}) * r);
        norm_partial_ = cv.take<double>(GRAD_NORM_BLOCKS); norm_out_ = cv.take<double>(1);
        mp.small = section();
        if (pass == 0) {
            cudaError_t e = cudaMalloc(&work_, cv.off);
            if (e != cudaSuccess)
                return "out of GPU memory: the workspace for micro-batch " + std::to_string(max_B_) + " x " + std::to_string(max_T_) +
                       " needs " + std::to_string(cv.off >> 20) + " MiB (" + cudaGetErrorString(e) + "); try --recompute or a smaller batch";
            std::fprintf(stderr, "cuda backend: weights + workspace allocated, workspace %zu MiB\n", cv.off >> 20);
        } else {
            print_memory_plan(mp, cv.off);
        }
    }
    return "";
}

// Base weights as upload_weights allocates them: every tensor bf16, 256-byte aligned.
size_t CudaBackend::weight_bytes() const {
    const size_t C = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim, V = c_.vocab_size;
    const size_t HD = (size_t)c_.num_attention_heads * D, KD = (size_t)c_.num_key_value_heads * D;
    auto a = [](size_t n) { return (n * sizeof(bf16) + 255) & ~(size_t)255; };
    size_t layer = a(HD * C) + 2 * a(KD * C) + a(C * HD) + 2 * a(D) + 2 * a(I * C) + a(C * I) + 2 * a(C);
    return a(V * C) * (c_.tie_word_embeddings ? 1 : 2) + a(C) + layer * c_.num_hidden_layers;
}

// One "memory" event: planned device bytes by category, and what the device reports in use now (context,
// cuBLASLt workspace and all of our allocations: what nvidia-smi shows at the peak, as nothing else is
// allocated later). Compare with nvidia-smi's peak on a GPU (bench/gpu-bench.sh prints both).
void CudaBackend::print_memory_plan(const MemoryPlan& mp, size_t workspace) {
    auto n = [](size_t v) { return Json((int64_t)v); };
    const size_t gemm_ws = mm_.workspace ? mm_.workspace_bytes : 0;
    Json j = Json::object();
    j.set("backend", "cuda");
    j.set("micro_batch", max_B_);
    j.set("max_len", max_T_);
    j.set("recompute", recompute_);
    j.set("layers_saved", (int)acts_.size());
    j.set("weights_bytes", n(weight_bytes()));
    j.set("lora_state_bytes", n(mp.lora));
    j.set("residual_bytes", n(mp.residual));
    j.set("saved_acts_bytes", n(mp.acts));
    j.set("saved_acts_per_layer_bytes", n(mp.acts_per_layer));
    j.set("shared_qkh_bytes", n(mp.shared));
    j.set("scratch_bytes", n(mp.scratch));
    j.set("scratch_forward_bytes", n(mp.scratch_forward));
    j.set("scratch_head_bytes", n(mp.scratch_head));
    j.set("scratch_backward_bytes", n(mp.scratch_backward));
    j.set("grad_stream_bytes", n(mp.grad_stream));
    j.set("small_bytes", n(mp.small));
    j.set("workspace_bytes", n(workspace));
    j.set("gemm_workspace_bytes", n(gemm_ws));
    j.set("planned_bytes", n(weight_bytes() + workspace + gemm_ws));
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess && total_b > 0) j.set("device_used_bytes", n(total_b - free_b));
    log_event("memory", j);
}

// Checks and uploads tokens / lengths (and the label rows when need_targets).
Status CudaBackend::upload_batch(const Batch& b, bool need_targets) {
    if (b.B <= 0 || b.T <= 0 || b.B > max_B_ || b.T > max_T_)
        return "cuda backend: batch " + std::to_string(b.B) + " x " + std::to_string(b.T) + " exceeds the initialised bound " +
               std::to_string(max_B_) + " x " + std::to_string(max_T_);
    B_ = b.B; T_ = b.T; N_ = b.B * b.T;
    for (int i = 0; i < N_; i++)
        if (b.tokens[i] < 0 || b.tokens[i] >= c_.vocab_size)
            return "token id " + std::to_string(b.tokens[i]) + " at position " + std::to_string(i) + " is outside the vocabulary (" +
                   std::to_string(c_.vocab_size) + ")";
    for (int i = 0; i < B_; i++)
        if (b.lengths[i] < 0 || b.lengths[i] > T_) return "row " + std::to_string(i) + " has length " + std::to_string(b.lengths[i]) + " outside [0, T]";
    CUDA_TRY(cudaMemcpyAsync(d_tokens_, b.tokens, N_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    CUDA_TRY(cudaMemcpyAsync(d_len_, b.lengths, B_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    M_ = 0;
    if (need_targets) {
        std::vector<int32_t> rows, tg;
        for (int i = 0; i < N_; i++) {
            int y = b.targets[i];
            if (y == -100) continue;
            if (y < 0 || y >= c_.vocab_size) return "label " + std::to_string(y) + " at position " + std::to_string(i) + " is outside the vocabulary";
            rows.push_back(i);
            tg.push_back(y);
        }
        M_ = (int)rows.size();
        if (M_) {
            CUDA_TRY(cudaMemcpyAsync(d_rows_, rows.data(), M_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
            CUDA_TRY(cudaMemcpyAsync(d_row_tgt_, tg.data(), M_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
        }
        // The host vectors die here: wait until the copies have read them.
        CUDA_TRY(cudaStreamSynchronize(stream_));
    }
    return "";
}

// ---------------------------------------------------------------------------------------------------
// LoRA: y (N, out) += s * drop(x) Aᵀ Bᵀ, with u = drop(x) Aᵀ (N, r) kept for backward.

Status CudaBackend::lora_forward(int l, int t, const bf16* x, float* y, float* u, bool train, uint64_t seed) {
    PartScope part(prof_, "lora", stream_);
    const LoraSlot* sl = layout_.find(l, t);
    if (!sl) return "";
    const int N = N_, r = layout_.r, in = sl->in, out = sl->out;
    const float* A = lp_ + sl->a_off;
    const float* Bm = lp_ + sl->b_off;
    DropoutSpec d = dropout_for(l, t, in, train, seed), none;
    lora_matmul<bf16, float>(u, r, x, in, 1, A, 1, in, N, r, in, 1.f, 0.f, d, LORA_DROP_A, stream_, nullptr, lora_impl_);
    lora_matmul<float, float>(y, out, u, r, 1, Bm, 1, r, N, out, r, lc_.scaling(), 1.f, none, LORA_DROP_NONE,
                             stream_, nullptr, lora_impl_);
    CUDA_LAUNCH_CHECK();
    return "";
}

// dy (N, out) -> grad of B (accumulated into lg_), du_lora_ = s dy B (N, r) and dx (N, in) += drop'(du A).
// lora_backward_da then adds the grad of A from du_lora_ and x: split so that the down projection can
// rebuild its input h between the two (layer_backward).
template <typename TY>
Status CudaBackend::lora_backward_dx(int l, int t, const TY* dy, const float* u, float* dx, uint64_t seed) {
    PartScope part(prof_, "lora", stream_);
    const LoraSlot* sl = layout_.find(l, t);
    if (!sl) return "";
    const int N = N_, r = layout_.r, in = sl->in, out = sl->out;
    const float s = lc_.scaling();
    const float* A = lp_ + sl->a_off;
    const float* Bm = lp_ + sl->b_off;
    float* gB = lg_ + sl->b_off;
    DropoutSpec d = dropout_for(l, t, in, true, seed), none;
    // dB += s dyᵀ u
    lora_matmul<TY, float>(gB, r, dy, 1, out, u, r, 1, out, r, N, s, 1.f, none, LORA_DROP_NONE,
                             stream_, splitk_, lora_impl_);
    // du = s dy B
    lora_matmul<TY, float>(du_lora_, r, dy, out, 1, Bm, r, 1, N, r, out, s, 0.f, none, LORA_DROP_NONE,
                             stream_, nullptr, lora_impl_);
    // dx += drop'(du A)
    lora_matmul<float, float>(dx, in, du_lora_, r, 1, A, in, 1, N, in, r, 1.f, 1.f, d, LORA_DROP_C,
                             stream_, nullptr, lora_impl_);
    CUDA_LAUNCH_CHECK();
    return "";
}

Status CudaBackend::lora_backward_da(int l, int t, const bf16* x, uint64_t seed) {
    PartScope part(prof_, "lora", stream_);
    const LoraSlot* sl = layout_.find(l, t);
    if (!sl) return "";
    const int N = N_, r = layout_.r, in = sl->in;
    float* gA = lg_ + sl->a_off;
    DropoutSpec d = dropout_for(l, t, in, true, seed);
    // dA += duᵀ drop(x)
    lora_matmul<float, bf16>(gA, in, du_lora_, 1, r, x, in, 1, r, in, N, 1.f, 1.f, d, LORA_DROP_B,
                             stream_, splitk_, lora_impl_);
    CUDA_LAUNCH_CHECK();
    return "";
}

// ---------------------------------------------------------------------------------------------------
// Forward

#define TRY(expr) do { Status s_ = (expr); if (!s_.empty()) return s_; } while (0)

Status CudaBackend::layer_forward(int l, const LayerActs& A, const float* x_in, float* x_out, bool use_lora, bool train, uint64_t seed) {
    const LayerWeights& W = lw_[l];
    const int N = N_, C = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim;
    const int H = c_.num_attention_heads, KV = c_.num_key_value_heads;
    PART("norm");
    rmsnorm_forward(A.ln1, A.rstd1, x_in, W.ln1, N, C, c_.rms_norm_eps, stream_);
    TRY(mm(MATMUL_NT, fq_, nullptr, 0.f, A.ln1, W.wq, N, H * D, C));
    TRY(mm(MATMUL_NT, fk_, nullptr, 0.f, A.ln1, W.wk, N, KV * D, C));
    TRY(mm(MATMUL_NT, fv_, nullptr, 0.f, A.ln1, W.wv, N, KV * D, C));
    if (use_lora) {
        TRY(lora_forward(l, LORA_Q, A.ln1, fq_, A.lu[LORA_Q], train, seed));
        TRY(lora_forward(l, LORA_K, A.ln1, fk_, A.lu[LORA_K], train, seed));
        TRY(lora_forward(l, LORA_V, A.ln1, fv_, A.lu[LORA_V], train, seed));
    }
    PART("rope");
    qk_norm_rope_forward(A.q, A.q_raw, A.q_rstd, fq_, W.qn, cos_, sin_, N, T_, H, D, c_.rms_norm_eps, stream_);
    qk_norm_rope_forward(A.k, A.k_raw, A.k_rstd, fk_, W.kn, cos_, sin_, N, T_, KV, D, c_.rms_norm_eps, stream_);
    convert_f32_to_bf16(A.v, fv_, (size_t)N * KV * D, stream_);
    PART("attention_fwd");
    attention_forward(attn_, A.att, A.lse, A.q, A.k, A.v, d_len_, B_, T_, H, KV, D, stream_);
    CUDA_LAUNCH_CHECK();
    PART("norm");
    TRY(mm(MATMUL_NT, A.x_mid, x_in, 1.f, A.att, W.wo, N, C, H * D));     // residual add fused (C = x_in)
    if (use_lora) TRY(lora_forward(l, LORA_O, A.att, A.x_mid, A.lu[LORA_O], train, seed));
    rmsnorm_forward(A.ln2, A.rstd2, A.x_mid, W.ln2, N, C, c_.rms_norm_eps, stream_);
    TRY(mm(MATMUL_NT, fg_, nullptr, 0.f, A.ln2, W.wg, N, I, C));
    TRY(mm(MATMUL_NT, fu_, nullptr, 0.f, A.ln2, W.wu, N, I, C));
    if (use_lora) {
        TRY(lora_forward(l, LORA_GATE, A.ln2, fg_, A.lu[LORA_GATE], train, seed));
        TRY(lora_forward(l, LORA_UP, A.ln2, fu_, A.lu[LORA_UP], train, seed));
    }
    PART("swiglu");
    swiglu_forward(A.h, A.g, A.u, fg_, fu_, (size_t)N * I, stream_);
    CUDA_LAUNCH_CHECK();
    TRY(mm(MATMUL_NT, x_out, A.x_mid, 1.f, A.h, W.wd, N, C, I));
    if (use_lora) TRY(lora_forward(l, LORA_DOWN, A.h, x_out, A.lu[LORA_DOWN], train, seed));
    return "";
}

// Embedding, layers [0, stop_after) (all when -1), final norm into lnf_ when all layers ran.
Status CudaBackend::forward(const Batch& b, bool use_lora, bool train, uint64_t seed, int stop_after) {
    (void)b;
    const int L = c_.num_hidden_layers;
    PART("embedding");
    embedding_forward(xs_[0], d_tokens_, emb_, N_, c_.hidden_size, stream_);
    CUDA_LAUNCH_CHECK();
    const int n = stop_after < 0 ? L : std::min(stop_after, L);
    for (int l = 0; l < n; l++) {
        const LayerActs& A = (train && !recompute_) ? acts_[l] : acts_[0];
        TRY(layer_forward(l, A, xs_[l], xs_[l + 1], use_lora, train, seed));
    }
    if (n == L) {
        PART("norm");
        rmsnorm_forward(lnf_, rstdf_, xs_[L], norm_w_, N_, c_.hidden_size, c_.rms_norm_eps, stream_);
        CUDA_LAUNCH_CHECK();
    }
    return "";
}

// ---------------------------------------------------------------------------------------------------
// Backward: dres_ (N, C) holds dL/d(layer output) on entry and dL/d(layer input) on exit.
// Layers run last to first right after a full forward (forward_backward), so the shared q, k, h hold this
// layer's values only for the last layer or after a re-forward (recompute); otherwise they are rebuilt.

Status CudaBackend::layer_backward(int l, const LayerActs& A, const float* x_in, uint64_t seed) {
    const LayerWeights& W = lw_[l];
    const int N = N_, C = c_.hidden_size, I = c_.intermediate_size, D = c_.head_dim;
    const int H = c_.num_attention_heads, KV = c_.num_key_value_heads;
    const bool rebuild = !recompute_ && l != c_.num_hidden_layers - 1;
    // MLP: h (input of down_proj, needed for its LoRA dA only) comes back from the swiglu backward pass,
    // which reads g and u anyway; so the down LoRA backward is split around it.
    PART("convert");
    convert_f32_to_bf16(dres_bf_, dres_, (size_t)N * C, stream_);
    TRY(mm(MATMUL_NN, dh_, nullptr, 0.f, dres_bf_, W.wd, N, I, C));
    TRY(lora_backward_dx<float>(l, LORA_DOWN, dres_, A.lu[LORA_DOWN], dh_, seed));
    PART("swiglu");
    swiglu_backward(dg_, du_, rebuild ? A.h : nullptr, dh_, A.g, A.u, (size_t)N * I, stream_);
    TRY(lora_backward_da(l, LORA_DOWN, A.h, seed));
    TRY(mm(MATMUL_NN, dln_, nullptr, 0.f, dg_, W.wg, N, C, I));
    TRY(mm(MATMUL_NN, dln_, dln_, 1.f, du_, W.wu, N, C, I));
    TRY(lora_backward<bf16>(l, LORA_GATE, dg_, A.ln2, A.lu[LORA_GATE], dln_, seed));
    TRY(lora_backward<bf16>(l, LORA_UP, du_, A.ln2, A.lu[LORA_UP], dln_, seed));
    PART("norm");
    rmsnorm_backward(dres_, dln_, A.x_mid, A.rstd2, W.ln2, N, C, stream_);
    // attention: q, k (attention inputs) rebuilt from the saved projections, one elementwise pass
    PART("rope");
    if (rebuild) {
        qk_norm_rope_rebuild(A.q, A.q_raw, A.q_rstd, W.qn, cos_, sin_, N, T_, H, D, stream_);
        qk_norm_rope_rebuild(A.k, A.k_raw, A.k_rstd, W.kn, cos_, sin_, N, T_, KV, D, stream_);
    }
    PART("convert");
    convert_f32_to_bf16(dres_bf_, dres_, (size_t)N * C, stream_);
    TRY(mm(MATMUL_NN, datt_, nullptr, 0.f, dres_bf_, W.wo, N, H * D, C));
    TRY(lora_backward<float>(l, LORA_O, dres_, A.att, A.lu[LORA_O], datt_, seed));
    PART("attention_bwd");
    attention_backward(attn_, dq_, dk_, dv_bf_, delta_, datt_, A.att, A.q, A.k, A.v, A.lse, d_len_, B_, T_, H, KV, D, stream_);
    PART("rope");
    qk_norm_rope_backward(dq_bf_, dq_, A.q_raw, A.q_rstd, W.qn, cos_, sin_, N, T_, H, D, stream_);
    qk_norm_rope_backward(dk_bf_, dk_, A.k_raw, A.k_rstd, W.kn, cos_, sin_, N, T_, KV, D, stream_);
    CUDA_LAUNCH_CHECK();
    TRY(mm(MATMUL_NN, dln_, nullptr, 0.f, dq_bf_, W.wq, N, C, H * D));
    TRY(mm(MATMUL_NN, dln_, dln_, 1.f, dk_bf_, W.wk, N, C, KV * D));
    TRY(mm(MATMUL_NN, dln_, dln_, 1.f, dv_bf_, W.wv, N, C, KV * D));
    TRY(lora_backward<bf16>(l, LORA_Q, dq_bf_, A.ln1, A.lu[LORA_Q], dln_, seed));
    TRY(lora_backward<bf16>(l, LORA_K, dk_bf_, A.ln1, A.lu[LORA_K], dln_, seed));
    TRY(lora_backward<bf16>(l, LORA_V, dv_bf_, A.ln1, A.lu[LORA_V], dln_, seed));
    PART("norm");
    rmsnorm_backward(dres_, dln_, x_in, A.rstd1, W.ln1, N, C, stream_);
    CUDA_LAUNCH_CHECK();
    return "";
}

Status CudaBackend::forward_backward(const Batch& b, float grad_scale, uint64_t seed, double* loss_sum, int64_t* n_label) {
    if (!b.targets) return "forward_backward needs targets";
    PART("upload");
    TRY(upload_batch(b, true));
    *loss_sum = 0;
    *n_label = M_;
    if (M_ == 0) return "";   // no label token: nothing to learn, no NaN
    const int C = c_.hidden_size, V = c_.vocab_size, L = c_.num_hidden_layers;
    TRY(forward(b, true, true, seed));
    // lm_head + cross-entropy on the label rows, in chunks; dL/d(lnf) scattered into dln_.
    PART("head_ce");
    CUDA_TRY(cudaMemsetAsync(loss_acc_, 0, sizeof(double), stream_));
    CUDA_TRY(cudaMemsetAsync(dln_, 0, (size_t)N_ * C * sizeof(float), stream_));
    for (int r0 = 0; r0 < M_; r0 += head_rows_) {
        const int Mc = std::min(head_rows_, M_ - r0);
        gather_rows(head_in_, lnf_, d_rows_ + r0, Mc, C, stream_);
        TRY(mm(MATMUL_NT, head_logits_, nullptr, 0.f, head_in_, lm_head_, Mc, V, C));
        cross_entropy(losses_, dlogits_, head_logits_, d_row_tgt_ + r0, Mc, V, grad_scale, stream_);
        loss_sum_add(loss_acc_, losses_, Mc, stream_);
        TRY(mm(MATMUL_NN, dhead_, nullptr, 0.f, dlogits_, lm_head_, Mc, C, V));
        scatter_rows(dln_, dhead_, d_rows_ + r0, Mc, C, stream_);
        CUDA_LAUNCH_CHECK();
    }
    PART("norm");
    CUDA_TRY(cudaMemsetAsync(dres_, 0, (size_t)N_ * C * sizeof(float), stream_));
    rmsnorm_backward(dres_, dln_, xs_[L], rstdf_, norm_w_, N_, C, stream_);
    CUDA_LAUNCH_CHECK();
    for (int l = L - 1; l >= 0; l--) {
        // The re-forward's output lands in xs_[l + 1], which no later step reads (layer l + 1 is done).
        if (recompute_) TRY(layer_forward(l, acts_[0], xs_[l], xs_[l + 1], true, true, seed));
        TRY(layer_backward(l, recompute_ ? acts_[0] : acts_[l], xs_[l], seed));
    }
    PART("host");   // until the next part: the loss copy, then whatever the host does before its next call
    CUDA_TRY(cudaMemcpyAsync(loss_sum, loss_acc_, sizeof(double), cudaMemcpyDeviceToHost, stream_));
    CUDA_TRY(cudaStreamSynchronize(stream_));
    prof_.collect();
    if (!std::isfinite(*loss_sum)) return "loss is not finite (" + std::to_string(*loss_sum) + ")";
    return "";
}

// ---------------------------------------------------------------------------------------------------
// Optimizer

Status CudaBackend::grad_norm(double* norm) {
    PART("optimizer");
    grad_sumsq(norm_out_, norm_partial_, lg_, layout_.total, stream_);
    CUDA_LAUNCH_CHECK();
    double ss = 0;
    CUDA_TRY(cudaMemcpyAsync(&ss, norm_out_, sizeof(double), cudaMemcpyDeviceToHost, stream_));
    CUDA_TRY(cudaStreamSynchronize(stream_));
    prof_.collect();
    *norm = std::sqrt(ss);
    return "";
}

Status CudaBackend::adamw_step(const AdamWParams& o, float lr, float grad_mult, int step) {
    if (step < 1) return "adamw_step: step is 1-based";
    adamw_update(lp_, lg_, lm_, lv_, layout_.total, lr, o.beta1, o.beta2, o.eps, o.weight_decay, grad_mult, step, stream_);
    CUDA_LAUNCH_CHECK();
    PART("host");
    prof_.step_done();
    return "";
}

// ---------------------------------------------------------------------------------------------------
// Inference

// rows (M, C) bf16 on device -> host logits (M, V), through the head chunks.
Status CudaBackend::head_rows_to_host(const bf16* rows, int M, float* out) {
    const int C = c_.hidden_size, V = c_.vocab_size;
    for (int r0 = 0; r0 < M; r0 += head_rows_) {
        const int Mc = std::min(head_rows_, M - r0);
        TRY(mm(MATMUL_NT, head_logits_, nullptr, 0.f, rows + (size_t)r0 * C, lm_head_, Mc, V, C));
        CUDA_TRY(cudaMemcpyAsync(out + (size_t)r0 * V, head_logits_, (size_t)Mc * V * sizeof(float), cudaMemcpyDeviceToHost, stream_));
        CUDA_TRY(cudaStreamSynchronize(stream_));
    }
    return "";
}

Status CudaBackend::logits(const Batch& b, bool use_lora, float* out) {
    TRY(upload_batch(b, false));
    TRY(forward(b, use_lora, false, 0));
    return head_rows_to_host(lnf_, N_, out);
}

Status CudaBackend::last_logits(const Batch& b, float* out) {
    TRY(upload_batch(b, false));
    std::vector<int32_t> rows(B_);
    for (int i = 0; i < B_; i++) rows[i] = i * T_ + std::max(0, b.lengths[i] - 1);
    CUDA_TRY(cudaMemcpyAsync(d_rows_, rows.data(), B_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    TRY(forward(b, true, false, 0));
    gather_rows(head_in_, lnf_, d_rows_, B_, c_.hidden_size, stream_);
    CUDA_LAUNCH_CHECK();
    for (int r0 = 0; r0 < B_; r0 += head_rows_) {
        const int Mc = std::min(head_rows_, B_ - r0);
        if (r0 > 0) {
            gather_rows(head_in_, lnf_, d_rows_ + r0, Mc, c_.hidden_size, stream_);
            CUDA_LAUNCH_CHECK();
        }
        TRY(head_rows_to_host(head_in_, Mc, out + (size_t)r0 * c_.vocab_size));
    }
    return "";
}

Status CudaBackend::hidden_states(const Batch& b, bool use_lora, int index, float* out) {
    const int L = c_.num_hidden_layers, C = c_.hidden_size;
    if (index < 0 || index > L) return "hidden_states index out of range";
    TRY(upload_batch(b, false));
    TRY(forward(b, use_lora, false, 0, index == L ? -1 : index));
    if (index < L) {
        CUDA_TRY(cudaMemcpyAsync(out, xs_[index], (size_t)N_ * C * sizeof(float), cudaMemcpyDeviceToHost, stream_));
        CUDA_TRY(cudaStreamSynchronize(stream_));
        return "";
    }
    // After the final norm: bf16 lnf_ widened on the host.
    std::vector<bf16> h((size_t)N_ * C);
    CUDA_TRY(cudaMemcpyAsync(h.data(), lnf_, h.size() * sizeof(bf16), cudaMemcpyDeviceToHost, stream_));
    CUDA_TRY(cudaStreamSynchronize(stream_));
    for (size_t i = 0; i < h.size(); i++) out[i] = __bfloat162float(h[i]);
    return "";
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(std::string* why) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        if (why) *why = std::string("no CUDA device (") + (e != cudaSuccess ? cudaGetErrorString(e) : "0 devices") + ")";
        return nullptr;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major < 8) {
        if (why) *why = std::string("GPU ") + prop.name + " has compute capability " + std::to_string(prop.major) + "." +
                        std::to_string(prop.minor) + "; bf16 tensor cores need 8.0 or newer";
        return nullptr;
    }
    // cudaFree(0) creates the context here, so its cost shows as the trainer's "backend_create" phase.
    if (cudaSetDevice(0) != cudaSuccess || cudaFree(0) != cudaSuccess) {
        if (why) *why = "cudaSetDevice(0) failed";
        return nullptr;
    }
    return std::unique_ptr<Backend>(new CudaBackend());
}

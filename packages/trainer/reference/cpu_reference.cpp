// CPU reference backend: plain fp32 Qwen3 + LoRA forward/backward, the ground truth of the tests
// (the train_gpt2.c analogue). Hugging Face modeling_qwen3 semantics; base weights frozen, gradients
// only for LoRA A/B. Every activation of a micro-batch is kept for the backward pass (no recompute).
// Row index n = b*T + t over the right-padded (B, T) batch; padding rows are computed but never trained.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>
#include "backend.h"
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num() { return 0; }
#endif
#include "config.h"
#include "lora.h"
#include "safetensors.h"

namespace {

// ----------------------------------------------------------------------------
// matmuls (row-major). nt = threads. Weights are PyTorch Linear layout (out, in).

// out (N, M) (+)= a (N, K) . b (M, K)^T        : Linear forward
// Blocked over rows of b so a block of weights is read from memory once for all N rows (the lm_head is big).
void mm_nt(float* out, const float* a, const float* b, int N, int M, int K, bool acc, int nt) {
    const int MB = 16;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int m0 = 0; m0 < M; m0 += MB)
        for (int n = 0; n < N; n++)
            for (int m = m0; m < std::min(M, m0 + MB); m++) {
                const float* x = a + (size_t)n * K;
                const float* w = b + (size_t)m * K;
                float s = 0.0f;
#pragma omp simd reduction(+ : s)
                for (int k = 0; k < K; k++) s += x[k] * w[k];
                float* o = out + (size_t)n * M + m;
                *o = acc ? *o + s : s;
            }
}

// out (N, K) (+)= a (N, M) . b (M, K)          : input gradient of a Linear
// Each thread sums over its own range of m into a private (N, K) buffer, so b is streamed once.
void mm_nn(float* out, const float* a, const float* b, int N, int M, int K, bool acc, int nt) {
    if (!acc) std::fill(out, out + (size_t)N * K, 0.0f);
    std::vector<std::vector<float>> part(nt, std::vector<float>((size_t)N * K, 0.0f));
#pragma omp parallel num_threads(nt)
    {
        float* p = part[omp_get_thread_num()].data();
#pragma omp for schedule(static)
        for (int m0 = 0; m0 < M; m0 += 64)
            for (int n = 0; n < N; n++) {
                float* o = p + (size_t)n * K;
                for (int m = m0; m < std::min(M, m0 + 64); m++) {
                    float s = a[(size_t)n * M + m];
                    if (s == 0.0f) continue;
                    const float* w = b + (size_t)m * K;
#pragma omp simd
                    for (int k = 0; k < K; k++) o[k] += s * w[k];
                }
            }
    }
    for (auto& q : part)   // fixed order: the result does not depend on thread timing
        for (size_t i = 0; i < q.size(); i++) out[i] += q[i];
}

// out (M, K) += scale * a (N, M)^T . b (N, K)    : weight gradient of a Linear (LoRA only)
void mm_tn_acc(float* out, const float* a, const float* b, int N, int M, int K, float scale, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int m = 0; m < M; m++) {
        float* o = out + (size_t)m * K;
        for (int n = 0; n < N; n++) {
            float s = a[(size_t)n * M + m] * scale;
            if (s == 0.0f) continue;
            const float* x = b + (size_t)n * K;
            for (int k = 0; k < K; k++) o[k] += s * x[k];
        }
    }
}

// ----------------------------------------------------------------------------
// RMSNorm over the last dim D of `rows` rows: y = w * x * rstd, rstd = 1/sqrt(mean(x^2) + eps)

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int rows, int D, float eps) {
    for (int n = 0; n < rows; n++) {
        const float* xr = x + (size_t)n * D;
        float ss = 0.0f;
        for (int i = 0; i < D; i++) ss += xr[i] * xr[i];
        float r = 1.0f / std::sqrt(ss / D + eps);
        rstd[n] = r;
        for (int i = 0; i < D; i++) y[(size_t)n * D + i] = w[i] * (xr[i] * r);
    }
}

// dx (+)= d/dx of rmsnorm given dy; dx_i = r*g_i - x_i * r^3/D * sum_j g_j x_j, g = w*dy
void rmsnorm_backward(float* dx, const float* dy, const float* x, const float* rstd, const float* w, int rows, int D, bool acc) {
    for (int n = 0; n < rows; n++) {
        const float* xr = x + (size_t)n * D;
        const float* d = dy + (size_t)n * D;
        float r = rstd[n], dot = 0.0f;
        for (int i = 0; i < D; i++) dot += w[i] * d[i] * xr[i];
        float c = r * r * r * dot / D;
        for (int i = 0; i < D; i++) {
            float v = r * w[i] * d[i] - xr[i] * c;
            dx[(size_t)n * D + i] = acc ? dx[(size_t)n * D + i] + v : v;
        }
    }
}

// ----------------------------------------------------------------------------
// LoRA dropout: keep element i of row n of slot k with prob 1-p; a counter hash, so the mask is a pure
// function of (seed, slot, n, i) and the backward pass regenerates it instead of storing it.

inline float dropout_keep(uint64_t seed, int slot, int n, int i, float p) {
    uint64_t z = seed ^ ((uint64_t)(slot + 1) * 0x9E3779B97F4A7C15ull) ^ (((uint64_t)n << 24 | (uint64_t)i) * 0xD1B54A32D192ED03ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float u = (float)(z >> 40) * (1.0f / 16777216.0f);
    return u >= p ? 1.0f / (1.0f - p) : 0.0f;
}

struct LayerW {
    std::vector<float> ln1, wq, wk, wv, wo, qn, kn, ln2, wg, wu, wd;
};

struct LayerActs {          // N = B*T rows; Q = heads*hd, KV = kv_heads*hd, I = intermediate
    std::vector<float> x;                 // (N, C) layer input (residual stream)
    std::vector<float> xn1, rstd1;        // (N, C), (N)
    std::vector<float> q, k, v;           // (N, Q), (N, KV), (N, KV) projections (before q/k norm)
    std::vector<float> qn, kn, rq, rk;    // normed q/k (before RoPE), their rstd (N*H), (N*KVH)
    std::vector<float> qr, kr;            // after RoPE
    std::vector<float> att;               // (B, H, T, T) softmax probabilities
    std::vector<float> ao;                // (N, Q) attention output, o_proj input
    std::vector<float> xm;                // (N, C) residual after attention
    std::vector<float> xn2, rstd2;        // (N, C), (N)
    std::vector<float> g, u, act;         // (N, I) gate, up, silu(gate)*up
    std::vector<float> lu[LORA_NUM_TARGETS];  // (N, r) LoRA A outputs, per target
};

class CpuBackend : public Backend {
public:
    explicit CpuBackend(int nt) : nt_(std::max(1, nt)) {}
    const char* name() const override { return "cpu"; }

    Status init(const Qwen3Config& cfg, const LoraConfig& lc, const WeightSet& w, int max_B, int max_T) override {
        c_ = cfg; lc_ = lc; L_ = lora_layout(cfg, lc);
        (void)max_B;
        for (auto& s : qwen3_weight_specs(cfg)) {
            const Tensor* t;
            Status e = w.get(s.name, s.shape, &t);
            if (!e.empty()) return e;
        }
        // w may be lazy (opened, not read): each tensor goes straight from the file into its own fp32 vector.
        auto t0 = std::chrono::steady_clock::now();
        Status e;
        auto get = [&](const std::string& n, std::vector<float>* dst) {
            if (!e.empty()) return;
            const Tensor* t = w.find(n);
            dst->resize((size_t)t->numel());
            e = tensor_read_f32(w, *t, dst->data());
        };
        get("model.embed_tokens.weight", &emb_);
        get("model.norm.weight", &norm_);
        if (!cfg.tie_word_embeddings) get("lm_head.weight", &lm_head_);
        layers_.resize(cfg.num_hidden_layers);
        for (int l = 0; l < cfg.num_hidden_layers; l++) {
            std::string p = "model.layers." + std::to_string(l) + ".";
            LayerW& W = layers_[l];
            get(p + "input_layernorm.weight", &W.ln1);
            get(p + "self_attn.q_proj.weight", &W.wq); get(p + "self_attn.k_proj.weight", &W.wk);
            get(p + "self_attn.v_proj.weight", &W.wv); get(p + "self_attn.o_proj.weight", &W.wo);
            get(p + "self_attn.q_norm.weight", &W.qn); get(p + "self_attn.k_norm.weight", &W.kn);
            get(p + "post_attention_layernorm.weight", &W.ln2);
            get(p + "mlp.gate_proj.weight", &W.wg); get(p + "mlp.up_proj.weight", &W.wu); get(p + "mlp.down_proj.weight", &W.wd);
        }
        if (!e.empty()) return e;
        phases_ = {{"weights_read", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()}};
        lora_.assign(L_.total, 0.0f); grad_.assign(L_.total, 0.0f); m_.assign(L_.total, 0.0f); v_.assign(L_.total, 0.0f);
        // RoPE tables as transformers computes them: fp32 inv_freq, fp32 angle, fp32 cos/sin
        int hd = cfg.head_dim, half = hd / 2;
        max_T_ = std::max(1, max_T);
        cos_.resize((size_t)max_T_ * half); sin_.resize((size_t)max_T_ * half);
        for (int i = 0; i < half; i++) {
            float inv = 1.0f / (float)std::pow(cfg.rope_theta, (double)(2 * i) / hd);
            for (int t = 0; t < max_T_; t++) {
                float ang = (float)t * inv;
                cos_[(size_t)t * half + i] = std::cos(ang);
                sin_[(size_t)t * half + i] = std::sin(ang);
            }
        }
        return "";
    }

    std::vector<std::pair<std::string, double>> init_phases_ms() const override { return phases_; }
    size_t lora_param_count() const override { return L_.total; }
    Status set_lora(const float* p) override { std::copy(p, p + L_.total, lora_.begin()); return ""; }
    Status get_lora(float* p) const override { std::copy(lora_.begin(), lora_.end(), p); return ""; }
    Status get_grad(float* g) const override { std::copy(grad_.begin(), grad_.end(), g); return ""; }
    Status set_optimizer_state(const float* m, const float* v) override {
        std::copy(m, m + L_.total, m_.begin()); std::copy(v, v + L_.total, v_.begin()); return "";
    }
    Status get_optimizer_state(float* m, float* v) const override {
        std::copy(m_.begin(), m_.end(), m); std::copy(v_.begin(), v_.end(), v); return "";
    }
    Status zero_grad() override { std::fill(grad_.begin(), grad_.end(), 0.0f); return ""; }

    Status grad_norm(double* norm) override {
        double s = 0;
        for (float g : grad_) s += (double)g * g;
        *norm = std::sqrt(s);
        return "";
    }

    // torch.optim.AdamW: p *= 1 - lr*wd; m,v EMAs; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
    Status adamw_step(const AdamWParams& o, float lr, float grad_mult, int step) override {
        double bc1 = 1.0 - std::pow((double)o.beta1, step), bc2 = 1.0 - std::pow((double)o.beta2, step);
        float step_size = (float)(lr / bc1), bc2s = (float)std::sqrt(bc2);
        for (size_t i = 0; i < L_.total; i++) {
            float g = grad_[i] * grad_mult;
            lora_[i] *= 1.0f - lr * o.weight_decay;
            m_[i] = o.beta1 * m_[i] + (1.0f - o.beta1) * g;
            v_[i] = o.beta2 * v_[i] + (1.0f - o.beta2) * g * g;
            lora_[i] -= step_size * m_[i] / (std::sqrt(v_[i]) / bc2s + o.eps);
        }
        return "";
    }

    Status forward_backward(const Batch& b, float grad_scale, uint64_t seed, double* loss_sum, int64_t* n_lab) override {
        Status e = check(b);
        if (!e.empty()) return e;
        forward(b, true, true, seed);
        // label rows and their targets
        std::vector<int> rows, tg;
        label_rows(b, &rows, &tg);
        *n_lab = (int64_t)rows.size();
        *loss_sum = 0.0;
        if (rows.empty()) return "";   // nothing to learn from; gradient stays as it was
        int M = (int)rows.size(), V = c_.vocab_size, C = c_.hidden_size;
        std::vector<float> h((size_t)M * C), lg((size_t)M * V);
        for (int i = 0; i < M; i++) std::copy(&xf_[(size_t)rows[i] * C], &xf_[(size_t)rows[i] * C] + C, &h[(size_t)i * C]);
        mm_nt(lg.data(), h.data(), head(), M, V, C, false, nt_);
        // cross-entropy; dlogits = (softmax - onehot) * grad_scale, in place
        double total = 0.0;
        for (int i = 0; i < M; i++) {
            float* r = &lg[(size_t)i * V];
            float mx = *std::max_element(r, r + V);
            double se = 0.0;
            for (int j = 0; j < V; j++) se += std::exp(r[j] - mx);   // float exp, double sum
            double lse = mx + std::log(se);
            total += lse - r[tg[i]];
            float flse = (float)lse;
            for (int j = 0; j < V; j++) r[j] = std::exp(r[j] - flse) * grad_scale;
            r[tg[i]] -= grad_scale;
        }
        *loss_sum = total;
        // d xf (N, C), nonzero only at label rows
        int N = b.B * b.T;
        std::vector<float> dh((size_t)M * C);
        mm_nn(dh.data(), lg.data(), head(), M, V, C, false, nt_);
        std::vector<float> dxf((size_t)N * C, 0.0f);
        for (int i = 0; i < M; i++) std::copy(&dh[(size_t)i * C], &dh[(size_t)i * C] + C, &dxf[(size_t)rows[i] * C]);
        backward(b, dxf, seed);
        return "";
    }

    Status logits(const Batch& b, bool use_lora, float* out) override {
        Status e = check(b);
        if (!e.empty()) return e;
        forward(b, use_lora, false, 0);
        mm_nt(out, xf_.data(), head(), b.B * b.T, c_.vocab_size, c_.hidden_size, false, nt_);
        return "";
    }

    Status last_logits(const Batch& b, float* out) override {
        Status e = check(b);
        if (!e.empty()) return e;
        forward(b, true, false, 0);
        int C = c_.hidden_size;
        std::vector<float> h((size_t)b.B * C);
        for (int i = 0; i < b.B; i++) {
            int n = i * b.T + b.lengths[i] - 1;
            std::copy(&xf_[(size_t)n * C], &xf_[(size_t)n * C] + C, &h[(size_t)i * C]);
        }
        mm_nt(out, h.data(), head(), b.B, c_.vocab_size, C, false, nt_);
        return "";
    }

    Status hidden_states(const Batch& b, bool use_lora, int index, float* out) override {
        Status e = check(b);
        if (!e.empty()) return e;
        int nl = c_.num_hidden_layers;
        if (index < 0 || index > nl) return "hidden_states index out of range";
        forward(b, use_lora, false, 0);
        const std::vector<float>& src = index == nl ? xf_ : acts_[index].x;
        std::copy(src.begin(), src.begin() + (size_t)b.B * b.T * c_.hidden_size, out);
        return "";
    }

private:
    Qwen3Config c_;
    LoraConfig lc_;
    LoraLayout L_;
    int nt_, max_T_ = 1;
    std::vector<std::pair<std::string, double>> phases_;   // init_phases_ms
    std::vector<float> emb_, norm_, lm_head_, cos_, sin_;
    std::vector<LayerW> layers_;
    std::vector<float> lora_, grad_, m_, v_;
    std::vector<LayerActs> acts_;
    std::vector<float> xL_, xf_, rstdf_;   // last layer output, final-normed (N, C), its rstd (N)

    const float* head() const { return c_.tie_word_embeddings ? emb_.data() : lm_head_.data(); }

    Status check(const Batch& b) const {
        if (b.B <= 0 || b.T <= 0) return "empty batch";
        if (b.T > max_T_) return "batch length " + std::to_string(b.T) + " exceeds max_T " + std::to_string(max_T_) + " given to init";
        for (int i = 0; i < b.B; i++) {
            if (b.lengths[i] < 1 || b.lengths[i] > b.T) return "batch row " + std::to_string(i) + " has a bad length";
            for (int t = 0; t < b.T; t++) {
                int id = b.tokens[i * b.T + t];
                if (id < 0 || id >= c_.vocab_size) return "token id " + std::to_string(id) + " outside the vocabulary";
                int y = b.targets ? b.targets[i * b.T + t] : -100;
                if (y != -100 && (y < 0 || y >= c_.vocab_size)) return "label id " + std::to_string(y) + " outside the vocabulary";
            }
        }
        return "";
    }

    void label_rows(const Batch& b, std::vector<int>* rows, std::vector<int>* tg) const {
        for (int i = 0; i < b.B; i++)
            for (int t = 0; t < b.lengths[i]; t++) {
                int y = b.targets[i * b.T + t];
                if (y != -100) { rows->push_back(i * b.T + t); tg->push_back(y); }
            }
    }

    // ------------------------------------------------------------------------
    // LoRA on one projection: y (N, out) += s * drop(x) A^T B^T, keeping u = drop(x) A^T (N, r)

    void lora_forward(float* y, const float* x, int N, int layer, int target, bool train, uint64_t seed, std::vector<float>& u) {
        const LoraSlot* s = L_.find(layer, target);
        if (!s) return;
        int r = L_.r;
        std::vector<float> xd;
        const float* xin = x;
        if (train && lc_.dropout > 0.0f) {
            int k = (int)(s - L_.slots.data());
            xd.resize((size_t)N * s->in);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < s->in; i++) xd[(size_t)n * s->in + i] = x[(size_t)n * s->in + i] * dropout_keep(seed, k, n, i, lc_.dropout);
            xin = xd.data();
        }
        u.resize((size_t)N * r);
        mm_nt(u.data(), xin, &lora_[s->a_off], N, r, s->in, false, nt_);
        std::vector<float> us(u);
        for (float& z : us) z *= lc_.scaling();
        mm_nt(y, us.data(), &lora_[s->b_off], N, s->out, r, true, nt_);
    }

    // Given dy (N, out): dB += s * dy^T u; du = s * dy B; dA += du^T drop(x); dx += drop'(du A)
    void lora_backward(float* dx, const float* dy, const float* x, int N, int layer, int target, uint64_t seed, const std::vector<float>& u) {
        const LoraSlot* s = L_.find(layer, target);
        if (!s) return;
        int r = L_.r, k = (int)(s - L_.slots.data());
        float sc = lc_.scaling();
        bool drop = lc_.dropout > 0.0f;
        mm_tn_acc(&grad_[s->b_off], dy, u.data(), N, s->out, r, sc, nt_);
        std::vector<float> du((size_t)N * r);
        mm_nn(du.data(), dy, &lora_[s->b_off], N, s->out, r, false, nt_);
        for (float& z : du) z *= sc;
        std::vector<float> xd;
        const float* xin = x;
        if (drop) {
            xd.resize((size_t)N * s->in);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < s->in; i++) xd[(size_t)n * s->in + i] = x[(size_t)n * s->in + i] * dropout_keep(seed, k, n, i, lc_.dropout);
            xin = xd.data();
        }
        mm_tn_acc(&grad_[s->a_off], du.data(), xin, N, r, s->in, 1.0f, nt_);
        if (!dx) return;
        std::vector<float> dxd((size_t)N * s->in);
        mm_nn(dxd.data(), du.data(), &lora_[s->a_off], N, r, s->in, false, nt_);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < s->in; i++) {
                float m = drop ? dropout_keep(seed, k, n, i, lc_.dropout) : 1.0f;
                dx[(size_t)n * s->in + i] += dxd[(size_t)n * s->in + i] * m;
            }
    }

    // Linear with optional LoRA: y (N, out) = x W^T (+ LoRA)
    void linear(float* y, const float* x, const std::vector<float>& W, int N, int in, int out, int layer, int target,
                bool use_lora, bool train, uint64_t seed, std::vector<float>& u) {
        mm_nt(y, x, W.data(), N, out, in, false, nt_);
        if (use_lora) lora_forward(y, x, N, layer, target, train, seed, u);
        else u.clear();
    }
    // dx (N, in) += dy W (+ LoRA part); LoRA grads accumulate
    void linear_backward(float* dx, const float* dy, const float* x, const std::vector<float>& W, int N, int in, int out,
                         int layer, int target, uint64_t seed, const std::vector<float>& u) {
        mm_nn(dx, dy, W.data(), N, out, in, true, nt_);
        if (!u.empty()) lora_backward(dx, dy, x, N, layer, target, seed, u);
    }

    // ------------------------------------------------------------------------
    // RoPE, half-split (rotate_half): (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) at position t

    void rope(float* x, int N, int T, int heads, bool inverse) const {
        int hd = c_.head_dim, half = hd / 2;
        for (int n = 0; n < N; n++) {
            int t = n % T;
            for (int h = 0; h < heads; h++) {
                float* v = x + ((size_t)n * heads + h) * hd;
                for (int i = 0; i < half; i++) {
                    float co = cos_[(size_t)t * half + i], si = inverse ? -sin_[(size_t)t * half + i] : sin_[(size_t)t * half + i];
                    float a = v[i], bb = v[i + half];
                    v[i] = a * co - bb * si;
                    v[i + half] = bb * co + a * si;
                }
            }
        }
    }

    // ------------------------------------------------------------------------
    // forward: fills acts_ and xf_ for all B*T rows

    void forward(const Batch& b, bool use_lora, bool train, uint64_t seed) {
        const int B = b.B, T = b.T, N = B * T, C = c_.hidden_size, H = c_.num_attention_heads, KVH = c_.num_key_value_heads;
        const int hd = c_.head_dim, Q = H * hd, KV = KVH * hd, I = c_.intermediate_size, nl = c_.num_hidden_layers;
        const float scale = 1.0f / std::sqrt((float)hd);
        acts_.resize(nl);
        std::vector<float> x((size_t)N * C);
        for (int n = 0; n < N; n++)
            std::copy(&emb_[(size_t)b.tokens[n] * C], &emb_[(size_t)b.tokens[n] * C] + C, &x[(size_t)n * C]);
        for (int l = 0; l < nl; l++) {
            LayerActs& a = acts_[l];
            const LayerW& W = layers_[l];
            a.x = x;
            a.xn1.resize((size_t)N * C); a.rstd1.resize(N);
            rmsnorm_forward(a.xn1.data(), a.rstd1.data(), x.data(), W.ln1.data(), N, C, c_.rms_norm_eps);
            a.q.resize((size_t)N * Q); a.k.resize((size_t)N * KV); a.v.resize((size_t)N * KV);
            linear(a.q.data(), a.xn1.data(), W.wq, N, C, Q, l, LORA_Q, use_lora, train, seed, a.lu[LORA_Q]);
            linear(a.k.data(), a.xn1.data(), W.wk, N, C, KV, l, LORA_K, use_lora, train, seed, a.lu[LORA_K]);
            linear(a.v.data(), a.xn1.data(), W.wv, N, C, KV, l, LORA_V, use_lora, train, seed, a.lu[LORA_V]);
            // per-head RMSNorm over head_dim, then RoPE
            a.qn.resize((size_t)N * Q); a.rq.resize((size_t)N * H);
            a.kn.resize((size_t)N * KV); a.rk.resize((size_t)N * KVH);
            rmsnorm_forward(a.qn.data(), a.rq.data(), a.q.data(), W.qn.data(), N * H, hd, c_.rms_norm_eps);
            rmsnorm_forward(a.kn.data(), a.rk.data(), a.k.data(), W.kn.data(), N * KVH, hd, c_.rms_norm_eps);
            a.qr = a.qn; a.kr = a.kn;
            rope(a.qr.data(), N, T, H, false);
            rope(a.kr.data(), N, T, KVH, false);
            // causal GQA attention; key s visible to query t iff s <= t and s < length (right padding masked)
            a.att.assign((size_t)B * H * T * T, 0.0f);
            a.ao.assign((size_t)N * Q, 0.0f);
            const int grp = H / KVH;
#pragma omp parallel for collapse(2) num_threads(nt_) schedule(static)
            for (int bi = 0; bi < B; bi++)
                for (int h = 0; h < H; h++) {
                    int len = b.lengths[bi], kh = h / grp;
                    for (int t = 0; t < T; t++) {
                        const float* qv = &a.qr[((size_t)(bi * T + t) * H + h) * hd];
                        float* p = &a.att[(((size_t)bi * H + h) * T + t) * T];
                        int smax = std::min(t, len - 1);
                        float mx = -INFINITY;
                        for (int s = 0; s <= smax; s++) {
                            const float* kv = &a.kr[((size_t)(bi * T + s) * KVH + kh) * hd];
                            float d = 0.0f;
                            for (int i = 0; i < hd; i++) d += qv[i] * kv[i];
                            p[s] = d * scale;
                            mx = std::max(mx, p[s]);
                        }
                        float sum = 0.0f;
                        for (int s = 0; s <= smax; s++) { p[s] = std::exp(p[s] - mx); sum += p[s]; }
                        float* o = &a.ao[((size_t)(bi * T + t) * H + h) * hd];
                        for (int s = 0; s <= smax; s++) {
                            p[s] /= sum;
                            const float* vv = &a.v[((size_t)(bi * T + s) * KVH + kh) * hd];
                            for (int i = 0; i < hd; i++) o[i] += p[s] * vv[i];
                        }
                    }
                }
            std::vector<float> y((size_t)N * C);
            linear(y.data(), a.ao.data(), W.wo, N, Q, C, l, LORA_O, use_lora, train, seed, a.lu[LORA_O]);
            a.xm.resize((size_t)N * C);
            for (size_t i = 0; i < a.xm.size(); i++) a.xm[i] = x[i] + y[i];
            // MLP: down(silu(gate(x)) * up(x))
            a.xn2.resize((size_t)N * C); a.rstd2.resize(N);
            rmsnorm_forward(a.xn2.data(), a.rstd2.data(), a.xm.data(), W.ln2.data(), N, C, c_.rms_norm_eps);
            a.g.resize((size_t)N * I); a.u.resize((size_t)N * I); a.act.resize((size_t)N * I);
            linear(a.g.data(), a.xn2.data(), W.wg, N, C, I, l, LORA_GATE, use_lora, train, seed, a.lu[LORA_GATE]);
            linear(a.u.data(), a.xn2.data(), W.wu, N, C, I, l, LORA_UP, use_lora, train, seed, a.lu[LORA_UP]);
            for (size_t i = 0; i < a.act.size(); i++) a.act[i] = a.g[i] / (1.0f + std::exp(-a.g[i])) * a.u[i];
            linear(y.data(), a.act.data(), W.wd, N, I, C, l, LORA_DOWN, use_lora, train, seed, a.lu[LORA_DOWN]);
            for (size_t i = 0; i < x.size(); i++) x[i] = a.xm[i] + y[i];
        }
        xL_ = x;
        xf_.resize((size_t)N * C); rstdf_.resize(N);
        rmsnorm_forward(xf_.data(), rstdf_.data(), xL_.data(), norm_.data(), N, C, c_.rms_norm_eps);
    }

    // ------------------------------------------------------------------------
    // backward from d xf (N, C) into the LoRA gradients (base weights frozen)

    void backward(const Batch& b, const std::vector<float>& dxf, uint64_t seed) {
        const int B = b.B, T = b.T, N = B * T, C = c_.hidden_size, H = c_.num_attention_heads, KVH = c_.num_key_value_heads;
        const int hd = c_.head_dim, Q = H * hd, KV = KVH * hd, I = c_.intermediate_size, nl = c_.num_hidden_layers;
        const float scale = 1.0f / std::sqrt((float)hd);
        const int grp = H / KVH;
        std::vector<float> dres((size_t)N * C);
        rmsnorm_backward(dres.data(), dxf.data(), xL_.data(), rstdf_.data(), norm_.data(), N, C, false);
        for (int l = nl - 1; l >= 0; l--) {
            LayerActs& a = acts_[l];
            const LayerW& W = layers_[l];
            // MLP branch: dres flows into down_proj output and through to xm
            std::vector<float> dact((size_t)N * I, 0.0f);
            linear_backward(dact.data(), dres.data(), a.act.data(), W.wd, N, I, C, l, LORA_DOWN, seed, a.lu[LORA_DOWN]);
            std::vector<float> dg((size_t)N * I), du((size_t)N * I);
            for (size_t i = 0; i < dg.size(); i++) {
                float sg = 1.0f / (1.0f + std::exp(-a.g[i]));
                float silu = a.g[i] * sg;
                du[i] = dact[i] * silu;
                dg[i] = dact[i] * a.u[i] * sg * (1.0f + a.g[i] * (1.0f - sg));
            }
            std::vector<float> dxn2((size_t)N * C, 0.0f);
            linear_backward(dxn2.data(), dg.data(), a.xn2.data(), W.wg, N, C, I, l, LORA_GATE, seed, a.lu[LORA_GATE]);
            linear_backward(dxn2.data(), du.data(), a.xn2.data(), W.wu, N, C, I, l, LORA_UP, seed, a.lu[LORA_UP]);
            rmsnorm_backward(dres.data(), dxn2.data(), a.xm.data(), a.rstd2.data(), W.ln2.data(), N, C, true);
            // attention branch
            std::vector<float> dao((size_t)N * Q, 0.0f);
            linear_backward(dao.data(), dres.data(), a.ao.data(), W.wo, N, Q, C, l, LORA_O, seed, a.lu[LORA_O]);
            std::vector<float> dq((size_t)N * Q, 0.0f), dk((size_t)N * KV, 0.0f), dv((size_t)N * KV, 0.0f);
            // parallel over (batch row, kv head): each thread owns its dk/dv slice
#pragma omp parallel for collapse(2) num_threads(nt_) schedule(static)
            for (int bi = 0; bi < B; bi++)
                for (int kh = 0; kh < KVH; kh++) {
                    int len = b.lengths[bi];
                    std::vector<float> dp(T);
                    for (int h = kh * grp; h < (kh + 1) * grp; h++)
                        for (int t = 0; t < T; t++) {
                            const float* p = &a.att[(((size_t)bi * H + h) * T + t) * T];
                            const float* dov = &dao[((size_t)(bi * T + t) * H + h) * hd];
                            const float* qv = &a.qr[((size_t)(bi * T + t) * H + h) * hd];
                            float* dqv = &dq[((size_t)(bi * T + t) * H + h) * hd];
                            int smax = std::min(t, len - 1);
                            float dot = 0.0f;
                            for (int s = 0; s <= smax; s++) {
                                const float* vv = &a.v[((size_t)(bi * T + s) * KVH + kh) * hd];
                                float* dvv = &dv[((size_t)(bi * T + s) * KVH + kh) * hd];
                                float d = 0.0f;
                                for (int i = 0; i < hd; i++) { d += dov[i] * vv[i]; dvv[i] += p[s] * dov[i]; }
                                dp[s] = d;
                                dot += p[s] * d;
                            }
                            for (int s = 0; s <= smax; s++) {
                                float ds = p[s] * (dp[s] - dot) * scale;
                                const float* kv = &a.kr[((size_t)(bi * T + s) * KVH + kh) * hd];
                                float* dkv = &dk[((size_t)(bi * T + s) * KVH + kh) * hd];
                                for (int i = 0; i < hd; i++) { dqv[i] += ds * kv[i]; dkv[i] += ds * qv[i]; }
                            }
                        }
                }
            rope(dq.data(), N, T, H, true);     // the transpose of a rotation is the inverse rotation
            rope(dk.data(), N, T, KVH, true);
            std::vector<float> dqp((size_t)N * Q), dkp((size_t)N * KV);
            rmsnorm_backward(dqp.data(), dq.data(), a.q.data(), a.rq.data(), W.qn.data(), N * H, hd, false);
            rmsnorm_backward(dkp.data(), dk.data(), a.k.data(), a.rk.data(), W.kn.data(), N * KVH, hd, false);
            std::vector<float> dxn1((size_t)N * C, 0.0f);
            linear_backward(dxn1.data(), dqp.data(), a.xn1.data(), W.wq, N, C, Q, l, LORA_Q, seed, a.lu[LORA_Q]);
            linear_backward(dxn1.data(), dkp.data(), a.xn1.data(), W.wk, N, C, KV, l, LORA_K, seed, a.lu[LORA_K]);
            linear_backward(dxn1.data(), dv.data(), a.xn1.data(), W.wv, N, C, KV, l, LORA_V, seed, a.lu[LORA_V]);
            if (l > 0) rmsnorm_backward(dres.data(), dxn1.data(), a.x.data(), a.rstd1.data(), W.ln1.data(), N, C, true);
        }
    }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

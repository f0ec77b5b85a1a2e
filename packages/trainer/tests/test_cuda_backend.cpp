// CUDA backend checks the golden tests do not reach: an untied lm_head, head_dim 32, a ragged batch of three
// rows (one of length 5), against the fp32 CPU reference (bf16 tolerances); last_logits == logits at the
// last positions; dropout deterministic per seed and different across seeds; recomputation equal to
// keeping activations; gradient accumulation additive; a batch without labels; bad input -> error status;
// weights uploaded from lazily opened BF16 / F32 files, through many small staging fills, give the same logits.
// Owned by the CUDA engineer. Exit 0 = passed, 1 = failed, 77 = no CUDA device (ctest: skipped).
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "lora.h"
#include "safetensors.h"
#include <unistd.h>

static int g_fail = 0;
static void report(const std::string& what, double err, double tol) {
    bool ok = std::isfinite(err) && err <= tol;
    if (!ok) g_fail++;
    std::printf("%-4s %-64s err %.3e  tol %.1e\n", ok ? "ok" : "FAIL", what.c_str(), err, tol);
}
static double rel(const float* a, const float* b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
#define REQUIRE(expr) do { std::string e_ = (expr); if (!e_.empty()) { std::printf("FAIL %s: %s\n", #expr, e_.c_str()); return 1; } } while (0)

int main() {
    std::string why;
    auto probe = make_cuda_backend(&why);
    if (!probe) { std::printf("SKIP cuda backend unavailable: %s\n", why.c_str()); return 77; }
    probe.reset();

    Qwen3Config cfg;
    cfg.vocab_size = 300; cfg.hidden_size = 64; cfg.intermediate_size = 96; cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 4; cfg.num_key_value_heads = 2; cfg.head_dim = 32; cfg.tie_word_embeddings = false;
    cfg.eos_token_id = 299; cfg.pad_token_id = 298;
    std::mt19937_64 rng(7);
    std::normal_distribution<float> nd(0.f, 1.f);
    WeightSet w;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset) {
        Tensor t;
        t.shape = shape;
        t.data.resize(t.numel());
        for (auto& x : t.data) x = offset + scale * nd(rng);
        t.src_dtype = "F32";
        w.tensors[name] = t;
    };
    const int64_t C = cfg.hidden_size, I = cfg.intermediate_size, D = cfg.head_dim, V = cfg.vocab_size;
    const int64_t HD = cfg.num_attention_heads * D, KD = cfg.num_key_value_heads * D;
    add("model.embed_tokens.weight", {V, C}, 1.f / std::sqrt((float)C), 0.f);
    add("lm_head.weight", {V, C}, 1.f / std::sqrt((float)C), 0.f);
    add("model.norm.weight", {C}, 0.2f, 1.f);
    for (int l = 0; l < cfg.num_hidden_layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "self_attn.q_proj.weight", {HD, C}, 1.f / std::sqrt((float)C), 0.f);
        add(p + "self_attn.k_proj.weight", {KD, C}, 1.f / std::sqrt((float)C), 0.f);
        add(p + "self_attn.v_proj.weight", {KD, C}, 1.f / std::sqrt((float)C), 0.f);
        add(p + "self_attn.o_proj.weight", {C, HD}, 1.f / std::sqrt((float)HD), 0.f);
        add(p + "self_attn.q_norm.weight", {D}, 0.2f, 1.f);
        add(p + "self_attn.k_norm.weight", {D}, 0.2f, 1.f);
        add(p + "mlp.gate_proj.weight", {I, C}, 1.f / std::sqrt((float)C), 0.f);
        add(p + "mlp.up_proj.weight", {I, C}, 1.f / std::sqrt((float)C), 0.f);
        add(p + "mlp.down_proj.weight", {C, I}, 1.f / std::sqrt((float)I), 0.f);
        add(p + "input_layernorm.weight", {C}, 0.2f, 1.f);
        add(p + "post_attention_layernorm.weight", {C}, 0.2f, 1.f);
    }
    // The CPU reference works on the bf16-rounded weights too, so both see the same model.
    for (auto& kv : w.tensors) for (auto& x : kv.second.data) x = bf16_to_f32(f32_to_bf16(x));

    LoraConfig lc;
    lc.r = 4; lc.alpha = 16.f; lc.dropout = 0.f;
    LoraLayout L = lora_layout(cfg, lc);
    std::vector<float> p(L.total);
    for (auto& x : p) x = 0.1f * nd(rng);

    // Ragged batch: lengths 29, 17, 5; labels on the tail of each row (shifted already).
    const int B = 3, T = 29;
    std::vector<int32_t> tok(B * T), tgt(B * T, -100), len = {29, 17, 5};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            tok[b * T + t] = t < len[b] ? (int32_t)(rng() % (V - 2)) : cfg.pad_token_id;
            if (t < len[b] - 1 && t >= len[b] / 2) tgt[b * T + t] = (int32_t)(rng() % V);
        }
    Batch batch; batch.B = B; batch.T = T; batch.tokens = tok.data(); batch.targets = tgt.data(); batch.lengths = len.data();
    int64_t nlab_expected = 0;
    for (int32_t y : tgt) nlab_expected += y != -100;
    const float scale = 1.f / (float)nlab_expected;

    auto cpu = make_cpu_backend(2);
    auto gpu = make_cuda_backend(&why);
    REQUIRE(cpu->init(cfg, lc, w, 4, 32));
    REQUIRE(gpu->init(cfg, lc, w, 4, 32));
    REQUIRE(cpu->set_lora(p.data()));
    REQUIRE(gpu->set_lora(p.data()));

    // --- logits at real positions, with and without the adapter
    for (int use_lora = 0; use_lora < 2; use_lora++) {
        std::vector<float> lc_(B * T * V), lg(B * T * V);
        REQUIRE(cpu->logits(batch, use_lora, lc_.data()));
        REQUIRE(gpu->logits(batch, use_lora, lg.data()));
        std::vector<float> a, b;
        for (int n = 0; n < B * T; n++)
            if (n % T < len[n / T]) { a.insert(a.end(), &lg[n * V], &lg[(n + 1) * V]); b.insert(b.end(), &lc_[n * V], &lc_[(n + 1) * V]); }
        report(std::string("logits vs CPU (untied head, D=32, ragged)") + (use_lora ? " with LoRA" : ""), rel(a.data(), b.data(), a.size()), 0.02);
        if (use_lora) {
            std::vector<float> last(B * V), want(B * V);
            REQUIRE(gpu->last_logits(batch, last.data()));
            for (int r = 0; r < B; r++) std::memcpy(&want[r * V], &lg[((size_t)r * T + len[r] - 1) * V], V * sizeof(float));
            report("last_logits == logits at the last real positions", rel(last.data(), want.data(), want.size()), 1e-6);
        }
    }

    // --- upload paths: lazily opened files (BF16 bytes copied as they are, F32 rounded on the host), through
    // 1000-byte staging buffers (hundreds of fills, slices cut mid-tensor) and the default size: same logits, bit for bit
    {
        std::string dir = "/tmp/qwen3_lora_test_cuda_upload_" + std::to_string(::getpid());
        std::string mk = "mkdir -p '" + dir + "'";
        if (std::system(mk.c_str()) != 0) { std::printf("FAIL cannot create %s\n", dir.c_str()); return 1; }
        REQUIRE(safetensors_write_bf16(dir + "/w16.safetensors", w.tensors));
        REQUIRE(safetensors_write(dir + "/w32.safetensors", w.tensors));
        WeightSet l16, l32;
        REQUIRE(safetensors_open_model(dir, &l16, "w16.safetensors"));
        REQUIRE(safetensors_open_model(dir, &l32, "w32.safetensors"));
        std::vector<float> want((size_t)B * T * V), got((size_t)B * T * V);
        REQUIRE(gpu->logits(batch, false, want.data()));
        for (int k = 0; k < 2; k++) {
            if (k == 0) setenv("TRAINER_STAGE_BYTES", "1000", 1);
            auto up = make_cuda_backend(&why);
            REQUIRE(up->init(cfg, lc, k == 0 ? l16 : l32, 4, 32));
            unsetenv("TRAINER_STAGE_BYTES");
            REQUIRE(up->logits(batch, false, got.data()));
            size_t diff = 0;
            for (size_t i = 0; i < got.size(); i++) diff += std::memcmp(&got[i], &want[i], 4) != 0;
            report(k == 0 ? "lazy BF16 file, 1000-byte staging: logits == in-memory weights (mismatches)"
                          : "lazy F32 file, default staging: logits == in-memory weights (mismatches)", (double)diff, 0);
        }
        std::string rm = "rm -rf '" + dir + "'";
        if (std::system(rm.c_str()) != 0) std::printf("warning: could not remove %s\n", dir.c_str());
    }

    // --- loss and gradients vs CPU (dropout 0)
    std::vector<float> gc(L.total), gg(L.total), g2(L.total);
    double lc_sum = 0, lg_sum = 0, norm_c = 0, norm_g = 0;
    int64_t nc = 0, ng = 0;
    REQUIRE(cpu->zero_grad());
    REQUIRE(gpu->zero_grad());
    REQUIRE(cpu->forward_backward(batch, scale, 1, &lc_sum, &nc));
    REQUIRE(gpu->forward_backward(batch, scale, 1, &lg_sum, &ng));
    REQUIRE(cpu->get_grad(gc.data()));
    REQUIRE(gpu->get_grad(gg.data()));
    REQUIRE(cpu->grad_norm(&norm_c));
    REQUIRE(gpu->grad_norm(&norm_g));
    report("label count equal", (double)std::llabs(nc - ng) + (double)std::llabs(ng - nlab_expected), 0);
    report("loss vs CPU", std::fabs(lg_sum - lc_sum) / lc_sum, 0.02);
    report("LoRA gradients vs CPU (all tensors together)", rel(gg.data(), gc.data(), gc.size()), 0.05);
    double worst = 0;
    for (auto& sl : L.slots) {
        worst = std::max(worst, rel(&gg[sl.a_off], &gc[sl.a_off], (size_t)lc.r * sl.in));
        worst = std::max(worst, rel(&gg[sl.b_off], &gc[sl.b_off], (size_t)sl.out * lc.r));
    }
    report("LoRA gradients vs CPU (worst tensor)", worst, 0.06);
    report("grad_norm vs CPU", std::fabs(norm_g - norm_c) / norm_c, 0.05);

    // --- accumulation is additive: two calls give twice the gradient
    REQUIRE(gpu->forward_backward(batch, scale, 1, &lg_sum, &ng));
    REQUIRE(gpu->get_grad(g2.data()));
    for (auto& x : gg) x *= 2.f;
    report("gradient accumulation (2 identical micro-batches = 2x)", rel(g2.data(), gg.data(), gg.size()), 1e-6);

    // --- a batch without label tokens: no loss, no gradient change, no NaN
    {
        std::vector<int32_t> none(B * T, -100);
        Batch nb = batch; nb.targets = none.data();
        double ls = -1; int64_t n = -1;
        REQUIRE(gpu->forward_backward(nb, scale, 1, &ls, &n));
        std::vector<float> g3(L.total);
        REQUIRE(gpu->get_grad(g3.data()));
        report("no-label batch: loss 0, count 0, gradients unchanged", std::fabs(ls) + n + rel(g3.data(), g2.data(), g2.size()), 0);
    }

    // --- adamw step: exactly the PyTorch formula on this backend's own gradients (comparing with the CPU
    // backend's update would be meaningless at step 1, where m_hat / sqrt(v_hat) = sign(g) flips on noise)
    {
        AdamWParams opt;
        opt.weight_decay = 0.01f;
        std::vector<float> g(L.total), m0(L.total), v0(L.total), pg(L.total), mg(L.total), vg(L.total);
        for (size_t i = 0; i < L.total; i++) { m0[i] = 0.01f * nd(rng); v0[i] = 1e-4f * std::fabs(nd(rng)); }
        REQUIRE(gpu->set_optimizer_state(m0.data(), v0.data()));
        REQUIRE(gpu->zero_grad());
        REQUIRE(gpu->forward_backward(batch, scale, 1, &lg_sum, &ng));
        REQUIRE(gpu->get_grad(g.data()));
        const float lr = 1e-3f, mult = 0.5f;
        const int step = 3;
        REQUIRE(gpu->adamw_step(opt, lr, mult, step));
        REQUIRE(gpu->get_lora(pg.data()));
        REQUIRE(gpu->get_optimizer_state(mg.data(), vg.data()));
        std::vector<float> dwant(L.total), dgot(L.total), mwant(L.total);
        const double bc1 = 1 - std::pow(0.9, step), bc2 = 1 - std::pow(0.999, step);
        for (size_t i = 0; i < L.total; i++) {
            double gi = (double)g[i] * mult, mi = 0.9 * m0[i] + 0.1 * gi, vi = 0.999 * v0[i] + 0.001 * gi * gi;
            dwant[i] = (float)(-lr * (mi / bc1 / (std::sqrt(vi / bc2) + opt.eps) + opt.weight_decay * p[i]));
            dgot[i] = pg[i] - p[i];
            mwant[i] = (float)mi;
        }
        report("AdamW update (weight decay, clipping factor, step 3)", rel(dgot.data(), dwant.data(), dwant.size()), 1e-3);
        report("AdamW first moment", rel(mg.data(), mwant.data(), mwant.size()), 1e-6);
        std::vector<float> zero(L.total, 0.f);
        REQUIRE(gpu->set_optimizer_state(zero.data(), zero.data()));
        REQUIRE(gpu->set_lora(p.data()));
    }

    // --- dropout: deterministic per seed, different across seeds; recompute gives the same result
    {
        LoraConfig ld = lc;
        ld.dropout = 0.3f;
        auto d1 = make_cuda_backend(&why), d2 = make_cuda_backend(&why);
        REQUIRE(d1->init(cfg, ld, w, 4, 32));
        REQUIRE(d2->set_recompute(true));
        REQUIRE(d2->init(cfg, ld, w, 4, 32));
        REQUIRE(d1->set_lora(p.data()));
        REQUIRE(d2->set_lora(p.data()));
        std::vector<float> a(L.total), b(L.total), c(L.total), r(L.total);
        double la, lb, lcc, lr;
        int64_t n;
        REQUIRE(d1->zero_grad()); REQUIRE(d1->forward_backward(batch, scale, 11, &la, &n)); REQUIRE(d1->get_grad(a.data()));
        REQUIRE(d1->zero_grad()); REQUIRE(d1->forward_backward(batch, scale, 11, &lb, &n)); REQUIRE(d1->get_grad(b.data()));
        REQUIRE(d1->zero_grad()); REQUIRE(d1->forward_backward(batch, scale, 12, &lcc, &n)); REQUIRE(d1->get_grad(c.data()));
        REQUIRE(d2->zero_grad()); REQUIRE(d2->forward_backward(batch, scale, 11, &lr, &n)); REQUIRE(d2->get_grad(r.data()));
        report("dropout: same seed -> same loss and gradients", std::fabs(la - lb) + rel(b.data(), a.data(), a.size()), 0);
        double diff = rel(c.data(), a.data(), a.size());
        report("dropout: another seed -> different gradients (1 / rel diff)", diff > 0 ? 1.0 / diff : INFINITY, 1e3);
        double dd = rel(a.data(), gc.data(), gc.size());
        report("dropout 0.3 changes the gradients vs dropout 0 (1 / rel diff)", dd > 0 ? 1.0 / dd : INFINITY, 1e3);
        report("recompute == stored activations (loss + gradients)", std::fabs(lr - la) / std::fabs(la) + rel(r.data(), a.data(), a.size()), 1e-5);
        Status s = d1->set_recompute(true);
        report("set_recompute after init is refused", s.empty() ? 1 : 0, 0);
    }

    // --- TRAINER_PROFILE=1: the step profile names the parts of a step, after a first (warm-up) step
    {
        setenv("TRAINER_PROFILE", "1", 1);
        auto pb = make_cuda_backend(&why);
        REQUIRE(pb->init(cfg, lc, w, 4, 32));   // reads the variable
        unsetenv("TRAINER_PROFILE");
        REQUIRE(pb->set_lora(p.data()));
        AdamWParams opt;
        for (int step = 1; step <= 3; step++) {
            double ls, norm;
            int64_t n;
            REQUIRE(pb->zero_grad());
            REQUIRE(pb->forward_backward(batch, scale, 1, &ls, &n));
            REQUIRE(pb->grad_norm(&norm));
            REQUIRE(pb->adamw_step(opt, 1e-3f, 1.f, step));
        }
        std::string j = pb->take_profile();
        std::printf("     profile: %s\n", j.c_str());
        int missing = 0;
        for (const char* part : {"\"steps\": 2", "\"gemm\"", "\"lora\"", "\"attention_fwd\"", "\"attention_bwd\"", "\"norm\"", "\"head_ce\"", "\"optimizer\""})
            missing += j.find(part) == std::string::npos;
        report("profile: 2 counted steps and every part of a step named", missing, 0);
        report("profile: taken once, then off", pb->take_profile().empty() ? 0 : 1, 0);
        report("no profile unless TRAINER_PROFILE=1", gpu->take_profile().empty() ? 0 : 1, 0);
    }

    // --- bad input gives an error status, not a crash
    {
        std::vector<int32_t> bad = tok;
        bad[3] = (int32_t)V + 5;
        Batch bb = batch; bb.tokens = bad.data();
        double ls; int64_t n;
        Status s1 = gpu->forward_backward(bb, scale, 1, &ls, &n);
        Batch big = batch; big.B = 5;
        std::vector<float> out((size_t)5 * T * V);
        Status s2 = gpu->logits(big, false, out.data());
        std::printf("     errors: \"%s\" / \"%s\"\n", s1.c_str(), s2.c_str());
        report("out-of-vocabulary id and oversized batch are refused", (s1.empty() ? 1 : 0) + (s2.empty() ? 1 : 0), 0);
    }

    std::printf("== cuda backend checks: %s (%d failures)\n", g_fail ? "FAILED" : "passed", g_fail);
    return g_fail ? 1 : 0;
}

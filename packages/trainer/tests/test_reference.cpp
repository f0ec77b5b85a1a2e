// Golden tests: a backend (cpu reference or cuda) against the Hugging Face float64 data in tests/golden/<cfg>/.
// Error metric everywhere: relative Frobenius error ||ours - golden|| / ||golden||.
// fp32 mode (cpu backend + F32 weight file): logits/hidden 1e-5, loss/grads/3-step results 1e-4, greedy ids exact.
// bf16 mode (cuda backend, or BF16 weight file): 1.5x the error Hugging Face's own bf16 run shows (golden README),
// greedy ids equal until a near-tie of the golden logits. Exit 0 = pass, 1 = fail, 77 = skipped (no CUDA).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>
#include "backend.h"
#include "config.h"
#include "generate.h"
#include "json.h"
#include "lora.h"
#include "safetensors.h"

static int g_fail = 0;

static double rel_err(const float* a, const float* b, size_t n, const std::vector<bool>* use_row = nullptr, size_t row = 0) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (use_row && !(*use_row)[i / row]) continue;
        double d = (double)a[i] - b[i];
        num += d * d; den += (double)b[i] * b[i];
    }
    return std::sqrt(num / (den > 0 ? den : 1));
}

static void report(const std::string& what, double err, double tol) {
    bool ok = err <= tol && std::isfinite(err);
    if (!ok) g_fail++;
    std::printf("%-4s %-62s err %.3e  tol %.1e\n", ok ? "ok" : "FAIL", what.c_str(), err, tol);
}

static void check(const std::string& what, const Status& s) {
    if (!s.empty()) { std::printf("FAIL %s: %s\n", what.c_str(), s.c_str()); g_fail++; }
}

#define REQUIRE(expr)                                                              \
    do { Status _s = (expr); if (!_s.empty()) { std::printf("FAIL %s\n", _s.c_str()); return 1; } } while (0)

// Hugging Face bf16 errors (golden README), per config; bf16 mode tolerates 1.5x these.
struct Bf16Ref { double logits, lora_logits, grads, after3; };

int main(int argc, char** argv) {
    std::string backend = "cpu", gdir, wfile = "model.safetensors";
    int threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--backend") backend = argv[i + 1];
        else if (a == "--golden") gdir = argv[i + 1];
        else if (a == "--weights") wfile = argv[i + 1];
        else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    }
    if (gdir.empty()) { std::printf("usage: test_reference --golden DIR [--backend cpu|cuda] [--weights FILE]\n"); return 2; }
    std::string cname = gdir.substr(gdir.find_last_of('/') + 1);

    std::unique_ptr<Backend> be;
    if (backend == "cuda") {
        std::string why;
        be = make_cuda_backend(&why);
        if (!be) { std::printf("SKIP cuda backend unavailable: %s\n", why.c_str()); return 77; }
    } else {
        be = make_cpu_backend(threads);
    }
    bool bf16_file = wfile.find("bf16") != std::string::npos;
    bool bf16_mode = backend == "cuda" || bf16_file;
    Bf16Ref hf = cname == "tiny" ? Bf16Ref{0.0134, 0.0141, 0.0319, 0.0070} : Bf16Ref{0.0157, 0.0160, 0.0363, 0.0051};
    double tol_logits = bf16_mode ? 1.5 * hf.logits : 1e-5;
    double tol_lora_logits = bf16_mode ? 1.5 * hf.lora_logits : 1e-5;
    double tol_grad = bf16_mode ? 1.5 * hf.grads : 1e-4;
    double tol_after3 = bf16_mode ? 1.5 * hf.after3 : 1e-4;
    double tol_loss = bf16_mode ? 1.5 * hf.lora_logits : 1e-4;
    std::printf("== %s, %s backend, weights %s, %s tolerances\n", cname.c_str(), be->name(), wfile.c_str(), bf16_mode ? "bf16" : "fp32");

    Qwen3Config cfg;
    REQUIRE(qwen3_config_read(gdir + "/config.json", &cfg));
    WeightSet w, gold;
    REQUIRE(safetensors_read_model(gdir, &w, wfile));
    REQUIRE(safetensors_read(gdir + "/golden.safetensors", &gold));
    Json meta;
    REQUIRE(json_read_file(gdir + "/../meta.json", &meta));
    const Json* m = meta.find(cname);
    if (!m) { std::printf("FAIL meta.json has no entry %s\n", cname.c_str()); return 1; }

    // --- bf16 file: every weight must load to exactly the bf16 rounding of the f32 weight
    if (bf16_file) {
        WeightSet w32;
        REQUIRE(safetensors_read_model(gdir, &w32, "model.safetensors"));
        size_t bad = 0, n = 0;
        for (auto& kv : w32.tensors) {
            const Tensor* t = w.find(kv.first);
            if (!t || t->shape != kv.second.shape) { bad++; continue; }
            for (size_t i = 0; i < t->data.size(); i++, n++) {
                float r = bf16_to_f32(f32_to_bf16(kv.second.data[i]));
                if (std::memcmp(&r, &t->data[i], 4) != 0) bad++;
            }
        }
        report("bf16 weights == bf16-rounded f32 weights (" + std::to_string(n) + " values, mismatches)", (double)bad, 0);
    }
    // --- the trainer's path: the file opened lazily, each backend reads it itself; the values must be the same bits
    WeightSet wl;
    REQUIRE(safetensors_open_model(gdir, &wl, wfile));
    {
        size_t bad = 0, n = 0;
        for (auto& kv : w.tensors) {
            const Tensor* t = wl.find(kv.first);
            std::vector<float> v((size_t)kv.second.numel());
            if (!t || !t->lazy || t->shape != kv.second.shape || !tensor_read_f32(wl, *t, v.data()).empty()) { bad++; continue; }
            for (size_t i = 0; i < v.size(); i++, n++) bad += std::memcmp(&v[i], &kv.second.data[i], 4) != 0;
        }
        report("lazily opened weights == read weights (" + std::to_string(n) + " values, mismatches)", (double)bad, 0);
    }

    // --- the golden batch (B=2, T=24): row 1 is right-padded after 18 tokens; targets shifted by one
    const Tensor* ids = gold.find("input_ids");
    const Tensor* am = gold.find("attention_mask");
    const Tensor* lab = gold.find("labels");
    int B = (int)ids->shape[0], T = (int)ids->shape[1], V = cfg.vocab_size, C = cfg.hidden_size;
    std::vector<int32_t> tok(B * T), tgt(B * T, -100), len(B, 0);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)ids->data[i];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            len[b] += am->data[b * T + t] > 0.5f;
            if (t + 1 < T) tgt[b * T + t] = (int32_t)lab->data[b * T + t + 1];
        }
    Batch batch; batch.B = B; batch.T = T; batch.tokens = tok.data(); batch.targets = tgt.data(); batch.lengths = len.data();
    std::vector<bool> valid(B * T);
    for (int i = 0; i < B * T; i++) valid[i] = (i % T) < len[i / T];
    // fp32 mode compares every position (padding rows too: their keys are masked exactly as in HF);
    // bf16 mode compares unmasked positions, as the README's Hugging Face bf16 measurement did.
    const std::vector<bool>* rows = bf16_mode ? &valid : nullptr;

    LoraConfig lc;
    REQUIRE(lora_read_peft_config(gdir + "/adapter_init", &lc));
    lc.dropout = 0.0f;
    REQUIRE(be->init(cfg, lc, wl, 4, 32));   // lazy, as train does (the second backend below gets the read copy)
    LoraLayout L = lora_layout(cfg, lc);
    if (be->lora_param_count() != L.total) { std::printf("FAIL lora_param_count %zu != layout %zu\n", be->lora_param_count(), L.total); return 1; }

    // --- base model: hidden states, logits, loss
    for (int h = 0; h <= cfg.num_hidden_layers; h++) {
        std::vector<float> hs((size_t)B * T * C);
        Status s = be->hidden_states(batch, false, h, hs.data());
        if (!s.empty()) { std::printf("skip hidden_states: %s\n", s.c_str()); break; }
        const Tensor* g = gold.find("base.hidden_states." + std::to_string(h));
        report("base hidden_states." + std::to_string(h), rel_err(hs.data(), g->data.data(), hs.size(), rows, C), tol_logits);
    }
    std::vector<float> lg((size_t)B * T * V);
    check("logits", be->logits(batch, false, lg.data()));
    report("base logits", rel_err(lg.data(), gold.find("base.logits")->data.data(), lg.size(), rows, V), tol_logits);
    {
        double nll = 0; int cnt = 0;
        for (int n = 0; n < B * T; n++) {
            if (tgt[n] == -100) continue;
            const float* r = &lg[(size_t)n * V];
            double mx = r[0], se = 0;
            for (int j = 0; j < V; j++) mx = std::max(mx, (double)r[j]);
            for (int j = 0; j < V; j++) se += std::exp(r[j] - mx);
            nll += mx + std::log(se) - r[tgt[n]]; cnt++;
        }
        double ref = m->find("base_loss")->num;
        report("base loss (from logits)", std::fabs(nll / cnt - ref) / ref, tol_loss);
    }

    // --- with the starting adapter (PEFT's own file, F64): logits, loss and every LoRA gradient
    std::vector<float> p(L.total), gr(L.total);
    REQUIRE(lora_load_peft(gdir + "/adapter_init", L, p.data()));
    REQUIRE(be->set_lora(p.data()));
    check("logits", be->logits(batch, true, lg.data()));
    report("logits with the starting adapter", rel_err(lg.data(), gold.find("lora.step0.logits")->data.data(), lg.size(), rows, V), tol_lora_logits);

    const Json* steps = m->find("lora_steps");
    int64_t nlab_expected = 0;
    for (int32_t y : tgt) nlab_expected += y != -100;
    AdamWParams opt;
    double lr0 = 1e-3;
    for (int s = 0; s < 3; s++) {
        double loss_sum = 0, norm = 0;
        int64_t nlab = 0;
        check("zero_grad", be->zero_grad());
        check("forward_backward", be->forward_backward(batch, 1.0f / (float)nlab_expected, 1234 + s, &loss_sum, &nlab));
        if (nlab != nlab_expected) { std::printf("FAIL label count %lld != %lld\n", (long long)nlab, (long long)nlab_expected); g_fail++; }
        const Json& st = steps->arr[s];
        report("step " + std::to_string(s) + " loss", std::fabs(loss_sum / nlab - st.find("loss")->num) / st.find("loss")->num, tol_loss);
        if (s == 0) {
            check("get_grad", be->get_grad(gr.data()));
            double worst = 0;
            std::string worst_name;
            for (auto& sl : L.slots) {
                for (int isb = 0; isb < 2; isb++) {
                    std::string key = lora_peft_key(sl.layer, sl.target, isb, true);
                    const Tensor* g = gold.find("grad." + key);
                    if (!g) { std::printf("FAIL golden has no grad.%s\n", key.c_str()); g_fail++; continue; }
                    size_t off = isb ? sl.b_off : sl.a_off;
                    double e = rel_err(&gr[off], g->data.data(), g->data.size());
                    if (e > tol_grad || !std::isfinite(e)) report("grad " + key, e, tol_grad);
                    if (e > worst) { worst = e; worst_name = key; }
                }
            }
            report("every LoRA gradient (" + std::to_string(2 * L.slots.size()) + " tensors), worst " +
                   worst_name.substr(worst_name.find("layers.") + 7), worst, tol_grad);
        }
        check("grad_norm", be->grad_norm(&norm));
        report("step " + std::to_string(s) + " grad_norm (before clipping)", std::fabs(norm - st.find("grad_norm")->num) / st.find("grad_norm")->num, tol_grad);
        float mult = (float)std::min(1.0, 1.0 / (norm + 1e-6));   // torch clip_grad_norm_(1.0)
        float lr = (float)(lr0 * (3 - s) / 3.0);
        check("adamw_step", be->adamw_step(opt, lr, mult, s + 1));
    }
    check("get_lora", be->get_lora(p.data()));
    {
        double worst = 0;
        for (auto& sl : L.slots)
            for (int isb = 0; isb < 2; isb++) {
                const Tensor* g = gold.find("after3." + lora_peft_key(sl.layer, sl.target, isb, true));
                size_t off = isb ? sl.b_off : sl.a_off;
                worst = std::max(worst, rel_err(&p[off], g->data.data(), g->data.size()));
            }
        report("LoRA weights after 3 AdamW steps (worst tensor)", worst, tol_after3);
    }

    // --- greedy generation with PEFT's adapter after 3 steps (eos suppressed, as min_new_tokens=8 did)
    REQUIRE(lora_load_peft(gdir + "/adapter_after3", L, p.data()));
    REQUIRE(be->set_lora(p.data()));
    const Tensor* gp = gold.find("gen.prompt");
    const Tensor* go = gold.find("gen.output_ids");
    const Tensor* gl = gold.find("gen.logits");
    std::vector<std::vector<int32_t>> prompts(1), out;
    for (float v : gp->data) prompts[0].push_back((int32_t)v);
    GenerateOptions gopt;
    gopt.max_new_tokens = (int)(go->shape[1] - gp->shape[1]);
    gopt.min_new_tokens = gopt.max_new_tokens;
    gopt.stop_ids = {cfg.eos_token_id};
    REQUIRE(greedy_generate(*be, V, prompts, gopt, &out));
    int P = (int)gp->shape[1], G = (int)go->shape[1];
    int equal = 0;
    bool near_tie_ok = true;
    for (int k = 0; k < (int)out[0].size(); k++) {
        int ref = (int)go->data[P + k], got = out[0][k];
        if (ref == got) { equal++; continue; }
        // parted: acceptable only in bf16 mode and only at a near-tie of the golden logits
        const float* row = &gl->data[(size_t)(P + k - 1) * V];
        double rms = 0;
        for (int j = 0; j < V; j++) rms += (double)row[j] * row[j];
        rms = std::sqrt(rms / V);
        double gap = row[ref] - row[got];
        near_tie_ok = bf16_mode && gap <= 2.0 * tol_lora_logits * rms;
        std::printf("     generation parts at new token %d: golden %d, ours %d, golden logit gap %.4f (rms %.3f)\n", k, ref, got, gap, rms);
        break;
    }
    report("greedy ids: new tokens equal to golden (" + std::to_string(equal) + "/" + std::to_string(G - P) + "), mismatch count",
           (double)((G - P) - equal) * (near_tie_ok ? 0 : 1), 0);
    {
        std::vector<int32_t> gt(G), gl_len{G};
        for (int k = 0; k < G; k++) gt[k] = (int32_t)go->data[k];
        Batch gb; gb.B = 1; gb.T = G; gb.tokens = gt.data(); gb.lengths = gl_len.data();
        std::vector<float> lo((size_t)G * V);
        check("logits", be->logits(gb, true, lo.data()));
        report("logits of the generated sequence (adapter after 3 steps)", rel_err(lo.data(), gl->data.data(), lo.size()), tol_lora_logits);
    }

    // --- adapter file: our PEFT export has PEFT's keys and shapes, and our adapter_config.json its fields
    if (backend == "cpu") {
        std::string tmp = "/tmp/qwen3_lora_test_adapter_" + cname + "_" + std::to_string(::getpid());
        REQUIRE(lora_save_peft(tmp, L, lc, p.data(), ""));
        WeightSet mine, theirs;
        REQUIRE(safetensors_read(tmp + "/adapter_model.safetensors", &mine));
        REQUIRE(safetensors_read(gdir + "/adapter_init/adapter_model.safetensors", &theirs));
        int diff = mine.tensors.size() != theirs.tensors.size();
        for (auto& kv : theirs.tensors) {
            const Tensor* t = mine.find(kv.first);
            if (!t || t->shape != kv.second.shape) { diff++; std::printf("     key/shape differs: %s\n", kv.first.c_str()); }
            else if (t->src_dtype != "F32") diff++;
        }
        report("adapter keys/shapes identical to PEFT's (" + std::to_string(theirs.tensors.size()) + " tensors), differences", diff, 0);
        Json a, b;
        REQUIRE(json_read_file(tmp + "/adapter_config.json", &a));
        REQUIRE(json_read_file(gdir + "/adapter_init/adapter_config.json", &b));
        int fd = a.obj.size() != b.obj.size();
        for (auto& kv : b.obj) if (!a.find(kv.first)) { fd++; std::printf("     adapter_config.json lacks %s\n", kv.first.c_str()); }
        for (const char* k : {"r", "lora_alpha", "peft_type", "task_type"}) if (a.find(k)->dump() != b.find(k)->dump()) fd++;
        report("adapter_config.json fields as PEFT's, differences", fd, 0);
        std::string rm = "rm -rf '" + tmp + "'";
        if (std::system(rm.c_str()) != 0) std::printf("warning: could not remove %s\n", tmp.c_str());
    }

    // --- LoRA dropout (no golden data: PEFT's is random): the gradient must be the derivative of the loss
    // that the same seed gives, checked by central differences along the gradient and along a random direction.
    if (backend == "cpu" && !bf16_file) {
        LoraConfig ld = lc;
        ld.dropout = 0.3f;
        auto bd = make_cpu_backend(threads);
        REQUIRE(bd->init(cfg, ld, w, 4, 32));
        REQUIRE(lora_load_peft(gdir + "/adapter_init", L, p.data()));
        auto loss_at = [&](const std::vector<float>& q, uint64_t seed, double* out) {
            double ls; int64_t nl;
            Status s = bd->set_lora(q.data());
            if (s.empty()) s = bd->zero_grad();
            if (s.empty()) s = bd->forward_backward(batch, 1.0f / (float)nlab_expected, seed, &ls, &nl);
            *out = ls / (double)nl;
            return s;
        };
        double l0, l1, l_other;
        REQUIRE(loss_at(p, 77, &l0));
        REQUIRE(bd->get_grad(gr.data()));
        REQUIRE(loss_at(p, 77, &l1));
        REQUIRE(loss_at(p, 78, &l_other));
        report("dropout: same seed, same loss (|difference|)", std::fabs(l1 - l0), 0);
        std::printf("     dropout 0.3 loss: seed 77 %.6f, seed 78 %.6f, no dropout %.6f\n", l0, l_other, steps->arr[0].find("loss")->num);
        if (l_other == l0) { std::printf("FAIL dropout: another seed gives the same loss\n"); g_fail++; }
        std::vector<float> dir(L.total);
        uint64_t st = 12345;
        for (int which = 0; which < 2; which++) {
            double n2 = 0, gd = 0;
            for (size_t i = 0; i < L.total; i++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                dir[i] = which == 0 ? gr[i] : (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
                n2 += (double)dir[i] * dir[i];
            }
            for (size_t i = 0; i < L.total; i++) { dir[i] = (float)(dir[i] / std::sqrt(n2)); gd += (double)gr[i] * dir[i]; }
            const float h = 1e-2f;
            std::vector<float> qp(p), qm(p);
            for (size_t i = 0; i < L.total; i++) { qp[i] += h * dir[i]; qm[i] -= h * dir[i]; }
            double lp, lm;
            REQUIRE(loss_at(qp, 77, &lp));
            REQUIRE(loss_at(qm, 77, &lm));
            double fd = (lp - lm) / (2.0 * h);
            report(std::string("dropout 0.3: gradient vs central difference along ") + (which ? "a random direction" : "the gradient"),
                   std::fabs(fd - gd) / std::max(std::fabs(gd), 1e-3), which ? 2e-2 : 2e-3);
        }
    }

    std::printf("== %s: %s\n", cname.c_str(), g_fail ? "FAILED" : "passed");
    return g_fail ? 1 : 0;
}

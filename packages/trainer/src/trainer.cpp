// Training loop: each optimizer step takes micro_batch * accum samples; its loss is the sum of NLL over all
// label tokens of those samples divided by their count (grad_scale = 1/count in every micro-batch).
// Gradient norm clipped at 1.0 (reported before clipping); lr linear from lr to 0 over all steps (no warm-up).
// Shuffling and dropout are pure functions of (seed, epoch, step), so a resumed run replays the same order.
#include "trainer.h"
#include <algorithm>
#include <chrono>
#include <map>
#include <cmath>
#include <numeric>
#include <random>
#include "config.h"
#include "dataset.h"
#include "generate.h"
#include "json.h"
#include "log.h"
#include "lora.h"
#include "safetensors.h"

void group_by_length(std::vector<int>* order, int first, int last, const Dataset& ds) {
    std::stable_sort(order->begin() + first, order->begin() + last,
                     [&](int a, int b) { return ds.samples[a].tokens.size() > ds.samples[b].tokens.size(); });
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Start-up phases (command start to the first step) for the "startup" event; milliseconds, in order.
struct StartupClock {
    Clock::time_point t0 = Clock::now(), last = t0;
    Json phases = Json::object();
    double weights_mib = 0;   // base weights as stored in the checkpoint
    static double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
    void mark(const std::string& name) {
        auto now = Clock::now();
        phases.set(name, ms(last, now));
        last = now;
    }
    // The backend's own split of init (read, upload, checks); what it does not account for is "backend_init_rest".
    void mark_backend(const Backend& be) {
        auto now = Clock::now();
        double sum = 0;
        for (auto& p : be.init_phases_ms()) { phases.set(p.first, p.second); sum += p.second; }
        phases.set(sum > 0 ? "backend_init_rest" : "backend_init", std::max(0.0, ms(last, now) - sum));
        last = now;
    }
    void note_weights(const WeightSet& ws) {
        weights_mib = 0;
        for (auto& kv : ws.tensors) weights_mib += (double)kv.second.numel() * dtype_bytes(kv.second.src_dtype) / (1 << 20);
    }
    void emit() {
        Json ev = Json::object();
        ev.set("phases_ms", phases);
        ev.set("total_ms", ms(t0, Clock::now()));
        ev.set("weights_mib", weights_mib);
        log_event("startup", ev);
    }
};

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

const int32_t kImEnd = 151645, kEndOfText = 151643;

struct Model {
    Qwen3Config cfg;
    WeightSet weights;
    std::unique_ptr<Backend> be;
};

// Config and checkpoint headers only: the backend reads the values straight into its own buffers (init).
Status load_model(const std::string& dir, const std::string& wfile, Qwen3Config* cfg, WeightSet* ws) {
    Status e = qwen3_config_read(dir, cfg);
    if (!e.empty()) return e;
    log_info("loading weights from %s", dir.c_str());
    e = safetensors_open_model(dir, ws, wfile);
    if (!e.empty()) return e;
    for (auto& s : qwen3_weight_specs(*cfg)) {
        const Tensor* t;
        if (!(e = ws->get(s.name, s.shape, &t)).empty()) return e + " (config.json: " + dir + "/config.json)";
    }
    return "";
}

Status make_backend(const std::string& device, int threads, std::unique_ptr<Backend>* be) {
    if (device == "cpu") { *be = make_cpu_backend(threads); return ""; }
    if (device == "cuda") {
        std::string why;
        *be = make_cuda_backend(&why);
        return *be ? "" : "--device cuda: " + why;
    }
    return "unknown --device '" + device + "' (cpu or cuda)";
}

// Right-padded micro-batch with shifted targets: targets[t] = labels[t+1].
struct HostBatch {
    std::vector<int32_t> tok, tgt, len;
    Batch view(int B, int T) { Batch b; b.B = B; b.T = T; b.tokens = tok.data(); b.targets = tgt.data(); b.lengths = len.data(); return b; }
};
int64_t fill_batch(const Dataset& ds, const std::vector<int>& idx, int pad, HostBatch* hb, int* T_out) {
    int B = (int)idx.size(), T = 1;
    for (int i : idx) T = std::max(T, (int)ds.samples[i].tokens.size());
    hb->tok.assign((size_t)B * T, pad); hb->tgt.assign((size_t)B * T, -100); hb->len.assign(B, 0);
    int64_t n = 0;
    for (int r = 0; r < B; r++) {
        const Sample& s = ds.samples[idx[r]];
        int L = (int)s.tokens.size();
        hb->len[r] = L;
        for (int t = 0; t < L; t++) {
            hb->tok[(size_t)r * T + t] = s.tokens[t];
            if (t + 1 < L) { hb->tgt[(size_t)r * T + t] = s.labels[t + 1]; n += s.labels[t + 1] != -100; }
        }
    }
    *T_out = T;
    return n;
}

// Classic cut: keep the first max_len tokens (the answer of a longer sample is lost with it).
int truncate_dataset(Dataset* ds, int max_len) {
    int cut = 0;
    for (auto& s : ds->samples)
        if ((int)s.tokens.size() > max_len) {
            s.tokens.resize(max_len); s.labels.resize(max_len);
            s.prompt_len = std::min(s.prompt_len, max_len);
            cut++;
        }
    return cut;
}

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool is_stop(int32_t id, int eos) { return id == kImEnd || id == kEndOfText || id == eos; }

// Greedy answers for ds samples (batched), one prediction event each. Returns accuracy via *correct.
Status predict(Backend& be, const Qwen3Config& cfg, const Dataset& ds, int limit, int micro, int max_new, int* n_correct, int* n_total) {
    int n = (int)ds.samples.size();
    if (limit >= 0) n = std::min(n, limit);
    *n_correct = 0; *n_total = n;
    GenerateOptions g;
    g.max_new_tokens = max_new;
    g.stop_ids = {kImEnd, kEndOfText};
    if (cfg.eos_token_id != kImEnd && cfg.eos_token_id != kEndOfText) g.stop_ids.push_back(cfg.eos_token_id);
    g.pad_id = cfg.pad_token_id >= 0 && cfg.pad_token_id < cfg.vocab_size ? cfg.pad_token_id : 0;
    for (int s0 = 0; s0 < n; s0 += micro) {
        std::vector<std::vector<int32_t>> prompts, outs;
        for (int i = s0; i < std::min(n, s0 + micro); i++) {
            const Sample& s = ds.samples[i];
            prompts.emplace_back(s.tokens.begin(), s.tokens.begin() + std::max(1, s.prompt_len));
        }
        Status e = greedy_generate(be, cfg.vocab_size, prompts, g, &outs);
        if (!e.empty()) return e;
        for (size_t k = 0; k < outs.size(); k++) {
            int i = s0 + (int)k;
            const Sample& s = ds.samples[i];
            std::vector<int32_t> ans, ref;
            for (int32_t id : outs[k]) { if (is_stop(id, cfg.eos_token_id)) break; ans.push_back(id); }
            for (size_t t = s.prompt_len; t < s.tokens.size(); t++) {
                if (s.labels[t] == -100) continue;
                if (is_stop(s.tokens[t], cfg.eos_token_id)) break;
                ref.push_back(s.tokens[t]);
            }
            std::string text = ds.decode_ids(ans);
            bool ok = ds.decode.empty() || s.label_text.empty() ? ans == ref : trim(text) == trim(s.label_text);
            *n_correct += ok;
            Json ids = Json::array();
            for (int32_t id : outs[k]) ids.push(Json((int64_t)id));
            Json ev = Json::object();
            ev.set("index", i);
            ev.set("prompt", s.prompt_text);
            ev.set("output", text);
            ev.set("output_ids", ids);
            ev.set("label", s.label_text.empty() ? ds.decode_ids(ref) : s.label_text);
            ev.set("correct", ok);
            log_event("prediction", ev);
        }
    }
    return "";
}

int max_prompt_len(const Dataset& ds, int limit) {
    int m = 1, n = (int)ds.samples.size();
    if (limit >= 0) n = std::min(n, limit);
    for (int i = 0; i < n; i++) m = std::max(m, ds.samples[i].prompt_len);
    return m;
}

}  // namespace

// ----------------------------------------------------------------------------

Status run_train(const TrainOptions& o) {
    auto t_start = Clock::now();
    StartupClock sc;
    if (o.model.empty() || o.data.empty() || o.out.empty()) return "train needs --model DIR --data FILE --out DIR";
    if (o.micro_batch < 1 || o.accum < 1 || o.epochs < 1 || o.max_len < 2) return "--micro-batch, --accum, --epochs must be >= 1 and --max-len >= 2";
    if (o.schedule != "linear" && o.schedule != "constant") return "unknown --schedule '" + o.schedule + "' (linear or constant)";
    Model m;
    Status e = load_model(o.model, o.weights_file, &m.cfg, &m.weights);
    if (!e.empty()) return e;
    sc.note_weights(m.weights);
    sc.mark("model_open");
    const Qwen3Config& cfg = m.cfg;
    Dataset train, eval;
    if (!(e = dataset_read(o.data, &train)).empty()) return e;
    if (!(e = dataset_check_vocab(train, cfg.vocab_size)).empty()) return e;
    int cut = truncate_dataset(&train, o.max_len);
    if (cut) log_info("warning: %d training samples longer than --max-len %d were cut from the right", cut, o.max_len);
    if (!o.eval.empty()) {
        if (!(e = dataset_read(o.eval, &eval)).empty()) return e;
        if (!(e = dataset_check_vocab(eval, cfg.vocab_size)).empty()) return e;
    }

    // LoRA config: flags, or the adapter we start from / resume from
    LoraConfig lc = o.lora;
    std::string adapter_src = !o.resume.empty() ? o.resume : o.init_adapter;
    if (!adapter_src.empty()) {
        float drop = lc.dropout;
        if (!(e = lora_read_peft_config(adapter_src, &lc)).empty()) return e;
        lc.dropout = drop;   // dropout is a training choice, not part of the adapter
    }
    LoraLayout L = lora_layout(cfg, lc);
    int pad = cfg.pad_token_id >= 0 && cfg.pad_token_id < cfg.vocab_size ? cfg.pad_token_id : 0;
    int max_T = 1;
    for (auto& s : train.samples) max_T = std::max(max_T, (int)s.tokens.size());
    if (!eval.samples.empty()) max_T = std::max(max_T, max_prompt_len(eval, o.eval_limit) + o.max_new_tokens);
    sc.mark("data");

    if (!(e = make_backend(o.device, o.threads, &m.be)).empty()) return e;
    Backend& be = *m.be;
    sc.mark("backend_create");
    if (!(e = be.set_recompute(o.recompute)).empty()) return e;
    if (!(e = be.init(cfg, lc, m.weights, std::max(o.micro_batch, 1), max_T)).empty()) return e;
    m.weights.tensors.clear();   // the backend holds its own copy
    sc.mark_backend(be);

    std::vector<float> p(L.total), mom(L.total, 0.0f), var(L.total, 0.0f);
    TrainerState st;
    if (!o.resume.empty()) {
        if (!(e = checkpoint_load(o.resume, L, p.data(), mom.data(), var.data(), &st)).empty()) return e;
        if (!(e = be.set_optimizer_state(mom.data(), var.data())).empty()) return e;
        log_info("resumed from %s at step %lld", o.resume.c_str(), (long long)st.step);
    } else if (!o.init_adapter.empty()) {
        if (!(e = lora_load_peft(o.init_adapter, L, p.data())).empty()) return e;
    } else {
        lora_init(L, o.seed, p.data());
    }
    if (!(e = be.set_lora(p.data())).empty()) return e;
    sc.mark("lora_init");

    const int n = (int)train.samples.size(), per_step = o.micro_batch * o.accum;
    const int64_t steps_per_epoch = (n + per_step - 1) / per_step;
    int64_t total_steps = steps_per_epoch * o.epochs;
    if (o.max_steps >= 0) total_steps = std::min(total_steps, o.max_steps);
    st.total_steps = total_steps;
    st.seed = o.seed;

    int64_t base_params = 0;
    for (auto& s : qwen3_weight_specs(cfg)) { int64_t k = 1; for (auto d : s.shape) k *= d; base_params += k; }
    Json start = Json::object();
    Json c = Json::object();
    c.set("model", o.model); c.set("data", o.data); c.set("eval", o.eval); c.set("out", o.out);
    c.set("device", be.name()); c.set("lr", o.lr); c.set("epochs", o.epochs); c.set("micro_batch", o.micro_batch);
    c.set("accum", o.accum); c.set("lora_r", lc.r); c.set("lora_alpha", (double)lc.alpha); c.set("lora_dropout", (double)lc.dropout);
    Json tg = Json::array();
    for (int t = 0; t < LORA_NUM_TARGETS; t++) if (lc.has((LoraTarget)t)) tg.push(lora_target_name(t));
    c.set("targets", tg); c.set("max_len", o.max_len); c.set("seed", (int64_t)o.seed); c.set("schedule", o.schedule);
    c.set("recompute", o.recompute); c.set("shuffle", o.shuffle); c.set("save_every", o.save_every);
    c.set("hidden_size", cfg.hidden_size); c.set("num_hidden_layers", cfg.num_hidden_layers); c.set("vocab_size", cfg.vocab_size);
    start.set("config", c);
    start.set("base_params", base_params);
    start.set("trainable_params", (int64_t)L.total);
    start.set("train_samples", n);
    start.set("eval_samples", (int)eval.samples.size());
    start.set("total_steps", total_steps);
    start.set("start_step", st.step);
    log_event("start", start);
    sc.emit();
    log_info("%d samples, %lld steps of %d samples, %zu LoRA parameters, backend %s", n, (long long)total_steps, per_step, L.total, be.name());

    // ------------------------------------------------------------------------
    AdamWParams opt;
    std::vector<int> order(n);
    int64_t cur_epoch = -1;
    double last_loss = 0.0;
    HostBatch hb;
    for (int64_t step = st.step; step < total_steps; step++) {
        auto t0 = Clock::now();
        int64_t epoch = step / steps_per_epoch, in_epoch = step % steps_per_epoch;
        if (epoch != cur_epoch) {
            std::iota(order.begin(), order.end(), 0);
            if (o.shuffle) { std::mt19937_64 rng(mix64(o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch + 1)); std::shuffle(order.begin(), order.end(), rng); }
            cur_epoch = epoch;
        }
        int first = (int)(in_epoch * per_step), last = std::min(n, first + per_step);
        group_by_length(&order, first, last, train);
        // label tokens of the whole step first: every micro-batch scales by 1/count of the step
        int64_t step_labels = 0, step_tokens = 0;
        for (int i = first; i < last; i++) {
            const Sample& s = train.samples[order[i]];
            step_tokens += (int64_t)s.tokens.size();
            for (size_t t = 1; t < s.tokens.size(); t++) step_labels += s.labels[t] != -100;
        }
        if (!(e = be.zero_grad()).empty()) return e;
        double loss_sum = 0.0;
        float scale = step_labels > 0 ? 1.0f / (float)step_labels : 0.0f;
        for (int mb = first, k = 0; mb < last; mb += o.micro_batch, k++) {
            std::vector<int> idx(order.begin() + mb, order.begin() + std::min(last, mb + o.micro_batch));
            int T;
            fill_batch(train, idx, pad, &hb, &T);
            double ls = 0; int64_t nl = 0;
            uint64_t dseed = mix64(o.seed ^ mix64((uint64_t)step * 1000003ull + (uint64_t)k));
            if (!(e = be.forward_backward(hb.view((int)idx.size(), T), scale, dseed, &ls, &nl)).empty()) return e;
            loss_sum += ls;
        }
        double norm = 0.0;
        if (!(e = be.grad_norm(&norm)).empty()) return e;
        if (!std::isfinite(norm)) return "gradient norm is not finite at step " + std::to_string(step + 1);
        double lr = o.schedule == "linear" ? o.lr * (double)(total_steps - step) / (double)total_steps : o.lr;
        float mult = (float)std::min(1.0, 1.0 / (norm + 1e-6));
        if (step_labels > 0) {   // a step without label tokens has nothing to learn: no update, loss 0 (not NaN)
            st.optimizer_steps++;    // AdamW bias correction counts updates, not steps
            if (!(e = be.adamw_step(opt, (float)lr, mult, (int)st.optimizer_steps)).empty()) return e;
        }
        last_loss = step_labels > 0 ? loss_sum / (double)step_labels : 0.0;
        double dt = seconds_since(t0);
        st.step = step + 1; st.epoch = epoch;
        Json ev = Json::object();
        ev.set("step", st.step);
        ev.set("epoch", (double)st.step / (double)steps_per_epoch);
        ev.set("loss", last_loss);
        ev.set("grad_norm", norm);
        ev.set("learning_rate", lr);
        ev.set("tokens_per_s", dt > 0 ? (double)step_tokens / dt : 0.0);
        ev.set("label_tokens", step_labels);
        log_event("step", ev);
        if (st.step % 10 == 0 || st.step == total_steps)
            log_info("step %lld/%lld loss %.4f grad_norm %.3f lr %.3g", (long long)st.step, (long long)total_steps, last_loss, norm, lr);
        if (o.save_every > 0 && st.step % o.save_every == 0 && st.step < total_steps) {
            std::string dir = o.out + "/checkpoint-" + std::to_string(st.step);
            if (!(e = be.get_lora(p.data())).empty()) return e;
            if (!(e = be.get_optimizer_state(mom.data(), var.data())).empty()) return e;
            if (!(e = checkpoint_save(dir, L, lc, p.data(), mom.data(), var.data(), st, o.model)).empty()) return e;
            Json ck = Json::object(); ck.set("step", st.step); ck.set("path", dir);
            log_event("checkpoint", ck);
        }
    }

    std::string profile = be.take_profile();   // TRAINER_PROFILE=1 (CUDA): where a step's GPU time goes
    if (!profile.empty()) {
        Json pj;
        if (json_parse(profile, &pj).empty()) log_event("profile", pj);
    }
    std::string adir = o.out + "/adapter";
    if (!(e = be.get_lora(p.data())).empty()) return e;
    if (!(e = lora_save_peft(adir, L, lc, p.data(), o.model)).empty()) return e;
    log_info("adapter saved to %s", adir.c_str());
    double train_s = seconds_since(t_start);

    if (!eval.samples.empty()) {
        int correct = 0, total = 0;
        auto t0 = Clock::now();
        if (!(e = predict(be, cfg, eval, o.eval_limit, o.micro_batch, o.max_new_tokens, &correct, &total)).empty()) return e;
        Json ev = Json::object();
        ev.set("correct", correct); ev.set("total", total);
        ev.set("accuracy", total ? (double)correct / total : 0.0);
        ev.set("runtime_s", seconds_since(t0));
        log_event("eval", ev);
        log_info("eval: %d/%d correct", correct, total);
    }
    Json done = Json::object();
    done.set("runtime_s", seconds_since(t_start));
    done.set("train_runtime_s", train_s);
    done.set("steps", st.step);
    done.set("final_loss", last_loss);
    done.set("adapter_path", adir);
    log_event("done", done);
    return "";
}

Status run_generate(const GenerateCmdOptions& o) {
    auto t_start = Clock::now();
    StartupClock sc;
    if (o.model.empty() || o.data.empty()) return "generate needs --model DIR --data FILE [--adapter DIR]";
    Qwen3Config cfg;
    WeightSet ws;
    Status e = load_model(o.model, o.weights_file, &cfg, &ws);
    if (!e.empty()) return e;
    sc.note_weights(ws);
    sc.mark("model_open");
    Dataset ds;
    if (!(e = dataset_read(o.data, &ds)).empty()) return e;
    if (!(e = dataset_check_vocab(ds, cfg.vocab_size)).empty()) return e;
    sc.mark("data");
    LoraConfig lc;
    if (!o.adapter.empty() && !(e = lora_read_peft_config(o.adapter, &lc)).empty()) return e;
    lc.dropout = 0.0f;
    LoraLayout L = lora_layout(cfg, lc);
    std::unique_ptr<Backend> be;
    if (!(e = make_backend(o.device, o.threads, &be)).empty()) return e;
    sc.mark("backend_create");
    if (!(e = be->init(cfg, lc, ws, o.micro_batch, max_prompt_len(ds, o.limit) + o.max_new_tokens)).empty()) return e;
    ws.tensors.clear();
    sc.mark_backend(*be);
    std::vector<float> p(L.total, 0.0f);   // no adapter: B = 0 gives the base model
    if (!o.adapter.empty() && !(e = lora_load_peft(o.adapter, L, p.data())).empty()) return e;
    if (!(e = be->set_lora(p.data())).empty()) return e;
    sc.mark("lora_init");
    Json start = Json::object();
    Json c = Json::object();
    c.set("model", o.model); c.set("adapter", o.adapter); c.set("data", o.data); c.set("device", be->name());
    c.set("max_new_tokens", o.max_new_tokens);
    start.set("config", c);
    start.set("trainable_params", (int64_t)L.total);
    log_event("start", start);
    sc.emit();
    int correct = 0, total = 0;
    if (!(e = predict(*be, cfg, ds, o.limit, o.micro_batch, o.max_new_tokens, &correct, &total)).empty()) return e;
    Json ev = Json::object();
    ev.set("correct", correct); ev.set("total", total); ev.set("accuracy", total ? (double)correct / total : 0.0);
    log_event("eval", ev);
    Json done = Json::object();
    done.set("runtime_s", seconds_since(t_start));
    done.set("adapter_path", o.adapter);
    log_event("done", done);
    return "";
}

// Random weights with unit-scale statistics (as the golden models): linear N(0, init_scale^2/fan_in), norms 1,
// embedding N(0, embed_scale^2/hidden) (see trainer.h). Not a language model, but activations are far from zero.
// Value k of a tensor is a pure function of (seed, tensor name, k), so the file is the same for any --threads.
namespace {

// Standard normals number 2j and 2j+1 of stream `key`: Marsaglia's polar method on counter-based uniforms
// (attempt a of pair j hashes (key, j, a)), so any split of a tensor into blocks yields the same values.
void normal_pair(uint64_t key, uint64_t j, float* z0, float* z1) {
    const uint64_t base = mix64(key ^ mix64(j + 0x632BE59BD9B4E019ull));
    for (uint64_t a = 0;; a++) {
        uint64_t r = mix64(base + a * 0x9E3779B97F4A7C15ull);
        float u = (float)(r >> 40) * (2.0f / 16777216.0f) - 1.0f;               // 24 bits each, in [-1, 1)
        float v = (float)((r >> 16) & 0xFFFFFFu) * (2.0f / 16777216.0f) - 1.0f;
        float q = u * u + v * v;
        if (q > 0.0f && q < 1.0f) {
            float f = std::sqrt(-2.0f * std::log(q) / q);
            *z0 = u * f; *z1 = v * f;
            return;
        }
    }
}

}  // namespace

Status run_init_random(const InitRandomOptions& o) {
    Qwen3Config cfg;
    if (!qwen3_config_preset(o.config, &cfg)) return "unknown --config '" + o.config + "' (tiny, tiny_hd128, qwen3-1.7b)";
    if (o.out.empty()) return "init-random needs --out DIR";
    if (o.dtype != "bf16" && o.dtype != "f32") return "unknown --dtype '" + o.dtype + "' (bf16 or f32)";
    if (!make_dirs(o.out)) return "cannot create directory " + o.out;
    Status e = qwen3_config_write(o.out + "/config.json", cfg);
    if (!e.empty()) return e;
    std::vector<TensorSpec> specs;
    struct Dist { uint64_t key; float sd; bool ones; };
    std::vector<Dist> dist;
    int64_t count = 0;
    for (auto& s : qwen3_weight_specs(cfg)) {
        uint64_t h = 1469598103934665603ull;   // FNV-1a of the name: each tensor its own stream
        for (char ch : s.name) h = (h ^ (uint8_t)ch) * 1099511628211ull;
        bool embed = s.name.find("embed_tokens") != std::string::npos || s.name == "lm_head.weight";
        bool ones = s.name.find("norm") != std::string::npos;
        float sd = ones ? 0.0f : (embed ? o.embed_scale : o.init_scale) / std::sqrt((float)s.shape[1]);
        dist.push_back({mix64(o.seed * 0x9E3779B97F4A7C15ull ^ h), sd, ones});
        specs.push_back({s.name, s.shape});
        int64_t n = 1;
        for (auto d : s.shape) n *= d;
        count += n;
    }
    auto fill = [&](size_t i, int64_t begin, int64_t n, float* out) {
        const Dist& d = dist[i];
        if (d.ones) { std::fill(out, out + n, 1.0f); return; }
        for (int64_t k = begin; k < begin + n;) {
            float z[2];
            normal_pair(d.key, (uint64_t)k >> 1, &z[0], &z[1]);
            for (int64_t q = k & 1; q < 2 && k < begin + n; q++, k++) out[k - begin] = z[q] * d.sd;
        }
    };
    e = safetensors_write_generated(o.out + "/model.safetensors", specs, o.dtype == "bf16", fill, o.threads);
    if (!e.empty()) return e;
    Json done = Json::object();
    done.set("path", o.out); done.set("config", o.config); done.set("params", count); done.set("dtype", o.dtype);
    log_event("done", done);
    return "";
}

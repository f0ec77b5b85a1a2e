// LoRA layout, PEFT-compatible init and adapter files, checkpoints.
#include "lora.h"
#include "json.h"
#include "safetensors.h"
#include <cerrno>
#include <cmath>
#include <fstream>
#include <map>
#include <sys/stat.h>

static const char* kNames[LORA_NUM_TARGETS] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
static const char* kShort[LORA_NUM_TARGETS] = {"q", "k", "v", "o", "gate", "up", "down"};

const char* lora_target_name(int t) { return kNames[t]; }
const char* lora_target_module(int t) { return t <= LORA_O ? "self_attn" : "mlp"; }

void lora_target_dims(const Qwen3Config& c, int t, int* in, int* out) {
    int C = c.hidden_size, Q = c.num_attention_heads * c.head_dim, KV = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
    switch (t) {
        case LORA_Q: *in = C; *out = Q; break;
        case LORA_K: case LORA_V: *in = C; *out = KV; break;
        case LORA_O: *in = Q; *out = C; break;
        case LORA_GATE: case LORA_UP: *in = C; *out = I; break;
        default: *in = I; *out = C; break;
    }
}

LoraLayout lora_layout(const Qwen3Config& c, const LoraConfig& lc) {
    LoraLayout L;
    L.r = lc.r;
    L.slot_of.assign((size_t)c.num_hidden_layers * LORA_NUM_TARGETS, -1);
    for (int l = 0; l < c.num_hidden_layers; l++)
        for (int t = 0; t < LORA_NUM_TARGETS; t++) {
            if (!lc.has((LoraTarget)t)) continue;
            LoraSlot s; s.layer = l; s.target = t;
            lora_target_dims(c, t, &s.in, &s.out);
            s.a_off = L.total; L.total += (size_t)lc.r * s.in;
            s.b_off = L.total; L.total += (size_t)s.out * lc.r;
            L.slot_of[(size_t)l * LORA_NUM_TARGETS + t] = (int)L.slots.size();
            L.slots.push_back(s);
        }
    return L;
}

std::string lora_peft_key(int layer, int t, bool is_b, bool in_memory) {
    return "base_model.model.model.layers." + std::to_string(layer) + "." + lora_target_module(t) + "." + kNames[t] +
           (is_b ? ".lora_B" : ".lora_A") + (in_memory ? ".default" : "") + ".weight";
}

std::string lora_parse_targets(const std::string& list, uint32_t* mask) {
    *mask = 0;
    size_t p = 0;
    while (p <= list.size()) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        std::string w = list.substr(p, q - p);
        if (!w.empty()) {
            int found = -1;
            for (int t = 0; t < LORA_NUM_TARGETS; t++) if (w == kShort[t] || w == kNames[t]) found = t;
            if (found < 0) return "unknown LoRA target '" + w + "' (use q,k,v,o,gate,up,down)";
            *mask |= 1u << found;
        }
        p = q + 1;
    }
    return *mask ? "" : "no LoRA targets given";
}

// splitmix64: a small, well-mixed counter-based generator (same stream on every platform).
static uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void lora_init(const LoraLayout& L, uint64_t seed, float* p) {
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
    for (auto& sl : L.slots) {
        float bound = 1.0f / std::sqrt((float)sl.in);   // kaiming_uniform_(a=sqrt(5)) on (r, in)
        for (size_t i = 0; i < (size_t)L.r * sl.in; i++) {
            double u = (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
            p[sl.a_off + i] = (float)((2.0 * u - 1.0) * bound);
        }
        for (size_t i = 0; i < (size_t)sl.out * L.r; i++) p[sl.b_off + i] = 0.0f;
    }
}

bool make_dirs(const std::string& path) {
    for (size_t p = 1; p <= path.size(); p++) {
        if (p == path.size() || path[p] == '/') {
            std::string d = path.substr(0, p);
            if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return false;
        }
    }
    return true;
}

static std::string write_text(const std::string& path, const std::string& s) {
    std::ofstream f(path);
    if (!f) return "cannot write " + path;
    f << s;
    return f ? "" : "write error on " + path;
}

std::string lora_save_peft(const std::string& dir, const LoraLayout& L, const LoraConfig& lc, const float* p,
                           const std::string& base_model) {
    if (!make_dirs(dir)) return "cannot create directory " + dir;
    // The fields PEFT 0.21 writes (see tests/golden/*/adapter_init/adapter_config.json), sorted like PEFT.
    Json j = Json::object();
    Json targets = Json::array();
    for (int t = 0; t < LORA_NUM_TARGETS; t++) if (lc.has((LoraTarget)t)) targets.push(kNames[t]);
    j.set("alora_invocation_tokens", nullptr);
    j.set("alpha_pattern", Json::object());
    j.set("arrow_config", nullptr);
    j.set("auto_mapping", nullptr);
    j.set("base_model_name_or_path", base_model.empty() ? Json() : Json(base_model));
    j.set("bias", "none");
    j.set("corda_config", nullptr);
    j.set("ensure_weight_tying", false);
    j.set("eva_config", nullptr);
    j.set("exclude_modules", nullptr);
    j.set("fan_in_fan_out", false);
    j.set("inference_mode", true);
    j.set("init_lora_weights", true);
    j.set("kasa_config", nullptr);
    j.set("layer_replication", nullptr);
    j.set("layers_pattern", nullptr);
    j.set("layers_to_transform", nullptr);
    j.set("loftq_config", Json::object());
    j.set("lora_alpha", (double)lc.alpha == std::floor(lc.alpha) ? Json((int64_t)lc.alpha) : Json(lc.alpha));
    j.set("lora_bias", false);
    j.set("lora_dropout", (double)lc.dropout);
    j.set("lora_ga_config", nullptr);
    j.set("megatron_config", nullptr);
    j.set("megatron_core", "megatron.core");
    j.set("modules_to_save", nullptr);
    j.set("monteclora_config", nullptr);
    j.set("peft_type", "LORA");
    j.set("peft_version", "0.21.0");
    j.set("qalora_group_size", 16);
    j.set("r", lc.r);
    j.set("rank_pattern", Json::object());
    j.set("revision", nullptr);
    j.set("target_modules", targets);
    j.set("target_parameters", nullptr);
    j.set("task_type", "CAUSAL_LM");
    j.set("trainable_token_indices", nullptr);
    j.set("use_bdlora", nullptr);
    j.set("use_dora", false);
    j.set("use_qalora", false);
    j.set("use_rslora", false);
    j.set("velora_config", nullptr);
    std::string e = write_text(dir + "/adapter_config.json", j.dump(2) + "\n");
    if (!e.empty()) return e;
    std::map<std::string, Tensor> ts;
    for (auto& s : L.slots) {
        Tensor a; a.shape = {L.r, s.in}; a.data.assign(p + s.a_off, p + s.a_off + (size_t)L.r * s.in);
        Tensor b; b.shape = {s.out, L.r}; b.data.assign(p + s.b_off, p + s.b_off + (size_t)s.out * L.r);
        ts[lora_peft_key(s.layer, s.target, false)] = std::move(a);
        ts[lora_peft_key(s.layer, s.target, true)] = std::move(b);
    }
    return safetensors_write(dir + "/adapter_model.safetensors", ts);
}

std::string lora_read_peft_config(const std::string& dir, LoraConfig* lc) {
    std::string path = dir + "/adapter_config.json";
    Json j;
    std::string e = json_read_file(path, &j);
    if (!e.empty()) return e;
    const Json* pt = j.find("peft_type");
    if (pt && pt->is_str() && pt->str != "LORA") return path + ": peft_type is " + pt->str + ", expected LORA";
    const Json* r = j.find("r");
    const Json* a = j.find("lora_alpha");
    const Json* tm = j.find("target_modules");
    if (!r || !r->is_int || r->inum <= 0) return path + ": missing or bad field 'r'";
    if (!a || !a->is_num()) return path + ": missing field 'lora_alpha'";
    if (!tm || tm->type != Json::ARR) return path + ": field 'target_modules' must be a list";
    for (const char* k : {"use_dora", "use_rslora"})
        if (const Json* v = j.find(k); v && v->type == Json::BOOL && v->b) return path + ": " + k + "=true is not supported";
    LoraConfig c = *lc;
    c.r = (int)r->inum;
    c.alpha = (float)a->num;
    if (const Json* d = j.find("lora_dropout"); d && d->is_num()) c.dropout = (float)d->num;
    std::string list;
    for (auto& t : tm->arr) list += (list.empty() ? "" : ",") + t.str;
    e = lora_parse_targets(list, &c.target_mask);
    if (!e.empty()) return path + ": " + e;
    *lc = c;
    return "";
}

std::string lora_load_peft(const std::string& dir, const LoraLayout& L, float* p) {
    WeightSet ws;
    std::string e = safetensors_read(dir + "/adapter_model.safetensors", &ws);
    if (!e.empty()) return e;
    for (auto& s : L.slots) {
        const Tensor *a, *b;
        if (!(e = ws.get(lora_peft_key(s.layer, s.target, false), {L.r, s.in}, &a)).empty()) return e;
        if (!(e = ws.get(lora_peft_key(s.layer, s.target, true), {s.out, L.r}, &b)).empty()) return e;
        std::copy(a->data.begin(), a->data.end(), p + s.a_off);
        std::copy(b->data.begin(), b->data.end(), p + s.b_off);
    }
    return "";
}

std::string checkpoint_save(const std::string& dir, const LoraLayout& L, const LoraConfig& lc, const float* p,
                            const float* m, const float* v, const TrainerState& st, const std::string& base_model) {
    std::string e = lora_save_peft(dir, L, lc, p, base_model);
    if (!e.empty()) return e;
    std::map<std::string, Tensor> ts;
    Tensor tm; tm.shape = {(int64_t)L.total}; tm.data.assign(m, m + L.total);
    Tensor tv; tv.shape = {(int64_t)L.total}; tv.data.assign(v, v + L.total);
    ts["adamw.m"] = std::move(tm); ts["adamw.v"] = std::move(tv);
    if (!(e = safetensors_write(dir + "/optimizer.safetensors", ts)).empty()) return e;
    Json j = Json::object();
    j.set("step", st.step); j.set("epoch", st.epoch); j.set("total_steps", st.total_steps);
    j.set("seed", std::to_string(st.seed)); j.set("optimizer_steps", std::to_string(st.optimizer_steps));
    j.set("lora_param_count", (int64_t)L.total);
    return write_text(dir + "/trainer_state.json", j.dump(2) + "\n");
}

std::string checkpoint_load(const std::string& dir, const LoraLayout& L, float* p, float* m, float* v, TrainerState* st) {
    std::string e = lora_load_peft(dir, L, p);
    if (!e.empty()) return e;
    WeightSet ws;
    if (!(e = safetensors_read(dir + "/optimizer.safetensors", &ws)).empty()) return e;
    const Tensor *tm, *tv;
    if (!(e = ws.get("adamw.m", {(int64_t)L.total}, &tm)).empty()) return e;
    if (!(e = ws.get("adamw.v", {(int64_t)L.total}, &tv)).empty()) return e;
    std::copy(tm->data.begin(), tm->data.end(), m);
    std::copy(tv->data.begin(), tv->data.end(), v);
    Json j;
    std::string path = dir + "/trainer_state.json";
    if (!(e = json_read_file(path, &j)).empty()) return e;
    const Json* s = j.find("step");
    if (!s || !s->is_int) return path + ": missing field 'step'";
    st->step = s->inum;
    if (const Json* x = j.find("epoch")) st->epoch = x->inum;
    if (const Json* x = j.find("total_steps")) st->total_steps = x->inum;
    if (const Json* x = j.find("seed"); x && x->is_str()) st->seed = std::stoull(x->str);
    if (const Json* x = j.find("optimizer_steps"); x && x->is_str()) st->optimizer_steps = std::stoull(x->str);
    return "";
}

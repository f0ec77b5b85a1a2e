// config.json <-> Qwen3Config. rope_theta: top-level (transformers 4) or rope_parameters.rope_theta (5).
#include "config.h"
#include "json.h"
#include "safetensors.h"
#include <fstream>

static std::string need_int(const Json& j, const std::string& path, const char* key, int* out, bool required = true) {
    const Json* v = j.find(key);
    if (!v || v->is_null()) return required ? path + ": missing field '" + key + "'" : "";
    if (!v->is_num() || !v->is_int || v->inum <= 0) return path + ": field '" + key + "' must be a positive integer";
    *out = (int)v->inum;
    return "";
}

std::string qwen3_config_read(const std::string& path_in, Qwen3Config* cfg) {
    std::string path = path_in;
    if (!file_exists(path)) path = path_in + "/config.json";
    if (!file_exists(path)) return "no config.json at " + path_in;
    Json j;
    std::string e = json_read_file(path, &j);
    if (!e.empty()) return e;
    if (j.type != Json::OBJ) return path + ": not a JSON object";
    const Json* mt = j.find("model_type");
    const Json* ar = j.find("architectures");
    bool qwen3 = mt && mt->is_str() && mt->str == "qwen3";
    if (!mt && ar && ar->type == Json::ARR)
        for (auto& a : ar->arr) qwen3 |= a.str == "Qwen3ForCausalLM";
    if (!qwen3)
        return path + ": not a Qwen3 config (field 'model_type' is " + (mt ? mt->dump() : std::string("missing")) +
               ", expected \"qwen3\")";
    Qwen3Config c;
    const char* ints[] = {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"};
    int* dst[] = {&c.vocab_size, &c.hidden_size, &c.intermediate_size, &c.num_hidden_layers, &c.num_attention_heads};
    for (int k = 0; k < 5; k++) if (!(e = need_int(j, path, ints[k], dst[k])).empty()) return e;
    c.num_key_value_heads = c.num_attention_heads;
    if (!(e = need_int(j, path, "num_key_value_heads", &c.num_key_value_heads, false)).empty()) return e;
    c.head_dim = c.hidden_size / c.num_attention_heads;
    if (!(e = need_int(j, path, "head_dim", &c.head_dim, false)).empty()) return e;
    if (!(e = need_int(j, path, "max_position_embeddings", &c.max_position_embeddings, false)).empty()) return e;
    if (c.num_attention_heads % c.num_key_value_heads)
        return path + ": num_attention_heads must be a multiple of num_key_value_heads";
    if (c.head_dim % 2) return path + ": head_dim must be even (RoPE)";
    if (const Json* v = j.find("rms_norm_eps"); v && v->is_num()) c.rms_norm_eps = (float)v->num;
    const Json* rt = j.find("rope_theta");
    if (!rt || !rt->is_num()) {
        const Json* rp = j.find("rope_parameters");
        if (!rp) rp = j.find("rope_scaling");
        rt = rp ? rp->find("rope_theta") : nullptr;
        if (rp) if (const Json* ty = rp->find("rope_type"); ty && ty->is_str() && ty->str != "default")
            return path + ": rope_parameters.rope_type '" + ty->str + "' is not supported (only 'default')";
    }
    if (!rt || !rt->is_num()) return path + ": missing field 'rope_theta' (top level or rope_parameters.rope_theta)";
    c.rope_theta = rt->num;
    if (const Json* v = j.find("tie_word_embeddings"); v && v->type == Json::BOOL) c.tie_word_embeddings = v->b;
    else c.tie_word_embeddings = false;   // transformers' Qwen3Config default
    if (const Json* v = j.find("eos_token_id"); v && v->is_num()) c.eos_token_id = (int)v->inum;
    else if (v && v->type == Json::ARR && !v->arr.empty()) c.eos_token_id = (int)v->arr[0].inum;
    if (const Json* v = j.find("pad_token_id"); v && v->is_num()) c.pad_token_id = (int)v->inum;
    if (const Json* v = j.find("use_sliding_window"); v && v->type == Json::BOOL && v->b)
        return path + ": use_sliding_window=true is not supported";
    *cfg = c;
    return "";
}

std::string qwen3_config_write(const std::string& path, const Qwen3Config& c) {
    Json j = Json::object();
    Json ar = Json::array(); ar.push("Qwen3ForCausalLM");
    j.set("architectures", ar);
    j.set("model_type", "qwen3");
    j.set("vocab_size", c.vocab_size);
    j.set("hidden_size", c.hidden_size);
    j.set("intermediate_size", c.intermediate_size);
    j.set("num_hidden_layers", c.num_hidden_layers);
    j.set("num_attention_heads", c.num_attention_heads);
    j.set("num_key_value_heads", c.num_key_value_heads);
    j.set("head_dim", c.head_dim);
    j.set("hidden_act", "silu");
    j.set("rms_norm_eps", (double)c.rms_norm_eps);
    j.set("rope_theta", c.rope_theta);
    j.set("max_position_embeddings", c.max_position_embeddings);
    j.set("tie_word_embeddings", c.tie_word_embeddings);
    j.set("attention_bias", false);
    j.set("use_sliding_window", false);
    j.set("eos_token_id", c.eos_token_id);
    j.set("pad_token_id", c.pad_token_id);
    j.set("torch_dtype", "bfloat16");
    std::ofstream f(path);
    if (!f) return "cannot write " + path;
    f << j.dump(2) << "\n";
    return f ? "" : "write error on " + path;
}

bool qwen3_config_preset(const std::string& name, Qwen3Config* cfg) {
    Qwen3Config c;   // defaults = Qwen3-1.7B
    c.max_position_embeddings = 40960;
    if (name == "qwen3-1.7b") { *cfg = c; return true; }
    c.hidden_size = name == "tiny" ? 64 : 256;
    c.intermediate_size = name == "tiny" ? 160 : 512;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = name == "tiny" ? 16 : 128;
    if (name != "tiny" && name != "tiny_hd128") return false;
    *cfg = c;   // real Qwen3 vocab (151936) so the real tokenizer works with demo models
    return true;
}

std::vector<WeightSpec> qwen3_weight_specs(const Qwen3Config& c) {
    int64_t C = c.hidden_size, Q = (int64_t)c.num_attention_heads * c.head_dim, KV = (int64_t)c.num_key_value_heads * c.head_dim;
    int64_t I = c.intermediate_size, V = c.vocab_size, D = c.head_dim;
    std::vector<WeightSpec> w{{"model.embed_tokens.weight", {V, C}}};
    for (int l = 0; l < c.num_hidden_layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        w.push_back({p + "input_layernorm.weight", {C}});
        w.push_back({p + "self_attn.q_proj.weight", {Q, C}});
        w.push_back({p + "self_attn.k_proj.weight", {KV, C}});
        w.push_back({p + "self_attn.v_proj.weight", {KV, C}});
        w.push_back({p + "self_attn.o_proj.weight", {C, Q}});
        w.push_back({p + "self_attn.q_norm.weight", {D}});
        w.push_back({p + "self_attn.k_norm.weight", {D}});
        w.push_back({p + "post_attention_layernorm.weight", {C}});
        w.push_back({p + "mlp.gate_proj.weight", {I, C}});
        w.push_back({p + "mlp.up_proj.weight", {I, C}});
        w.push_back({p + "mlp.down_proj.weight", {C, I}});
    }
    w.push_back({"model.norm.weight", {C}});
    if (!c.tie_word_embeddings) w.push_back({"lm_head.weight", {V, C}});
    return w;
}

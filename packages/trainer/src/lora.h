// The canonical flat LoRA buffer (see backend.h): layer-major, then target q,k,v,o,gate,up,down (only
// the adapted ones), then A (r, in) before B (out, r). PEFT adapter files and trainer checkpoints.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "qwen3_config.h"

struct LoraSlot {              // one adapted projection of one layer
    int layer = 0, target = 0;
    int in = 0, out = 0;       // the base Linear is (out, in)
    size_t a_off = 0, b_off = 0;   // A: (r, in) at a_off; B: (out, r) at b_off
};

struct LoraLayout {
    int r = 0;
    std::vector<LoraSlot> slots;           // canonical order
    std::vector<int> slot_of;              // [layer * LORA_NUM_TARGETS + target] -> index in slots, -1 if not adapted
    size_t total = 0;                      // floats in the flat buffer
    const LoraSlot* find(int layer, int target) const {
        int k = slot_of[(size_t)layer * LORA_NUM_TARGETS + target];
        return k < 0 ? nullptr : &slots[k];
    }
};

LoraLayout lora_layout(const Qwen3Config& cfg, const LoraConfig& lc);
void lora_target_dims(const Qwen3Config& cfg, int target, int* in, int* out);
const char* lora_target_name(int target);                  // "q_proj", ..., "down_proj"
const char* lora_target_module(int target);                // "self_attn" or "mlp"
// PEFT file key, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight (in memory PEFT adds ".default").
std::string lora_peft_key(int layer, int target, bool is_b, bool in_memory = false);
// Parses "q,k,v,o,gate,up,down" (also "q_proj" etc.) into a target mask.
std::string lora_parse_targets(const std::string& list, uint32_t* mask);

// PEFT init: A ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0. Deterministic in seed.
void lora_init(const LoraLayout& L, uint64_t seed, float* params);

// PEFT adapter directory: adapter_config.json + adapter_model.safetensors (F32).
std::string lora_save_peft(const std::string& dir, const LoraLayout& L, const LoraConfig& lc, const float* params,
                           const std::string& base_model);
// Loads a PEFT adapter (F32/BF16/F16/F64); r, alpha and targets come from its adapter_config.json.
std::string lora_read_peft_config(const std::string& dir, LoraConfig* lc);
std::string lora_load_peft(const std::string& dir, const LoraLayout& L, float* params);

// Training checkpoint: the adapter (PEFT) + optimizer.safetensors (m, v) + trainer_state.json.
struct TrainerState { int64_t step = 0; int64_t epoch = 0; uint64_t seed = 0; uint64_t optimizer_steps = 0; int64_t total_steps = 0; };
std::string checkpoint_save(const std::string& dir, const LoraLayout& L, const LoraConfig& lc, const float* params,
                            const float* m, const float* v, const TrainerState& st, const std::string& base_model);
std::string checkpoint_load(const std::string& dir, const LoraLayout& L, float* params, float* m, float* v, TrainerState* st);

bool make_dirs(const std::string& path);   // mkdir -p

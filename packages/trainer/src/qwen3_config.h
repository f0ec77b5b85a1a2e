// Model and adapter hyperparameters. Qwen3Config mirrors the fields of a Hugging Face Qwen3
// config.json that the math needs (example values: Qwen3-1.7B); LoraConfig the task recipe.
#pragma once
#include <cstdint>

struct Qwen3Config {
    int vocab_size = 151936;
    int hidden_size = 2048;
    int intermediate_size = 6144;
    int num_hidden_layers = 28;
    int num_attention_heads = 16;
    int num_key_value_heads = 8;
    int head_dim = 128;                // not always hidden/heads: read it from config.json
    float rms_norm_eps = 1e-6f;
    double rope_theta = 1000000.0;     // top-level rope_theta (transformers 4) or rope_parameters.rope_theta (5)
    bool tie_word_embeddings = true;   // then the checkpoint has no lm_head.weight
    int max_position_embeddings = 40960;
    int eos_token_id = 151645;
    int pad_token_id = 151643;
};

// Order matters: it is the canonical order of the flat LoRA buffer (see backend.h).
enum LoraTarget { LORA_Q, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_NUM_TARGETS };

struct LoraConfig {
    int r = 8;
    float alpha = 32.0f;
    float dropout = 0.1f;                            // on the LoRA input only
    uint32_t target_mask = (1u << LORA_NUM_TARGETS) - 1;  // bit t set = target t adapted
    float scaling() const { return alpha / (float)r; }
    bool has(LoraTarget t) const { return (target_mask >> t) & 1u; }
};

// Reads a Hugging Face Qwen3 config.json into Qwen3Config (qwen3_config.h); writes one for init-random.
// Only Qwen3 is accepted: model_type "qwen3" (or architectures ["Qwen3ForCausalLM"]).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "qwen3_config.h"

std::string qwen3_config_read(const std::string& path, Qwen3Config* cfg);   // path: config.json (or its dir)
std::string qwen3_config_write(const std::string& path, const Qwen3Config& cfg);
// Named presets for init-random: "tiny", "tiny_hd128", "qwen3-1.7b". Returns false if unknown.
bool qwen3_config_preset(const std::string& name, Qwen3Config* cfg);

// Base checkpoint tensors a Qwen3 model needs (Hugging Face names, shapes). lm_head.weight only when untied.
struct WeightSpec { std::string name; std::vector<int64_t> shape; };
std::vector<WeightSpec> qwen3_weight_specs(const Qwen3Config& cfg);

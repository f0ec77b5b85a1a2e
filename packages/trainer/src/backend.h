// The one interface both compute backends implement: the fp32 CPU reference (reference/) and the
// bf16 CUDA backend (src/cuda/). main.cpp, the tests and the trainer loop talk only to this.
// LoRA parameters, gradients and AdamW state live in ONE flat fp32 buffer in the canonical order of
// lora.h (layer-major, then target q,k,v,o,gate,up,down, then A (r, in) before B (out, r)), so that
// grad-norm, clipping, checkpoints and PEFT export are written once, outside the backends.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "qwen3_config.h"

struct WeightSet;   // the base checkpoint (safetensors.h): fp32 host tensors, or opened lazily (values still in the file)

// One micro-batch, right-padded. targets are already shifted: targets[b*T + t] is the label that the
// logit at position t must predict (-100 = no loss there). Positions t >= lengths[b] are padding.
struct Batch {
    int B = 0, T = 0;
    const int32_t* tokens = nullptr;   // (B, T)
    const int32_t* targets = nullptr;  // (B, T)
    const int32_t* lengths = nullptr;  // (B)
};

struct AdamWParams { float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f; };

// Library code returns errors; only main exits. An empty string means success.
using Status = std::string;

class Backend {
public:
    virtual ~Backend() = default;
    virtual const char* name() const = 0;

    // Uploads the base weights (converted from whatever dtype the file had; a lazy WeightSet is read here,
    // with tensor_read_f32 / tensors_read_bf16) and allocates the LoRA buffers for lora_cfg.
    // max_B/max_T bound every later batch, so workspaces are allocated once.
    virtual Status init(const Qwen3Config& cfg, const LoraConfig& lora_cfg, const WeightSet& w,
                        int max_B, int max_T) = 0;

    // Flat canonical LoRA buffers (host side, lora_param_count() floats each).
    virtual size_t lora_param_count() const = 0;
    virtual Status set_lora(const float* params) = 0;
    virtual Status get_lora(float* params) const = 0;
    virtual Status get_grad(float* grads) const = 0;
    virtual Status set_optimizer_state(const float* m, const float* v) = 0;
    virtual Status get_optimizer_state(float* m, float* v) const = 0;

    virtual Status zero_grad() = 0;
    // Forward + backward of one micro-batch with dropout (seeded, deterministic per seed).
    // Adds grad_scale * d(sum of token NLL)/d(param) into the gradient buffer, so the caller makes
    // "mean over all label tokens of the whole accumulated step" by passing 1/total_label_tokens.
    // Outputs the summed NLL over label tokens and their count. Logits only at label positions.
    virtual Status forward_backward(const Batch& b, float grad_scale, uint64_t dropout_seed,
                                    double* loss_sum, int64_t* n_label_tokens) = 0;
    // L2 norm of the whole gradient buffer (before clipping).
    virtual Status grad_norm(double* norm) = 0;
    // p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p), with grads first multiplied by grad_mult
    // (the clipping factor). step is 1-based for bias correction.
    virtual Status adamw_step(const AdamWParams& opt, float lr, float grad_mult, int step) = 0;

    // Inference (no dropout). Full logits (B, T, V) for tests; use_lora=false gives the base model.
    virtual Status logits(const Batch& b, bool use_lora, float* out) = 0;
    // Logits of position lengths[b]-1 of each row, (B, V): greedy generation.
    virtual Status last_logits(const Batch& b, float* out) = 0;

    // Where init's time went, (phase, milliseconds) in order: the trainer's startup event. Optional.
    virtual std::vector<std::pair<std::string, double>> init_phases_ms() const { return {}; }

    // Added: keep only layer inputs and recompute each layer in backward (saves memory on big models).
    // Optional; a backend that ignores it keeps every activation.
    virtual Status set_recompute(bool on) { (void)on; return ""; }
    // TRAINER_PROFILE=1: GPU milliseconds per part of an optimizer step as JSON ("" when not profiled),
    // and profiling stops (evaluation is not part of a step).
    virtual std::string take_profile() { return ""; }

    // Added for the golden tests (hidden states of Hugging Face's output_hidden_states), optional:
    // index 0 = embedding output, i in 1..L-1 = output of layer i-1, L = output of the last layer AFTER
    // the final RMSNorm (what transformers returns last). out: (B, T, hidden). use_lora as in logits().
    virtual Status hidden_states(const Batch& b, bool use_lora, int index, float* out) {
        (void)b; (void)use_lora; (void)index; (void)out;
        return std::string("hidden_states is not implemented by the ") + name() + " backend";
    }
};

std::unique_ptr<Backend> make_cpu_backend(int n_threads);
// Returns nullptr (and sets *why) when built without CUDA or when no device is present.
std::unique_ptr<Backend> make_cuda_backend(std::string* why);

// The three commands of qwen3-lora: train (loop, schedule, clipping, checkpoints, eval generation),
// generate (greedy answers for a data file with a saved adapter) and init-random (a random model dir).
// Each returns a Status; events go to stdout through log.h, and main turns a failure into an error event.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "backend.h"
#include "dataset.h"
#include "qwen3_config.h"

struct TrainOptions {
    std::string model, data, eval, out, init_adapter, resume, weights_file;
    std::string device = "cpu", schedule = "linear";
    double lr = 1e-4;
    int epochs = 2, micro_batch = 4, accum = 4, max_len = 384, save_every = 0, threads = 2;
    int64_t max_steps = -1;
    int eval_limit = -1, max_new_tokens = 16;
    uint64_t seed = 42;
    bool recompute = false, shuffle = true;
    LoraConfig lora;
};

struct GenerateCmdOptions {
    std::string model, adapter, data, device = "cpu", weights_file;
    int micro_batch = 8, max_new_tokens = 16, limit = -1, threads = 2;
};

struct InitRandomOptions {
    std::string config = "tiny", out, dtype = "bf16";
    float init_scale = 1.0f;   // linear weights N(0, init_scale^2 / fan_in)
    // embedding N(0, embed_scale^2 / hidden). With a tied lm_head and a final RMSNorm of weight 1 the logits are
    // bounded by |h| |e| = sqrt(hidden) * embed_scale: at scale 1 (hidden 64) that is ~8, below the log-sum-exp of
    // 151,936 random logits (~12), so no adapter could push a loss under ~4. Scale 4 leaves room to learn.
    float embed_scale = 4.0f;
    uint64_t seed = 0;
    int threads = 0;           // 0: every hardware thread (the file does not depend on it)
};

Status run_train(const TrainOptions& o);

// The samples order[first, last) of one optimizer step, longest first (ties keep their shuffled order).
// A micro-batch is padded to its longest sample, and the step's gradient is the same sum whichever
// micro-batch a sample lands in: grouping lengths cuts the padding and changes nothing else.
void group_by_length(std::vector<int>* order, int first, int last, const Dataset& ds);
Status run_generate(const GenerateCmdOptions& o);
Status run_init_random(const InitRandomOptions& o);

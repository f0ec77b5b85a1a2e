// Batched greedy generation through Backend::last_logits (no KV cache: each new token re-runs the
// prefix; fine for evaluation of short answers). Rows are right-padded and finish independently.
#pragma once
#include <cstdint>
#include <vector>
#include "backend.h"

struct GenerateOptions {
    int max_new_tokens = 16;
    int min_new_tokens = 0;              // stop ids are suppressed (-inf) until this many were generated (HF min_new_tokens)
    std::vector<int32_t> stop_ids;       // e.g. 151645 <|im_end|>, 151643 <|endoftext|>
    int pad_id = 0;
};

// prompts: token ids per row. out: generated ids per row (excluding the prompt, including a final stop id if hit).
Status greedy_generate(Backend& be, int vocab, const std::vector<std::vector<int32_t>>& prompts,
                       const GenerateOptions& opt, std::vector<std::vector<int32_t>>* out);

// Greedy decoding: argmax of the last position's logits (first index wins ties, as torch.argmax).
#include "generate.h"
#include <algorithm>
#include <cmath>

Status greedy_generate(Backend& be, int V, const std::vector<std::vector<int32_t>>& prompts,
                       const GenerateOptions& opt, std::vector<std::vector<int32_t>>* out) {
    int B = (int)prompts.size();
    out->assign(B, {});
    if (B == 0) return "";
    std::vector<std::vector<int32_t>> seq = prompts;
    std::vector<bool> done(B, false);
    std::vector<float> logits;
    for (int step = 0; step < opt.max_new_tokens; step++) {
        std::vector<int> active;
        for (int i = 0; i < B; i++) if (!done[i]) active.push_back(i);
        if (active.empty()) break;
        int Ba = (int)active.size(), T = 0;
        for (int i : active) T = std::max(T, (int)seq[i].size());
        std::vector<int32_t> tok((size_t)Ba * T, opt.pad_id), len(Ba);
        for (int r = 0; r < Ba; r++) {
            auto& s = seq[active[r]];
            if (s.empty()) return "generation needs a non-empty prompt";
            std::copy(s.begin(), s.end(), tok.begin() + (size_t)r * T);
            len[r] = (int)s.size();
        }
        Batch b; b.B = Ba; b.T = T; b.tokens = tok.data(); b.lengths = len.data();
        logits.resize((size_t)Ba * V);
        Status e = be.last_logits(b, logits.data());
        if (!e.empty()) return e;
        for (int r = 0; r < Ba; r++) {
            float* lg = &logits[(size_t)r * V];
            if (step < opt.min_new_tokens)
                for (int s : opt.stop_ids) if (s >= 0 && s < V) lg[s] = -INFINITY;
            int best = (int)(std::max_element(lg, lg + V) - lg);
            int i = active[r];
            seq[i].push_back(best);
            (*out)[i].push_back(best);
            if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), best) != opt.stop_ids.end()) done[i] = true;
        }
    }
    return "";
}

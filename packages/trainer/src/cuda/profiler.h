// GPU time per part of a step (TRAINER_PROFILE=1), "count first" without a profiler on the machine: the
// backend calls enter("gemm") before a group of launches, enter("attention_fwd") before the next, and so
// on; each call records one CUDA event on the stream and charges the time since the previous event to the
// previous part. Times are read only after a host synchronisation the backend already does, so profiling
// adds no sync of its own. Off by default (an event between groups is cheap, not free).
#pragma once
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cuda_utils.cuh"

class StepProfiler {
public:
    bool on = false;

    ~StepProfiler() {
        for (cudaEvent_t e : free_) cudaEventDestroy(e);
        for (cudaEvent_t e : recorded_) cudaEventDestroy(e);
    }
    // From here on the stream's work is charged to `part`; nullptr closes the current part.
    void enter(const char* part, cudaStream_t s) {
        if (!on) return;
        cudaEvent_t e = take();
        cudaEventRecord(e, s);
        recorded_.push_back(e);
        if (last_ && part_) spans_.push_back({part_, last_, e});
        last_ = part ? e : nullptr;
        part_ = part;
    }
    // Call right after a stream synchronisation: adds the finished parts to the totals and recycles
    // their events (the open part's start stays).
    void collect() {
        for (auto& s : spans_) {
            float ms = 0.f;
            if (cudaEventElapsedTime(&ms, s.a, s.b) == cudaSuccess) {
                auto& t = totals_[s.part];
                t.first += ms;
                t.second++;
            }
        }
        spans_.clear();
        for (cudaEvent_t e : recorded_)
            if (e != last_) free_.push_back(e);
        recorded_.clear();
        if (last_) recorded_.push_back(last_);
    }
    const char* current() const { return part_; }
    // One optimizer step done; the first one (cuBLASLt heuristics, caches) is not counted.
    void step_done() {
        if (!on) return;
        if (!warm_) { warm_ = true; totals_.clear(); return; }
        steps_++;
    }
    // {"steps": n, "parts": {part: {"ms_per_step": x, "calls_per_step": y}}}, or "" when off or empty.
    std::string json() const {
        if (!on || !steps_ || totals_.empty()) return "";
        std::string out = "{\"steps\": " + std::to_string(steps_) + ", \"parts\": {";
        const char* sep = "";
        for (auto& [part, t] : totals_) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "%s\"%s\": {\"ms_per_step\": %.4f, \"calls_per_step\": %.2f}", sep, part.c_str(),
                          t.first / (double)steps_, (double)t.second / (double)steps_);
            out += buf;
            sep = ", ";
        }
        return out + "}}";
    }

private:
    struct Span { const char* part; cudaEvent_t a, b; };
    cudaEvent_t take() {
        if (!free_.empty()) {
            cudaEvent_t e = free_.back();
            free_.pop_back();
            return e;
        }
        cudaEvent_t e = nullptr;
        cudaEventCreate(&e);
        return e;
    }
    const char* part_ = nullptr;
    cudaEvent_t last_ = nullptr;                                // start of the open part
    std::vector<Span> spans_;                                   // finished parts not yet read
    std::vector<cudaEvent_t> recorded_, free_;                  // in flight / reusable
    std::map<std::string, std::pair<double, long>> totals_;     // part -> (ms, spans)
    long steps_ = 0;
    bool warm_ = false;
};

// A part inside another (a GEMM inside "attention"...): charged to `part`, then back to the outer one.
struct PartScope {
    StepProfiler& p;
    cudaStream_t s;
    const char* outer;
    PartScope(StepProfiler& p_, const char* part, cudaStream_t s_) : p(p_), s(s_), outer(p_.current()) { p.enter(part, s); }
    ~PartScope() { p.enter(outer, s); }
};

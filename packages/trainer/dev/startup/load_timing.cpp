// Host-side timing of the weight-loading part of start-up (issue 7) on a machine without a GPU.
//   staged: what CudaBackend::upload_weights does minus the copies: headers (safetensors_open_model), then
//           tensors_read_bf16 into two 64 MiB staging buffers in turn (malloc'd here, pinned there).
//   eager:  the old train path: every tensor read to fp32 (safetensors_read_model), then f32 -> bf16 on one
//           thread as upload_weights did. Run the same file with a binary built from the old sources to compare.
// Build (packages/trainer): g++ -O2 -std=c++17 -Icommon -Isrc dev/startup/load_timing.cpp common/safetensors.cpp \
//                           common/json.cpp -pthread -o /tmp/load_timing
// Run:   /tmp/load_timing MODEL_DIR [staged|staged1|eager]...   (staged1: one thread; default staged eager)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "safetensors.h"

using Clock = std::chrono::steady_clock;
static double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

static int staged(const std::string& dir, int threads) {
    auto t0 = Clock::now();
    WeightSet ws;
    std::string e = safetensors_open_model(dir, &ws);
    if (!e.empty()) { std::fprintf(stderr, "%s\n", e.c_str()); return 1; }
    std::printf("staged open_ms %.1f (%zu tensors)\n", ms_since(t0), ws.tensors.size());
    t0 = Clock::now();
    const size_t stage = (size_t)64 << 20;
    std::vector<char*> buf = {static_cast<char*>(std::malloc(stage)), static_cast<char*>(std::malloc(stage))};
    for (char* b : buf) std::memset(b, 0, stage);   // cudaHostAlloc pins (so faults in) its pages up front
    double alloc_ms = ms_since(t0);
    t0 = Clock::now();
    std::vector<Bf16Slice> slices;
    size_t used = 0, bytes = 0, fills = 0;
    int cur = 0;
    uint64_t check = 0;
    auto flush = [&] {
        if (slices.empty()) return;
        std::string r = tensors_read_bf16(ws, slices, threads);
        if (!r.empty()) { std::fprintf(stderr, "%s\n", r.c_str()); std::exit(1); }
        check += (unsigned char)buf[cur][used / 2];
        slices.clear(); bytes += used; used = 0; cur ^= 1; fills++;
    };
    for (auto& kv : ws.tensors) {
        const int64_t n = kv.second.numel();
        for (int64_t k = 0; k < n;) {
            if (used + 2 > stage) flush();
            int64_t c = std::min<int64_t>(n - k, (int64_t)((stage - used) / 2));
            slices.push_back({&kv.second, k, c, reinterpret_cast<uint16_t*>(buf[cur] + used)});
            used += (size_t)c * 2;
            k += c;
        }
    }
    flush();
    double ms = ms_since(t0);
    std::printf("staged read_bf16_ms %.0f with %d threads (%.0f MiB, %zu fills, %.2f GB/s; staging alloc %.0f ms; check %llu)\n",
                ms, threads, bytes / 1048576.0, fills, bytes / ms / 1e6, alloc_ms, (unsigned long long)check);
    for (char* b : buf) std::free(b);
    return 0;
}

static int eager(const std::string& dir) {
    auto t0 = Clock::now();
    WeightSet ws;
    std::string e = safetensors_read_model(dir, &ws);
    if (!e.empty()) { std::fprintf(stderr, "%s\n", e.c_str()); return 1; }
    std::printf("eager read_fp32_ms %.0f (%d threads)\n", ms_since(t0), io_threads());
    t0 = Clock::now();
    std::vector<uint16_t> host;
    uint64_t sum = 0;
    for (auto& kv : ws.tensors) {
        const Tensor& t = kv.second;
        host.resize(t.data.size());
        for (size_t k = 0; k < t.data.size(); k++) host[k] = f32_to_bf16(t.data[k]);
        sum += host[host.size() / 2];
    }
    std::printf("eager to_bf16_ms %.0f (one thread, check %llu)\n", ms_since(t0), (unsigned long long)sum);
    t0 = Clock::now();
    ws.tensors.clear();
    std::printf("eager free_ms %.0f\n", ms_since(t0));
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) { std::fprintf(stderr, "usage: load_timing MODEL_DIR [staged|staged1|eager]...\n"); return 2; }
    std::vector<std::string> what(argv + 2, argv + argc);
    if (what.empty()) what = {"staged", "eager"};
    for (auto& w : what) {
        int rc = w == "staged" ? staged(argv[1], io_threads()) : w == "staged1" ? staged(argv[1], 1) : eager(argv[1]);
        if (rc) return rc;
    }
    return 0;
}

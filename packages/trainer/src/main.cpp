// qwen3-lora: command line of the native Qwen3 LoRA trainer. Parses long flags, runs one command
// (train | generate | init-random), turns any failure into an {"event":"error"} line and exit code 1.
// The only place that exits; the loop itself is in trainer.cpp.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <new>
#include <string>
#include "log.h"
#include "lora.h"
#include "trainer.h"

static const char* kUsage =
    "usage:\n"
    "  qwen3-lora train --model DIR --data FILE --out DIR [--eval FILE] [--lr 1e-4] [--epochs 2] [--micro-batch 4]\n"
    "      [--accum 4] [--lora-r 8] [--lora-alpha 32] [--lora-dropout 0.1] [--targets q,k,v,o,gate,up,down]\n"
    "      [--max-len 384] [--seed 42] [--device cpu|cuda] [--recompute] [--no-shuffle] [--init-adapter DIR]\n"
    "      [--schedule linear|constant] [--save-every N] [--resume CKPT_DIR] [--max-steps N] [--threads N]\n"
    "      [--eval-limit N] [--max-new-tokens 16] [--weights FILE]\n"
    "  qwen3-lora generate --model DIR --data FILE [--adapter DIR] [--device cpu|cuda] [--micro-batch 8]\n"
    "      [--max-new-tokens 16] [--limit N] [--threads N] [--weights FILE]\n"
    "  qwen3-lora init-random --config tiny|tiny_hd128|qwen3-1.7b --out DIR [--seed 0] [--dtype bf16|f32] [--threads N]\n";

// Flag table: name -> handler taking the value (nullptr for switches). Returns "" or an error.
using Handler = std::function<std::string(const char*)>;

static std::string parse(int argc, char** argv, const std::map<std::string, Handler>& flags,
                         const std::map<std::string, std::function<void()>>& switches) {
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        if (auto s = switches.find(a); s != switches.end()) { s->second(); continue; }
        auto f = flags.find(a);
        if (f == flags.end()) return "unknown option '" + a + "' for " + argv[1];
        if (i + 1 >= argc) return "option " + a + " needs a value";
        std::string e = f->second(argv[++i]);
        if (!e.empty()) return "option " + a + ": " + e;
    }
    return "";
}

static Handler str(std::string* d) { return [d](const char* v) { *d = v; return std::string(); }; }
template <class T> static Handler num(T* d) {
    return [d](const char* v) {
        char* end = nullptr;
        double x = std::strtod(v, &end);
        if (end == v || *end) return std::string("'") + v + "' is not a number";
        *d = (T)x;
        return std::string();
    };
}

static int fail(const std::string& msg) {
    Json j = Json::object();
    j.set("message", msg);
    log_event("error", j);
    log_info("error: %s", msg.c_str());
    return 1;
}

static int run(int argc, char** argv) {
    if (argc < 2) { std::fputs(kUsage, stderr); return fail("no command given (train, generate, init-random)"); }
    std::string cmd = argv[1], e;
    if (cmd == "-h" || cmd == "--help") { std::fputs(kUsage, stderr); return 0; }
    if (cmd == "train") {
        TrainOptions o;
        std::string targets = "q,k,v,o,gate,up,down";
        e = parse(argc, argv,
                  {{"--model", str(&o.model)}, {"--data", str(&o.data)}, {"--out", str(&o.out)}, {"--eval", str(&o.eval)},
                   {"--lr", num(&o.lr)}, {"--epochs", num(&o.epochs)}, {"--micro-batch", num(&o.micro_batch)},
                   {"--accum", num(&o.accum)}, {"--lora-r", num(&o.lora.r)}, {"--lora-alpha", num(&o.lora.alpha)},
                   {"--lora-dropout", num(&o.lora.dropout)}, {"--targets", str(&targets)}, {"--max-len", num(&o.max_len)},
                   {"--seed", num(&o.seed)}, {"--device", str(&o.device)}, {"--init-adapter", str(&o.init_adapter)},
                   {"--schedule", str(&o.schedule)}, {"--save-every", num(&o.save_every)}, {"--resume", str(&o.resume)},
                   {"--max-steps", num(&o.max_steps)}, {"--threads", num(&o.threads)}, {"--eval-limit", num(&o.eval_limit)},
                   {"--max-new-tokens", num(&o.max_new_tokens)}, {"--weights", str(&o.weights_file)}},
                  {{"--recompute", [&] { o.recompute = true; }}, {"--no-shuffle", [&] { o.shuffle = false; }}});
        if (e.empty()) e = lora_parse_targets(targets, &o.lora.target_mask);
        if (e.empty() && (o.lora.r < 1 || o.lora.dropout < 0 || o.lora.dropout >= 1)) e = "--lora-r must be >= 1 and --lora-dropout in [0, 1)";
        if (e.empty()) e = run_train(o);
    } else if (cmd == "generate") {
        GenerateCmdOptions o;
        e = parse(argc, argv,
                  {{"--model", str(&o.model)}, {"--adapter", str(&o.adapter)}, {"--data", str(&o.data)}, {"--device", str(&o.device)},
                   {"--micro-batch", num(&o.micro_batch)}, {"--max-new-tokens", num(&o.max_new_tokens)}, {"--limit", num(&o.limit)},
                   {"--threads", num(&o.threads)}, {"--weights", str(&o.weights_file)}},
                  {});
        if (e.empty()) e = run_generate(o);
    } else if (cmd == "init-random") {
        InitRandomOptions o;
        e = parse(argc, argv, {{"--config", str(&o.config)}, {"--out", str(&o.out)}, {"--seed", num(&o.seed)}, {"--dtype", str(&o.dtype)},
                               {"--init-scale", num(&o.init_scale)}, {"--embed-scale", num(&o.embed_scale)},
                               {"--threads", num(&o.threads)}}, {});
        if (e.empty()) e = run_init_random(o);
    } else {
        std::fputs(kUsage, stderr);
        e = "unknown command '" + cmd + "' (train, generate, init-random)";
    }
    return e.empty() ? 0 : fail(e);
}

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        return fail("out of host memory");
    } catch (const std::exception& ex) {
        return fail(std::string("internal error: ") + ex.what());
    }
}

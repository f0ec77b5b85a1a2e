// File-format tests (CPU only): JSON, safetensors (F32/BF16/F16 conversions, write/read round trip, lazy
// reads = eager reads bit for bit, multi-block and multi-thread, init-random the same for any thread count), config.json (both rope_theta places, non-Qwen3 rejected), .qld and JSONL datasets, LoRA layout/init,
// PEFT adapter and checkpoint round trips. Usage: test_files GOLDEN_DIR
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include "config.h"
#include "dataset.h"
#include "json.h"
#include "lora.h"
#include "safetensors.h"
#include "trainer.h"

static int g_fail = 0;
#define EXPECT(cond, what)                                                                    \
    do {                                                                                      \
        bool _ok = (cond);                                                                    \
        std::printf("%-4s %s\n", _ok ? "ok" : "FAIL", what);                                  \
        if (!_ok) g_fail++;                                                                   \
    } while (0)

static void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
static std::string slurp(const std::string& p) { std::ifstream f(p, std::ios::binary); return std::string(std::istreambuf_iterator<char>(f), {}); }

// A one-tensor safetensors file of any dtype from raw little-endian bytes (the writers only do F32/BF16).
static void write_raw_tensor(const std::string& p, const std::string& dtype, int64_t n, const std::string& bytes) {
    std::string h = "{\"t\": {\"dtype\": \"" + dtype + "\", \"shape\": [" + std::to_string(n) + "], \"data_offsets\": [0, " +
                    std::to_string(bytes.size()) + "]}}";
    uint64_t hl = h.size();
    std::ofstream f(p, std::ios::binary);
    f.write((const char*)&hl, 8);
    f << h << bytes;
}

// Lazy reads of every tensor of dir/file (fp32, and bf16 in odd slices) equal the eager fp32 read bit for bit.
static bool lazy_matches_eager(const std::string& dir, const std::string& file, int threads) {
    WeightSet eager, lazy;
    if (!safetensors_read_model(dir, &eager, file).empty() || !safetensors_open_model(dir, &lazy, file).empty()) return false;
    if (eager.tensors.size() != lazy.tensors.size()) return false;
    for (auto& kv : eager.tensors) {
        const Tensor* t = lazy.find(kv.first);
        if (!t || !t->lazy || !t->data.empty() || t->shape != kv.second.shape) return false;
        size_t n = (size_t)t->numel();
        std::vector<float> f(n);
        if (!tensor_read_f32(lazy, *t, f.data(), threads).empty() || std::memcmp(f.data(), kv.second.data.data(), n * 4) != 0) return false;
        // bf16 of both kinds of tensor in three slices [0, n/3), [n/3, n/3 + 1), [n/3 + 1, n)
        std::vector<uint16_t> a(n, 0xdead), b(n, 0xbeef), want(n);
        for (size_t i = 0; i < n; i++) want[i] = f32_to_bf16(kv.second.data[i]);
        int64_t c1 = (int64_t)n / 3, c2 = std::min<int64_t>(1, (int64_t)n - c1);
        for (const Tensor* src : {t, (const Tensor*)&kv.second}) {
            uint16_t* out = src == t ? a.data() : b.data();
            std::vector<Bf16Slice> sl = {{src, 0, c1, out}, {src, c1, c2, out + c1}, {src, c1 + c2, (int64_t)n - c1 - c2, out + c1 + c2}};
            if (!tensors_read_bf16(src == t ? lazy : eager, sl, threads).empty()) return false;
        }
        if (a != want || b != want) return false;
    }
    return true;
}

int main(int argc, char** argv) {
    if (argc < 2) { std::printf("usage: test_files GOLDEN_DIR\n"); return 2; }
    std::string gdir = argv[1];
    std::string tmp = "/tmp/qwen3_lora_test_files_" + std::to_string(::getpid());
    make_dirs(tmp);

    // --- JSON
    {
        Json j;
        EXPECT(json_parse("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}}", &j).empty(), "json parses nested values");
        EXPECT(j.find("a")->arr[0].is_int && j.find("a")->arr[0].inum == 1 && j.find("a")->arr[1].num == -2500.0, "json numbers");
        EXPECT(j.find("a")->arr[4].str == "x\xc3\xa9\xf0\x9f\x98\x80\n", "json \\u escapes incl. surrogate pairs to UTF-8");
        Json k;
        EXPECT(json_parse(j.dump(), &k).empty() && k.dump() == j.dump(), "json dump/parse round trip");
        EXPECT(!json_parse("{\"a\": }", &k).empty() && !json_parse("[1, 2", &k).empty() && !json_parse("1 2", &k).empty(), "json rejects malformed text");
        // a generated answer can stop inside a character: the line must still be valid UTF-8 JSON
        const std::string rep = "\xEF\xBF\xBD";   // U+FFFD
        EXPECT(json_escape(" \xeb\xa7") == " " + rep + rep, "json_escape replaces a truncated character");
        EXPECT(json_escape("\xc3\xa9\xe4\xbd\x93\xf0\x9f\x98\x80") == "\xc3\xa9\xe4\xbd\x93\xf0\x9f\x98\x80", "json_escape keeps valid UTF-8");
        EXPECT(json_escape("\xed\xa0\x80") == rep + rep + rep && json_escape("\xc0\xaf") == rep + rep, "json_escape replaces surrogates and overlongs");
    }

    // --- dtype conversions
    EXPECT(bf16_to_f32(f32_to_bf16(1.0f)) == 1.0f && bf16_to_f32(0x3f80) == 1.0f, "bf16 1.0");
    {
        float x = 1.0f + 1.0f / 256.0f;   // exactly halfway between two bf16 values: round to even (1.0)
        float y = 1.0f + 3.0f / 256.0f;   // halfway: rounds up to 1 + 4/256
        EXPECT(bf16_to_f32(f32_to_bf16(x)) == 1.0f && bf16_to_f32(f32_to_bf16(y)) == 1.0f + 4.0f / 256.0f, "bf16 round to nearest even");
    }
    EXPECT(f16_to_f32(0x3c00) == 1.0f && f16_to_f32(0xc000) == -2.0f && f16_to_f32(0x0001) == std::ldexp(1.0f, -24) &&
           std::isinf(f16_to_f32(0x7c00)), "f16 normal, subnormal, inf");

    // --- safetensors round trip and errors
    {
        std::map<std::string, Tensor> ts;
        Tensor a; a.shape = {2, 3}; a.data = {1, 2, 3, 4, 5, -6.5f};
        Tensor b; b.shape = {1}; b.data = {0.1f};
        ts["w.a"] = a; ts["w.b"] = b;
        EXPECT(safetensors_write(tmp + "/t.safetensors", ts).empty(), "safetensors write F32");
        WeightSet ws;
        EXPECT(safetensors_read(tmp + "/t.safetensors", &ws).empty() && ws.find("w.a")->data == a.data &&
               ws.find("w.a")->shape == a.shape && ws.find("w.b")->data == b.data, "safetensors read back equal");
        const Tensor* t;
        std::string e = ws.get("w.a", {3, 2}, &t);
        EXPECT(e.find("w.a") != std::string::npos && e.find("[2, 3]") != std::string::npos, "shape mismatch error names tensor and shapes");
        EXPECT(safetensors_write_bf16(tmp + "/b.safetensors", ts).empty(), "safetensors write BF16");
        WeightSet wb;
        EXPECT(safetensors_read(tmp + "/b.safetensors", &wb).empty() && wb.find("w.a")->src_dtype == "BF16" &&
               wb.find("w.b")->data[0] == bf16_to_f32(f32_to_bf16(0.1f)), "BF16 file reads as rounded fp32");
        write(tmp + "/bad.safetensors", "garbage");
        EXPECT(!safetensors_read(tmp + "/bad.safetensors", &ws).empty(), "a non-safetensors file is an error");
        // sharded directory: index.json + two shards
        make_dirs(tmp + "/sharded");
        std::map<std::string, Tensor> s1{{"x", a}}, s2{{"y", b}};
        safetensors_write(tmp + "/sharded/model-00001-of-00002.safetensors", s1);
        safetensors_write(tmp + "/sharded/model-00002-of-00002.safetensors", s2);
        write(tmp + "/sharded/model.safetensors.index.json",
              "{\"metadata\": {}, \"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"y\": \"model-00002-of-00002.safetensors\"}}");
        WeightSet sh;
        EXPECT(safetensors_read_model(tmp + "/sharded", &sh).empty() && sh.find("x") && sh.find("y"), "sharded model via index.json");
        EXPECT(lazy_matches_eager(tmp + "/sharded", "", 2), "sharded model opened lazily reads the same values");
        EXPECT(lazy_matches_eager(tmp, "t.safetensors", 1) && lazy_matches_eager(tmp, "b.safetensors", 3), "lazy F32 / BF16 reads == eager");
    }

    // --- lazy reads: big tensors (several 4 MiB blocks, odd tail), every dtype, BF16 bytes unchanged, errors
    {
        std::map<std::string, Tensor> ts;
        Tensor big; big.shape = {2500001};
        big.data.resize(2500001);
        for (size_t i = 0; i < big.data.size(); i++) big.data[i] = std::sin(0.001f * (float)i) * (1.0f + (float)(i % 97));
        ts["big"] = big;
        Tensor small; small.shape = {3, 1}; small.data = {1e-40f, -0.0f, 65504.0f};   // subnormal, signed zero
        ts["small"] = small;
        EXPECT(safetensors_write(tmp + "/big32.safetensors", ts).empty() && safetensors_write_bf16(tmp + "/big16.safetensors", ts).empty(),
               "big F32 and BF16 files written");
        bool ok = true;
        for (int th : {1, 2, 5}) ok &= lazy_matches_eager(tmp, "big32.safetensors", th) && lazy_matches_eager(tmp, "big16.safetensors", th);
        EXPECT(ok, "lazy == eager over several blocks, 1 / 2 / 5 threads");
        WeightSet l32, l16;
        std::vector<float> r32(big.data.size()), r16(big.data.size());
        bool same = safetensors_open_model(tmp, &l32, "big32.safetensors").empty() && safetensors_open_model(tmp, &l16, "big16.safetensors").empty() &&
                    tensor_read_f32(l32, *l32.find("big"), r32.data(), 5).empty() && tensor_read_f32(l16, *l16.find("big"), r16.data(), 5).empty() &&
                    r32 == big.data;
        for (size_t i = 0; i < big.data.size(); i++) same &= r16[i] == bf16_to_f32(f32_to_bf16(big.data[i]));
        EXPECT(same, "lazy reads give the written values (F32) and their bf16 rounding (BF16)");
        // BF16 file: bf16 bits are the file's bytes
        WeightSet lz;
        std::string raw = slurp(tmp + "/big16.safetensors");
        safetensors_open_model(tmp, &lz, "big16.safetensors");
        const Tensor* t = lz.find("big");
        std::vector<uint16_t> bits((size_t)t->numel());
        EXPECT(tensors_read_bf16(lz, {{t, 0, t->numel(), bits.data()}}).empty() &&
               std::memcmp(bits.data(), raw.data() + t->offset, bits.size() * 2) == 0, "BF16 tensor read as its file bytes");
        // F16, F64, I32 files: lazy fp32 == eager fp32 (the converters are shared, the block path is not)
        uint16_t h16[4] = {0x3c00, 0xc000, 0x0001, 0x7c00};
        double d64[3] = {0.1, -1e300, 3.0};
        int32_t i32[2] = {-7, 1 << 30};
        write_raw_tensor(tmp + "/h.safetensors", "F16", 4, std::string((const char*)h16, 8));
        write_raw_tensor(tmp + "/d.safetensors", "F64", 3, std::string((const char*)d64, 24));
        write_raw_tensor(tmp + "/i.safetensors", "I32", 2, std::string((const char*)i32, 8));
        EXPECT(lazy_matches_eager(tmp, "h.safetensors", 2) && lazy_matches_eager(tmp, "d.safetensors", 2) &&
               lazy_matches_eager(tmp, "i.safetensors", 1), "lazy F16 / F64 / I32 reads == eager");
        WeightSet hw;
        EXPECT(safetensors_read(tmp + "/h.safetensors", &hw).empty() && hw.find("t")->data[0] == 1.0f && hw.find("t")->data[1] == -2.0f &&
               std::isinf(hw.find("t")->data[3]), "F16 file reads to fp32");
        // the file shrinks after it was opened: the read is an error, not garbage
        WeightSet later;
        safetensors_open_model(tmp, &later, "big32.safetensors");
        EXPECT(::truncate((tmp + "/big32.safetensors").c_str(), 1000) == 0, "truncate");
        std::vector<float> f((size_t)later.find("big")->numel());
        EXPECT(!tensor_read_f32(later, *later.find("big"), f.data()).empty(), "reading a file that shrank since open is an error");
        WeightSet trunc;
        EXPECT(safetensors_open_model(tmp, &trunc, "big32.safetensors").find("data_offsets") != std::string::npos,
               "opening a truncated file is an error");
    }

    // --- init-random: same file for any thread count, the intended statistics
    {
        InitRandomOptions o;
        o.config = "tiny"; o.seed = 11; o.dtype = "f32";
        o.threads = 1; o.out = tmp + "/r1";
        Status e1 = run_init_random(o);
        o.threads = 3; o.out = tmp + "/r3";
        Status e3 = run_init_random(o);
        o.seed = 12; o.out = tmp + "/r12";
        Status e12 = run_init_random(o);
        std::string f1 = slurp(tmp + "/r1/model.safetensors");
        EXPECT(e1.empty() && e3.empty() && e12.empty() && !f1.empty() && f1 == slurp(tmp + "/r3/model.safetensors"),
               "init-random: 1 and 3 threads write the same file");
        EXPECT(f1 != slurp(tmp + "/r12/model.safetensors"), "init-random: another seed, other values");
        WeightSet w;
        Qwen3Config c;
        EXPECT(safetensors_read_model(tmp + "/r1", &w).empty() && qwen3_config_read(tmp + "/r1", &c).empty(), "init-random output reads back");
        auto stats = [&](const std::string& n, double* mean, double* sd) {
            const Tensor* t = w.find(n);
            double s = 0, s2 = 0;
            for (float v : t->data) { s += v; s2 += (double)v * v; }
            *mean = s / (double)t->data.size();
            *sd = std::sqrt(s2 / (double)t->data.size() - *mean * *mean);
        };
        double m, sd, me, sde;
        stats("model.layers.0.mlp.gate_proj.weight", &m, &sd);          // fan_in = hidden
        stats("model.embed_tokens.weight", &me, &sde);                  // embed_scale 4
        const Tensor* nw = w.find("model.layers.1.input_layernorm.weight");
        bool ones = true;
        for (float v : nw->data) ones &= v == 1.0f;
        double want = 1.0 / std::sqrt((double)c.hidden_size), want_e = 4.0 / std::sqrt((double)c.hidden_size);
        EXPECT(std::fabs(m) < 0.06 * want && std::fabs(sd / want - 1) < 0.04 &&   // 6 sigma of 10,240 values
                std::fabs(me) < 0.002 * want_e &&
               std::fabs(sde / want_e - 1) < 0.002 && ones, "init-random: N(0, 1/fan_in) linears, N(0, 16/hidden) embedding, norms 1");
    }

    // --- config.json
    {
        Qwen3Config c;
        EXPECT(qwen3_config_read(gdir + "/tiny_hd128/config.json", &c).empty() && c.head_dim == 128 && c.hidden_size == 256 &&
               c.rope_theta == 1e6 && c.tie_word_embeddings && c.num_key_value_heads == 2, "config with rope_parameters (transformers 5)");
        write(tmp + "/config.json", "{\"model_type\": \"qwen3\", \"vocab_size\": 10, \"hidden_size\": 8, \"intermediate_size\": 16,"
              " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 4, \"rope_theta\": 5000,"
              " \"tie_word_embeddings\": false}");
        EXPECT(qwen3_config_read(tmp, &c).empty() && c.rope_theta == 5000 && !c.tie_word_embeddings, "config with top-level rope_theta (transformers 4)");
        EXPECT(qwen3_weight_specs(c).back().name == "lm_head.weight", "untied config needs lm_head.weight");
        write(tmp + "/config.json", "{\"model_type\": \"llama\", \"vocab_size\": 10}");
        std::string e = qwen3_config_read(tmp, &c);
        EXPECT(e.find("not a Qwen3") != std::string::npos && e.find("config.json") != std::string::npos, "non-Qwen3 config rejected, naming the file");
        write(tmp + "/config.json", "{\"model_type\": \"qwen3\", \"vocab_size\": 10}");
        e = qwen3_config_read(tmp, &c);
        EXPECT(e.find("hidden_size") != std::string::npos, "missing field named in the error");
    }

    // --- datasets: .qld round trip, JSONL, vocab check
    {
        Dataset ds;
        Sample s; s.tokens = {5, 6, 7, 8}; s.labels = {-100, -100, 7, 8}; s.prompt_len = 2; s.prompt_text = "提示"; s.label_text = "Sports";
        ds.samples = {s, s};
        ds.samples[1].tokens = {1, 2, 3};
        ds.samples[1].labels = {-100, 2, 3};
        ds.samples[1].prompt_len = 1;
        ds.decode = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
        EXPECT(dataset_write_qld(tmp + "/d.qld", ds).empty(), ".qld write");
        Dataset r;
        EXPECT(dataset_read(tmp + "/d.qld", &r).empty() && r.samples.size() == 2 && r.samples[0].labels == s.labels &&
               r.samples[1].tokens == ds.samples[1].tokens && r.samples[0].prompt_text == "提示" && r.samples[1].label_text == "Sports" &&
               r.samples[1].prompt_len == 1 && r.decode.size() == 9 && r.decode_ids({7, 8}) == "hi", ".qld read back equal");
        EXPECT(dataset_check_vocab(r, 9).empty() && dataset_check_vocab(r, 8).find("outside the model vocabulary") != std::string::npos,
               "out-of-vocabulary ids are reported");
        write(tmp + "/d.jsonl", "{\"input_ids\": [1, 2, 3], \"labels\": [-100, -100, 3]}\n\n{\"input_ids\": [4], \"labels\": [4]}\n");
        EXPECT(dataset_read(tmp + "/d.jsonl", &r).empty() && r.samples.size() == 2 && r.samples[0].prompt_len == 2 && r.samples[1].labels[0] == 4,
               "JSONL read, prompt_len = first label");
        write(tmp + "/e.jsonl", "{\"input_ids\": [1, 2], \"labels\": [1]}\n");
        EXPECT(dataset_read(tmp + "/e.jsonl", &r).find("line 1") != std::string::npos, "JSONL length mismatch names the line");
        EXPECT(!dataset_read(tmp + "/missing.qld", &r).empty(), "missing data file is an error");
    }

    // --- one step's samples grouped by length (less padding, same gradient)
    {
        Dataset ds;
        for (int len : {10, 100, 12, 98, 50, 100, 7}) { Sample s; s.tokens.assign(len, 1); ds.samples.push_back(s); }
        std::vector<int> order = {6, 0, 1, 2, 3, 4, 5};
        group_by_length(&order, 1, 5, ds);   // step = order[1..5) = samples 0, 1, 2, 3
        EXPECT((order == std::vector<int>{6, 1, 3, 2, 0, 4, 5}), "group_by_length sorts only the step's range, longest first");
        std::vector<int> ties = {5, 1, 0};
        group_by_length(&ties, 0, 3, ds);
        EXPECT((ties == std::vector<int>{5, 1, 0}), "group_by_length keeps the shuffled order of equal lengths");
    }

    // --- LoRA layout, init, PEFT files, checkpoint
    {
        Qwen3Config c;
        qwen3_config_read(gdir + "/tiny/config.json", &c);
        LoraConfig lc; lc.r = 4; lc.alpha = 16;
        LoraLayout L = lora_layout(c, lc);
        // per layer: q 64->64, k 64->32, v 64->32, o 64->64, gate 64->160, up 64->160, down 160->64
        size_t per_layer = 4 * ((64 + 64) + (64 + 32) * 2 + (64 + 64) + (64 + 160) * 2 + (160 + 64));
        EXPECT(L.total == 2 * per_layer && L.slots.size() == 14, "layout size (r=4, tiny)");
        EXPECT(L.slots[1].target == LORA_K && L.slots[1].a_off == L.slots[0].b_off + (size_t)64 * 4 && L.slots[7].layer == 1, "canonical order");
        EXPECT(lora_peft_key(1, LORA_DOWN, true) == "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", "PEFT key names");
        uint32_t mask;
        EXPECT(lora_parse_targets("q,v,down_proj", &mask).empty() && mask == ((1u << LORA_Q) | (1u << LORA_V) | (1u << LORA_DOWN)) &&
               !lora_parse_targets("q,foo", &mask).empty(), "target list parsing");
        std::vector<float> p(L.total), q(L.total);
        lora_init(L, 7, p.data());
        lora_init(L, 7, q.data());
        bool in_bound = true, b_zero = true;
        double sum = 0;
        for (auto& sl : L.slots) {
            for (int i = 0; i < 4 * sl.in; i++) { float v = p[sl.a_off + i]; in_bound &= std::fabs(v) <= 1.0f / std::sqrt((float)sl.in); sum += std::fabs(v); }
            for (int i = 0; i < sl.out * 4; i++) b_zero &= p[sl.b_off + i] == 0.0f;
        }
        EXPECT(in_bound && b_zero && p == q && sum > 0, "init: A in +-1/sqrt(in) (kaiming_uniform a=sqrt(5)), B = 0, deterministic");
        EXPECT(lora_save_peft(tmp + "/ad", L, lc, p.data(), "m").empty(), "PEFT adapter save");
        LoraConfig lc2;
        std::fill(q.begin(), q.end(), 0.0f);
        EXPECT(lora_read_peft_config(tmp + "/ad", &lc2).empty() && lc2.r == 4 && lc2.alpha == 16 && lc2.target_mask == lc.target_mask &&
               lora_load_peft(tmp + "/ad", L, q.data()).empty() && p == q, "PEFT adapter load round trip");
        std::vector<float> fromgold(L.total);
        EXPECT(lora_read_peft_config(gdir + "/tiny/adapter_init", &lc2).empty() && lc2.r == 4 &&
               lora_load_peft(gdir + "/tiny/adapter_init", L, fromgold.data()).empty(), "PEFT's own adapter (F64) loads");
        std::vector<float> m(L.total, 0.5f), v(L.total, 0.25f), m2(L.total), v2(L.total);
        TrainerState st; st.step = 12; st.epoch = 1; st.seed = 42; st.optimizer_steps = 11; st.total_steps = 50;
        TrainerState st2;
        EXPECT(checkpoint_save(tmp + "/ck", L, lc, p.data(), m.data(), v.data(), st, "m").empty() &&
               checkpoint_load(tmp + "/ck", L, q.data(), m2.data(), v2.data(), &st2).empty() && q == p && m2 == m && v2 == v &&
               st2.step == 12 && st2.optimizer_steps == 11 && st2.seed == 42 && st2.total_steps == 50, "checkpoint round trip");
        LoraConfig lc8; lc8.r = 8;
        LoraLayout L8 = lora_layout(c, lc8);
        std::vector<float> p8(L8.total);
        EXPECT(lora_load_peft(tmp + "/ad", L8, p8.data()).find("shape") != std::string::npos, "adapter of another rank is a shape error");
    }

    std::string rm = "rm -rf '" + tmp + "'";
    if (std::system(rm.c_str()) != 0) std::printf("warning: could not remove %s\n", tmp.c_str());
    std::printf("== files: %s\n", g_fail ? "FAILED" : "passed");
    return g_fail ? 1 : 0;
}

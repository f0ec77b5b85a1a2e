// .qld reader/writer and JSONL reader. Layout (little-endian): "QLD1", u32 version=1, u32 n, u32 flags,
// u64 offsets[n+1], i32 tokens[], i32 labels[], u32 prompt_len[n], u64 text_offsets[2n+1], text bytes,
// then (flags bit 0) u32 V, u64 decode_offsets[V+1], decode bytes.
#include "dataset.h"
#include "json.h"
#include <cstring>
#include <fstream>
#include <sstream>

std::string Dataset::decode_ids(const std::vector<int32_t>& ids) const {
    std::string s;
    for (int32_t id : ids) if (id >= 0 && (size_t)id < decode.size()) s += decode[id];
    return s;
}

namespace {
struct Reader {
    const std::string& b; size_t i = 0; bool ok = true;
    explicit Reader(const std::string& s) : b(s) {}
    template <class T> T get() {
        T v{};
        if (i + sizeof(T) > b.size()) { ok = false; return v; }
        std::memcpy(&v, b.data() + i, sizeof(T)); i += sizeof(T); return v;
    }
    template <class T> std::vector<T> vec(uint64_t n) {
        std::vector<T> v;
        if (n > (b.size() - std::min(i, b.size())) / sizeof(T)) { ok = false; return v; }
        v.resize(n); std::memcpy(v.data(), b.data() + i, n * sizeof(T)); i += n * sizeof(T); return v;
    }
};

std::string read_qld(const std::string& path, const std::string& buf, Dataset* ds) {
    Reader r(buf);
    r.i = 4;
    uint32_t version = r.get<uint32_t>(), n = r.get<uint32_t>(), flags = r.get<uint32_t>();
    if (!r.ok) return path + ": truncated .qld header";
    if (version != 1) return path + ": unsupported .qld version " + std::to_string(version);
    auto off = r.vec<uint64_t>((uint64_t)n + 1);
    if (!r.ok) return path + ": truncated .qld offsets";
    uint64_t nt = off[n];
    for (uint32_t k = 0; k < n; k++) if (off[k] > off[k + 1]) return path + ": .qld offsets not increasing at sample " + std::to_string(k);
    auto tok = r.vec<int32_t>(nt);
    auto lab = r.vec<int32_t>(nt);
    auto pl = r.vec<uint32_t>(n);
    auto toff = r.vec<uint64_t>(2ull * n + 1);
    if (!r.ok) return path + ": truncated .qld body";
    uint64_t nbytes = toff[2ull * n];
    if (r.i + nbytes > buf.size()) return path + ": truncated .qld text section";
    size_t text0 = r.i;
    r.i += nbytes;
    ds->samples.resize(n);
    for (uint32_t k = 0; k < n; k++) {
        Sample& s = ds->samples[k];
        s.tokens.assign(tok.begin() + off[k], tok.begin() + off[k + 1]);
        s.labels.assign(lab.begin() + off[k], lab.begin() + off[k + 1]);
        s.prompt_len = (int)pl[k];
        if (s.prompt_len > (int)s.tokens.size()) return path + ": sample " + std::to_string(k) + " prompt_len exceeds its length";
        if (toff[2 * k] > toff[2 * k + 1] || toff[2 * k + 1] > toff[2 * k + 2] || toff[2 * k + 2] > nbytes)
            return path + ": bad text offsets at sample " + std::to_string(k);
        s.prompt_text = buf.substr(text0 + toff[2 * k], toff[2 * k + 1] - toff[2 * k]);
        s.label_text = buf.substr(text0 + toff[2 * k + 1], toff[2 * k + 2] - toff[2 * k + 1]);
    }
    if (flags & 1u) {
        uint32_t V = r.get<uint32_t>();
        auto doff = r.vec<uint64_t>((uint64_t)V + 1);
        if (!r.ok || r.i + doff[V] > buf.size()) return path + ": truncated .qld decode table";
        ds->decode.resize(V);
        for (uint32_t v = 0; v < V; v++) {
            if (doff[v] > doff[v + 1]) return path + ": bad decode table offsets";
            ds->decode[v] = buf.substr(r.i + doff[v], doff[v + 1] - doff[v]);
        }
    }
    return "";
}

std::string read_jsonl(const std::string& path, const std::string& buf, Dataset* ds) {
    std::istringstream in(buf);
    std::string line;
    int ln = 0;
    while (std::getline(in, line)) {
        ln++;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::string where = path + " line " + std::to_string(ln);
        Json j;
        std::string e = json_parse(line, &j);
        if (!e.empty()) return where + ": invalid JSON: " + e;
        const Json* ids = j.find("input_ids");
        const Json* lab = j.find("labels");
        if (!ids || ids->type != Json::ARR) return where + ": missing array field 'input_ids'";
        Sample s;
        for (auto& v : ids->arr) { if (!v.is_int) return where + ": 'input_ids' must hold integers"; s.tokens.push_back((int32_t)v.inum); }
        if (lab) {
            if (lab->type != Json::ARR || lab->arr.size() != ids->arr.size()) return where + ": 'labels' must be an array as long as 'input_ids'";
            for (auto& v : lab->arr) { if (!v.is_int) return where + ": 'labels' must hold integers"; s.labels.push_back((int32_t)v.inum); }
        } else {
            s.labels = s.tokens;
        }
        s.prompt_len = (int)s.tokens.size();
        for (size_t t = 0; t < s.labels.size(); t++) if (s.labels[t] != -100) { s.prompt_len = (int)t; break; }
        if (s.tokens.empty()) return where + ": empty 'input_ids'";
        ds->samples.push_back(std::move(s));
    }
    return "";
}
}  // namespace

std::string dataset_read(const std::string& path, Dataset* ds) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "cannot open data file " + path;
    std::stringstream ss; ss << f.rdbuf();
    std::string buf = ss.str();
    ds->path = path;
    ds->samples.clear(); ds->decode.clear();
    std::string e = buf.compare(0, 4, "QLD1") == 0 ? read_qld(path, buf, ds) : read_jsonl(path, buf, ds);
    if (e.empty() && ds->samples.empty()) e = path + ": no samples";
    return e;
}

std::string dataset_check_vocab(const Dataset& ds, int vocab) {
    for (size_t k = 0; k < ds.samples.size(); k++) {
        const Sample& s = ds.samples[k];
        for (size_t t = 0; t < s.tokens.size(); t++) {
            int id = s.tokens[t], lb = s.labels[t];
            if (id < 0 || id >= vocab || (lb != -100 && (lb < 0 || lb >= vocab)))
                return ds.path + ": sample " + std::to_string(k) + " position " + std::to_string(t) + " has token id " +
                       std::to_string(id < 0 || id >= vocab ? id : lb) + " outside the model vocabulary [0, " + std::to_string(vocab) + ")";
        }
    }
    return "";
}

std::string dataset_write_qld(const std::string& path, const Dataset& ds) {
    std::ofstream f(path, std::ios::binary);
    if (!f) return "cannot write " + path;
    auto put = [&](const void* p, size_t n) { f.write((const char*)p, (std::streamsize)n); };
    uint32_t hdr[3] = {1, (uint32_t)ds.samples.size(), ds.decode.empty() ? 0u : 1u};
    put("QLD1", 4); put(hdr, 12);
    std::vector<uint64_t> off{0};
    for (auto& s : ds.samples) off.push_back(off.back() + s.tokens.size());
    put(off.data(), off.size() * 8);
    for (auto& s : ds.samples) put(s.tokens.data(), s.tokens.size() * 4);
    for (auto& s : ds.samples) put(s.labels.data(), s.labels.size() * 4);
    for (auto& s : ds.samples) { uint32_t p = (uint32_t)s.prompt_len; put(&p, 4); }
    std::vector<uint64_t> to{0};
    for (auto& s : ds.samples) { to.push_back(to.back() + s.prompt_text.size()); to.push_back(to.back() + s.label_text.size()); }
    put(to.data(), to.size() * 8);
    for (auto& s : ds.samples) { put(s.prompt_text.data(), s.prompt_text.size()); put(s.label_text.data(), s.label_text.size()); }
    if (!ds.decode.empty()) {
        uint32_t V = (uint32_t)ds.decode.size(); put(&V, 4);
        std::vector<uint64_t> d{0};
        for (auto& s : ds.decode) d.push_back(d.back() + s.size());
        put(d.data(), d.size() * 8);
        for (auto& s : ds.decode) put(s.data(), s.size());
    }
    return f ? "" : "write error on " + path;
}

// safetensors format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw data.
// Reads go through pread in blocks of kBlockBytes so that several threads can share one file and no
// whole-file buffer is ever allocated; the dtype switch sits outside the per-element loops.
#include "safetensors.h"
#include "json.h"
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

bool file_exists(const std::string& path) { struct stat st; return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode); }

std::string Tensor::shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string WeightSet::get(const std::string& name, const std::vector<int64_t>& shape, const Tensor** out) const {
    const Tensor* t = find(name);
    std::string where = files.empty() ? "the checkpoint" : files[0];
    if (!t) return "tensor '" + name + "' missing in " + where;
    if (t->shape != shape) {
        Tensor e; e.shape = shape;
        return "tensor '" + name + "' in " + where + " has shape " + t->shape_str() + ", expected " + e.shape_str();
    }
    *out = t;
    return "";
}

float bf16_to_f32(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; std::memcpy(&f, &u, 4); return f; }
uint16_t f32_to_bf16(float f) {
    uint32_t u; std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
float f16_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0) {
        if (m == 0) u = s;
        else { e = 127 - 15 + 1; while (!(m & 0x400)) { m <<= 1; e--; } m &= 0x3ff; u = s | (e << 23) | (m << 13); }
    } else if (e == 31) u = s | 0x7f800000u | (m << 13);
    else u = s | ((e + 127 - 15) << 23) | (m << 13);
    float f; std::memcpy(&f, &u, 4); return f;
}

int io_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return (int)std::max(1u, std::min(n, 16u));
}

// ----------------------------------------------------------------------------
// Blocks, threads, pread

namespace {

const uint64_t kBlockBytes = 4u << 20;   // one pread / one unit of work: big enough to amortise the syscall

enum Dtype { DT_F32, DT_BF16, DT_F16, DT_F64, DT_I64, DT_I32, DT_BAD };
Dtype dtype_of(const std::string& d) {
    if (d == "F32") return DT_F32;
    if (d == "BF16") return DT_BF16;
    if (d == "F16") return DT_F16;
    if (d == "F64") return DT_F64;
    if (d == "I64") return DT_I64;
    if (d == "I32") return DT_I32;
    return DT_BAD;
}
int dtype_size(Dtype d) { return d == DT_BF16 || d == DT_F16 ? 2 : d == DT_F64 || d == DT_I64 ? 8 : d == DT_BAD ? 0 : 4; }

// n values of dtype d (little-endian bytes) -> fp32, as the file's values would print in torch .float()
// (F64 and integers cast to float, so bf16 later rounds twice, exactly as reading to fp32 first always did).
void to_f32(Dtype d, const char* p, size_t n, float* out) {
    switch (d) {
        case DT_F32: std::memcpy(out, p, n * 4); break;
        case DT_BF16: for (size_t i = 0; i < n; i++) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = bf16_to_f32(v); } break;
        case DT_F16: for (size_t i = 0; i < n; i++) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = f16_to_f32(v); } break;
        case DT_F64: for (size_t i = 0; i < n; i++) { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = (float)v; } break;
        case DT_I64: for (size_t i = 0; i < n; i++) { int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = (float)v; } break;
        case DT_I32: for (size_t i = 0; i < n; i++) { int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = (float)v; } break;
        case DT_BAD: break;
    }
}

void f32_to_bf16_n(const float* in, size_t n, uint16_t* out) { for (size_t i = 0; i < n; i++) out[i] = f32_to_bf16(in[i]); }

// Runs fn(i) for i in [0, n) on up to `threads` threads (the caller is one of them), in no fixed order.
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& fn) {
    size_t nt = std::min<size_t>(n, (size_t)std::max(1, threads));
    if (nt <= 1) { for (size_t i = 0; i < n; i++) fn(i); return; }
    std::atomic<size_t> next{0};
    auto work = [&] { for (size_t i; (i = next.fetch_add(1)) < n;) fn(i); };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < nt; t++) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
}

// First error wins; later ones are dropped (they are usually the same cause).
struct ErrorSlot {
    std::mutex mu;
    std::string msg;
    void set(const std::string& m) { std::lock_guard<std::mutex> g(mu); if (msg.empty()) msg = m; }
};

bool pread_full(int fd, void* buf, size_t n, uint64_t off) {
    char* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t r = ::pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
    return true;
}

// Open file descriptors of a WeightSet's files for one read call (closed on destruction).
struct Fds {
    const WeightSet& ws;
    std::vector<int> fd;
    explicit Fds(const WeightSet& w) : ws(w), fd(w.files.size(), -1) {}
    ~Fds() { for (int f : fd) if (f >= 0) ::close(f); }
    std::string open(int i) {
        if (i < 0 || (size_t)i >= fd.size()) return "tensor has no file to read from";
        if (fd[i] < 0 && (fd[i] = ::open(ws.files[i].c_str(), O_RDONLY | O_CLOEXEC)) < 0) return "cannot open " + ws.files[i];
        return "";
    }
};

// Buffer of one worker thread for blocks that need conversion.
char* scratch(size_t n) {
    thread_local std::vector<char> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// One unit of work: elements [begin, begin + count) of t into out (fp32) or out16 (bf16 bits).
struct Block { const Tensor* t; int64_t begin, count; float* out; uint16_t* out16; };

std::string read_block(const Block& b, const std::vector<int>& fds, const WeightSet& ws) {
    const Tensor& t = *b.t;
    if (!t.lazy) {   // in memory already
        const float* src = t.data.data() + b.begin;
        if (b.out) std::memcpy(b.out, src, (size_t)b.count * 4);
        else f32_to_bf16_n(src, (size_t)b.count, b.out16);
        return "";
    }
    Dtype d = dtype_of(t.src_dtype);
    size_t es = (size_t)dtype_size(d), bytes = (size_t)b.count * es;
    uint64_t off = t.offset + (uint64_t)b.begin * es;
    int fd = fds[t.file];
    auto fail = [&] { return ws.files[t.file] + ": read error (file shorter than its header says, or changed since it was opened)"; };
    if (b.out16 && d == DT_BF16) return pread_full(fd, b.out16, bytes, off) ? "" : fail();   // the file's bytes are the answer
    if (b.out && d == DT_F32) return pread_full(fd, b.out, bytes, off) ? "" : fail();
    char* raw = scratch(bytes + 4 + (b.out16 ? (size_t)b.count * 4 : 0));
    if (!pread_full(fd, raw, bytes, off)) return fail();
    if (b.out) { to_f32(d, raw, (size_t)b.count, b.out); return ""; }
    if (d == DT_F32) { f32_to_bf16_n(reinterpret_cast<const float*>(raw), (size_t)b.count, b.out16); return ""; }
    float* f = reinterpret_cast<float*>(raw + ((bytes + 3) & ~(size_t)3));
    to_f32(d, raw, (size_t)b.count, f);
    f32_to_bf16_n(f, (size_t)b.count, b.out16);
    return "";
}

// Splits [begin, begin + count) of t into blocks of at most kBlockBytes of file data.
void split(const Tensor* t, int64_t begin, int64_t count, float* out, uint16_t* out16, std::vector<Block>* blocks) {
    int64_t es = t->lazy ? dtype_size(dtype_of(t->src_dtype)) : 4;
    int64_t per = std::max<int64_t>(1, (int64_t)kBlockBytes / std::max<int64_t>(1, es));
    for (int64_t k = 0; k < count; k += per) {
        int64_t c = std::min(per, count - k);
        blocks->push_back({t, begin + k, c, out ? out + k : nullptr, out16 ? out16 + k : nullptr});
    }
}

std::string run_blocks(const WeightSet& ws, const std::vector<Block>& blocks, int threads) {
    Fds fds(ws);
    for (auto& b : blocks)
        if (b.t->lazy) { std::string e = fds.open(b.t->file); if (!e.empty()) return e; }
    ErrorSlot err;
    parallel_for(blocks.size(), threads > 0 ? threads : io_threads(), [&](size_t i) {
        std::string e = read_block(blocks[i], fds.fd, ws);
        if (!e.empty()) err.set(e);
    });
    return err.msg;
}

// Parses one file's header into lazy tensors of *ws.
std::string open_file(const std::string& path, WeightSet* ws) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot open " + path;
    struct stat st;
    uint64_t fsize = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0, hlen = 0;
    std::string hdr, err;
    if (fsize < 8 || !pread_full(fd, &hlen, 8, 0)) err = ": not a safetensors file (too short)";
    else if (hlen > fsize - 8 || hlen > (100u << 20)) err = ": bad safetensors header length";
    else { hdr.resize(hlen); if (!pread_full(fd, &hdr[0], hlen, 8)) err = ": read error in the header"; }
    ::close(fd);
    if (!err.empty()) return path + err;
    Json h;
    std::string e = json_parse(hdr, &h);
    if (!e.empty()) return path + ": bad safetensors header: " + e;
    if (h.type != Json::OBJ) return path + ": safetensors header is not an object";
    uint64_t base = 8 + hlen;
    int file = (int)ws->files.size();
    ws->files.push_back(path);
    for (auto& kv : h.obj) {
        if (kv.first == "__metadata__") continue;
        const Json* dt = kv.second.find("dtype");
        const Json* sh = kv.second.find("shape");
        const Json* off = kv.second.find("data_offsets");
        if (!dt || !sh || !off || !dt->is_str() || sh->type != Json::ARR || off->arr.size() != 2)
            return path + ": tensor '" + kv.first + "' has an incomplete header entry";
        int esz = dtype_size(dtype_of(dt->str));
        if (!esz) return path + ": tensor '" + kv.first + "' has unsupported dtype " + dt->str;
        Tensor t;
        t.src_dtype = dt->str;
        for (auto& d : sh->arr) t.shape.push_back(d.inum);
        uint64_t b = (uint64_t)off->arr[0].inum, en = (uint64_t)off->arr[1].inum;
        uint64_t n = (uint64_t)t.numel();
        if (en < b || en - b != n * esz || base + en > fsize)
            return path + ": tensor '" + kv.first + "' data_offsets do not match its shape/dtype or the file size";
        t.lazy = true;
        t.file = file;
        t.offset = base + b;
        ws->tensors[kv.first] = std::move(t);
    }
    return "";
}

// The files of a model directory (see safetensors_read_model), each opened lazily; checks the index's map.
std::string open_model(const std::string& dir, WeightSet* ws, const std::string& file_name) {
    if (!file_name.empty()) return open_file(dir + "/" + file_name, ws);
    std::string idx = dir + "/model.safetensors.index.json";
    if (file_exists(idx)) {
        Json j;
        std::string e = json_read_file(idx, &j);
        if (!e.empty()) return e;
        const Json* wm = j.find("weight_map");
        if (!wm || wm->type != Json::OBJ) return idx + ": missing field 'weight_map'";
        std::vector<std::string> shards;
        for (auto& kv : wm->obj)
            if (std::find(shards.begin(), shards.end(), kv.second.str) == shards.end()) shards.push_back(kv.second.str);
        for (auto& s : shards) { e = open_file(dir + "/" + s, ws); if (!e.empty()) return e; }
        for (auto& kv : wm->obj)
            if (!ws->find(kv.first)) return idx + ": tensor '" + kv.first + "' listed in weight_map is not in " + kv.second.str;
        return "";
    }
    if (file_exists(dir + "/model.safetensors")) return open_file(dir + "/model.safetensors", ws);
    return "no model.safetensors or model.safetensors.index.json in " + dir;
}

// Reads every still-lazy tensor of *ws into fp32 data.
std::string load_all(WeightSet* ws) {
    std::vector<Block> blocks;
    for (auto& kv : ws->tensors) {
        Tensor& t = kv.second;
        if (!t.lazy) continue;
        t.data.resize((size_t)t.numel());
        split(&t, 0, t.numel(), t.data.data(), nullptr, &blocks);
    }
    std::string e = run_blocks(*ws, blocks, 0);
    if (!e.empty()) return e;
    for (auto& kv : ws->tensors) kv.second.lazy = false;
    return "";
}

}  // namespace

int dtype_bytes(const std::string& dtype) { return dtype_size(dtype_of(dtype)); }

// ----------------------------------------------------------------------------
// Reading

std::string safetensors_read(const std::string& path, WeightSet* ws) {
    WeightSet part;
    std::string e = open_file(path, &part);
    if (e.empty()) e = load_all(&part);
    if (!e.empty()) return e;
    ws->files.push_back(path);
    for (auto& kv : part.tensors) { kv.second.file = (int)ws->files.size() - 1; ws->tensors[kv.first] = std::move(kv.second); }
    return "";
}

std::string safetensors_read_model(const std::string& dir, WeightSet* ws, const std::string& file_name) {
    std::string e = safetensors_open_model(dir, ws, file_name);
    return e.empty() ? load_all(ws) : e;
}

std::string safetensors_open_model(const std::string& dir, WeightSet* ws, const std::string& file_name) {
    return open_model(dir, ws, file_name);
}

std::string tensor_read_f32(const WeightSet& ws, const Tensor& t, float* out, int threads) {
    std::vector<Block> blocks;
    split(&t, 0, t.numel(), out, nullptr, &blocks);
    return run_blocks(ws, blocks, threads);
}

std::string tensors_read_bf16(const WeightSet& ws, const std::vector<Bf16Slice>& slices, int threads) {
    std::vector<Block> blocks;
    for (auto& s : slices) {
        if (s.begin < 0 || s.count < 0 || s.begin + s.count > s.t->numel()) return "tensors_read_bf16: slice outside its tensor";
        split(s.t, s.begin, s.count, nullptr, s.out, &blocks);
    }
    return run_blocks(ws, blocks, threads);
}

// ----------------------------------------------------------------------------
// Writing

namespace {

// Length-prefixed header of a file holding specs (already in name order), padded so the data start 8-aligned.
std::string header_of(const std::vector<TensorSpec>& specs, bool bf16) {
    Json h = Json::object();
    Json meta = Json::object(); meta.set("format", "pt");
    h.set("__metadata__", meta);
    uint64_t off = 0, esz = bf16 ? 2 : 4;
    for (auto& s : specs) {
        Json e = Json::object();
        e.set("dtype", bf16 ? "BF16" : "F32");
        Json sh = Json::array();
        uint64_t n = 1;
        for (auto d : s.shape) { sh.push(Json((int64_t)d)); n *= (uint64_t)d; }
        e.set("shape", sh);
        Json o = Json::array(); o.push(Json(off)); o.push(Json(off + n * esz));
        e.set("data_offsets", o);
        off += n * esz;
        h.set(s.name, e);
    }
    std::string hs = h.dump();
    while ((hs.size() + 8) % 8) hs += ' ';
    uint64_t hl = hs.size();
    return std::string((const char*)&hl, 8) + hs;
}

bool pwrite_full(int fd, const void* buf, size_t n, uint64_t off) {
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t r = ::pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
    return true;
}

}  // namespace

std::string safetensors_write_generated(const std::string& path, const std::vector<TensorSpec>& specs_in, bool bf16,
                                        const TensorFill& fill, int threads) {
    std::vector<size_t> order(specs_in.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return specs_in[a].name < specs_in[b].name; });
    std::vector<TensorSpec> specs;
    for (size_t i : order) specs.push_back(specs_in[i]);
    std::string head = header_of(specs, bf16);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot write " + path;
    bool ok = pwrite_full(fd, head.data(), head.size(), 0);
    // blocks of 1M elements, each generated and written by one thread at its final offset
    const int64_t per = 1 << 20;
    const uint64_t esz = bf16 ? 2 : 4;
    struct WBlock { size_t spec; int64_t begin, count; uint64_t off; };
    std::vector<WBlock> blocks;
    uint64_t off = head.size();
    for (size_t k = 0; k < specs.size(); k++) {
        int64_t n = 1;
        for (auto d : specs[k].shape) n *= d;
        for (int64_t b = 0; b < n; b += per) blocks.push_back({order[k], b, std::min(per, n - b), off + (uint64_t)b * esz});
        off += (uint64_t)n * esz;
    }
    std::atomic<bool> good{ok};
    if (ok)
        parallel_for(blocks.size(), threads > 0 ? threads : io_threads(), [&](size_t i) {
            const WBlock& b = blocks[i];
            char* buf = scratch((size_t)b.count * (4 + esz));
            float* f = reinterpret_cast<float*>(buf);
            fill(b.spec, b.begin, b.count, f);
            const void* src = f;
            if (bf16) {
                uint16_t* h = reinterpret_cast<uint16_t*>(buf + (size_t)b.count * 4);
                f32_to_bf16_n(f, (size_t)b.count, h);
                src = h;
            }
            if (!pwrite_full(fd, src, (size_t)b.count * esz, b.off)) good = false;
        });
    if (::close(fd) != 0) good = false;
    return good ? "" : "write error on " + path;
}

static std::string write_impl(const std::string& path, const std::map<std::string, Tensor>& tensors, bool bf16) {
    std::vector<TensorSpec> specs;
    std::vector<const Tensor*> ts;
    for (auto& kv : tensors) {
        if ((int64_t)kv.second.data.size() != kv.second.numel()) return "tensor '" + kv.first + "': data size does not match shape";
        specs.push_back({kv.first, kv.second.shape});
        ts.push_back(&kv.second);
    }
    return safetensors_write_generated(path, specs, bf16, [&](size_t i, int64_t b, int64_t n, float* out) {
        std::memcpy(out, ts[i]->data.data() + b, (size_t)n * 4);
    }, 1);
}
std::string safetensors_write(const std::string& path, const std::map<std::string, Tensor>& t) { return write_impl(path, t, false); }
std::string safetensors_write_bf16(const std::string& path, const std::map<std::string, Tensor>& t) { return write_impl(path, t, true); }

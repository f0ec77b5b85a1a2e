// safetensors format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw data.
#include "safetensors.h"
#include "json.h"
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

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

static int dtype_size(const std::string& d) {
    if (d == "F32" || d == "I32") return 4;
    if (d == "BF16" || d == "F16") return 2;
    if (d == "F64" || d == "I64") return 8;
    return 0;
}

std::string safetensors_read(const std::string& path, WeightSet* ws) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "cannot open " + path;
    f.seekg(0, std::ios::end);
    uint64_t fsize = (uint64_t)f.tellg();
    f.seekg(0);
    uint64_t hlen = 0;
    if (fsize < 8 || !f.read((char*)&hlen, 8)) return path + ": not a safetensors file (too short)";
    if (hlen > fsize - 8 || hlen > (100u << 20)) return path + ": bad safetensors header length";
    std::string hdr(hlen, '\0');
    f.read(&hdr[0], (std::streamsize)hlen);
    Json h;
    std::string e = json_parse(hdr, &h);
    if (!e.empty()) return path + ": bad safetensors header: " + e;
    if (h.type != Json::OBJ) return path + ": safetensors header is not an object";
    uint64_t base = 8 + hlen;
    ws->files.push_back(path);
    std::vector<char> raw;
    for (auto& kv : h.obj) {
        if (kv.first == "__metadata__") continue;
        const Json* dt = kv.second.find("dtype");
        const Json* sh = kv.second.find("shape");
        const Json* off = kv.second.find("data_offsets");
        if (!dt || !sh || !off || !dt->is_str() || sh->type != Json::ARR || off->arr.size() != 2)
            return path + ": tensor '" + kv.first + "' has an incomplete header entry";
        int esz = dtype_size(dt->str);
        if (!esz) return path + ": tensor '" + kv.first + "' has unsupported dtype " + dt->str;
        Tensor t;
        t.src_dtype = dt->str;
        for (auto& d : sh->arr) t.shape.push_back(d.inum);
        uint64_t b = (uint64_t)off->arr[0].inum, en = (uint64_t)off->arr[1].inum;
        uint64_t n = (uint64_t)t.numel();
        if (en < b || en - b != n * esz || base + en > fsize)
            return path + ": tensor '" + kv.first + "' data_offsets do not match its shape/dtype or the file size";
        raw.resize(en - b);
        f.seekg((std::streamoff)(base + b));
        if (!f.read(raw.data(), (std::streamsize)(en - b))) return path + ": read error in tensor '" + kv.first + "'";
        t.data.resize(n);
        const char* p = raw.data();
        for (uint64_t i = 0; i < n; i++) {
            if (t.src_dtype == "F32") { float v; std::memcpy(&v, p + 4 * i, 4); t.data[i] = v; }
            else if (t.src_dtype == "BF16") { uint16_t v; std::memcpy(&v, p + 2 * i, 2); t.data[i] = bf16_to_f32(v); }
            else if (t.src_dtype == "F16") { uint16_t v; std::memcpy(&v, p + 2 * i, 2); t.data[i] = f16_to_f32(v); }
            else if (t.src_dtype == "F64") { double v; std::memcpy(&v, p + 8 * i, 8); t.data[i] = (float)v; }
            else if (t.src_dtype == "I64") { int64_t v; std::memcpy(&v, p + 8 * i, 8); t.data[i] = (float)v; }
            else { int32_t v; std::memcpy(&v, p + 4 * i, 4); t.data[i] = (float)v; }
        }
        ws->tensors[kv.first] = std::move(t);
    }
    return "";
}

std::string safetensors_read_model(const std::string& dir, WeightSet* ws, const std::string& file_name) {
    if (!file_name.empty()) return safetensors_read(dir + "/" + file_name, ws);
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
        for (auto& s : shards) { e = safetensors_read(dir + "/" + s, ws); if (!e.empty()) return e; }
        for (auto& kv : wm->obj)
            if (!ws->find(kv.first)) return idx + ": tensor '" + kv.first + "' listed in weight_map is not in " + kv.second.str;
        return "";
    }
    if (file_exists(dir + "/model.safetensors")) return safetensors_read(dir + "/model.safetensors", ws);
    return "no model.safetensors or model.safetensors.index.json in " + dir;
}

static std::string write_impl(const std::string& path, const std::map<std::string, Tensor>& tensors, bool bf16) {
    Json h = Json::object();
    Json meta = Json::object(); meta.set("format", "pt");
    h.set("__metadata__", meta);
    uint64_t off = 0;
    int esz = bf16 ? 2 : 4;
    for (auto& kv : tensors) {
        Json e = Json::object();
        e.set("dtype", bf16 ? "BF16" : "F32");
        Json sh = Json::array();
        for (auto d : kv.second.shape) sh.push(Json((int64_t)d));
        e.set("shape", sh);
        if ((int64_t)kv.second.data.size() != kv.second.numel()) return "tensor '" + kv.first + "': data size does not match shape";
        Json o = Json::array(); o.push(Json(off)); o.push(Json(off + kv.second.data.size() * esz));
        e.set("data_offsets", o);
        off += kv.second.data.size() * esz;
        h.set(kv.first, e);
    }
    std::string hs = h.dump();
    while ((hs.size() + 8) % 8) hs += ' ';
    std::ofstream f(path, std::ios::binary);
    if (!f) return "cannot write " + path;
    uint64_t hl = hs.size();
    f.write((const char*)&hl, 8);
    f.write(hs.data(), (std::streamsize)hs.size());
    for (auto& kv : tensors) {
        if (bf16) {
            std::vector<uint16_t> b(kv.second.data.size());
            for (size_t i = 0; i < b.size(); i++) b[i] = f32_to_bf16(kv.second.data[i]);
            f.write((const char*)b.data(), (std::streamsize)(b.size() * 2));
        } else {
            f.write((const char*)kv.second.data.data(), (std::streamsize)(kv.second.data.size() * 4));
        }
    }
    return f ? "" : "write error on " + path;
}
std::string safetensors_write(const std::string& path, const std::map<std::string, Tensor>& t) { return write_impl(path, t, false); }
std::string safetensors_write_bf16(const std::string& path, const std::map<std::string, Tensor>& t) { return write_impl(path, t, true); }

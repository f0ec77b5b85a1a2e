// safetensors files: read F32/BF16/F16/F64 (and I64/I32 for test fixtures) into fp32 host tensors, a single
// file or a sharded model directory (model.safetensors.index.json); write F32 files.
// WeightSet is the host copy of a base checkpoint that Backend::init uploads (see backend.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;       // row-major, converted to fp32
    std::string src_dtype;         // dtype in the file ("BF16", "F32", ...)
    int64_t numel() const { int64_t n = 1; for (auto d : shape) n *= d; return n; }
    std::string shape_str() const;
};

struct WeightSet {
    std::map<std::string, Tensor> tensors;
    std::vector<std::string> files;    // where they came from (for error messages)
    const Tensor* find(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : &it->second;
    }
    // Looks up name and checks its shape; the error names the tensor, expected and actual shapes.
    std::string get(const std::string& name, const std::vector<int64_t>& shape, const Tensor** out) const;
};

// Reads every tensor of one file into *ws (adds to what is there).
std::string safetensors_read(const std::string& path, WeightSet* ws);
// Reads a model directory: model.safetensors.index.json (sharded) or model.safetensors or the single *.safetensors.
// file_name: read this file inside dir instead (e.g. "model.bf16.safetensors").
std::string safetensors_read_model(const std::string& dir, WeightSet* ws, const std::string& file_name = "");
// Writes F32 tensors (names sorted, as safetensors does), 8-byte aligned header, metadata {"format":"pt"}.
std::string safetensors_write(const std::string& path, const std::map<std::string, Tensor>& tensors);
// Same but writes BF16 (round-to-nearest-even), for random model directories.
std::string safetensors_write_bf16(const std::string& path, const std::map<std::string, Tensor>& tensors);

float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);     // round to nearest even (NaN kept NaN)
float f16_to_f32(uint16_t h);
bool file_exists(const std::string& path);

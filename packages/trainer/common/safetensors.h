// safetensors files: read F32/BF16/F16/F64 (and I64/I32 for test fixtures), a single file or a sharded model
// directory (model.safetensors.index.json); write F32/BF16 files. A WeightSet is read eagerly (every tensor
// in fp32 host memory) or opened lazily (headers only): then a backend reads each tensor straight into its
// own buffer, as fp32 or as bf16 bits, with several threads, and start-up never holds an fp32 copy of the model.
// bf16 bits of a BF16 file are its bytes unchanged; other dtypes go through fp32 and round to nearest even.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;       // row-major, converted to fp32; empty while lazy
    std::string src_dtype;         // dtype in the file ("BF16", "F32", ...)
    bool lazy = false;             // opened by safetensors_open_model: the values are still in the file
    int file = -1;                 // index into WeightSet::files (-1: built in memory)
    uint64_t offset = 0;           // byte offset of the first value in that file
    int64_t numel() const { int64_t n = 1; for (auto d : shape) n *= d; return n; }
    std::string shape_str() const;
};

struct WeightSet {
    std::map<std::string, Tensor> tensors;
    std::vector<std::string> files;    // where they came from (error messages, lazy reads)
    const Tensor* find(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : &it->second;
    }
    // Looks up name and checks its shape; the error names the tensor, expected and actual shapes.
    std::string get(const std::string& name, const std::vector<int64_t>& shape, const Tensor** out) const;
};

// Reads every tensor of one file into *ws as fp32 (adds to what is there).
std::string safetensors_read(const std::string& path, WeightSet* ws);
// Reads a model directory: model.safetensors.index.json (sharded) or model.safetensors.
// file_name: read this file inside dir instead (e.g. "model.bf16.safetensors").
std::string safetensors_read_model(const std::string& dir, WeightSet* ws, const std::string& file_name = "");
// Same files, headers only: every tensor lazy (checked against the file size), values read later by
// tensor_read_f32 / tensors_read_bf16. The files must not change until then.
std::string safetensors_open_model(const std::string& dir, WeightSet* ws, const std::string& file_name = "");

// threads <= 0: io_threads(). Both work for lazy and eager tensors.
std::string tensor_read_f32(const WeightSet& ws, const Tensor& t, float* out, int threads = 0);
struct Bf16Slice { const Tensor* t; int64_t begin, count; uint16_t* out; };   // elements [begin, begin + count)
std::string tensors_read_bf16(const WeightSet& ws, const std::vector<Bf16Slice>& slices, int threads = 0);
int io_threads();   // hardware threads, at most 16: reads from the page cache stop scaling beyond that
int dtype_bytes(const std::string& dtype);   // bytes per element of a safetensors dtype ("BF16" -> 2), 0 if unknown

// Writes F32 tensors (names sorted, as safetensors does), 8-byte aligned header, metadata {"format":"pt"}.
std::string safetensors_write(const std::string& path, const std::map<std::string, Tensor>& tensors);
// Same but writes BF16 (round-to-nearest-even).
std::string safetensors_write_bf16(const std::string& path, const std::map<std::string, Tensor>& tensors);
// Same layout, values generated in blocks on `threads` threads (init-random): fill(i, begin, count, out) writes
// elements [begin, begin + count) of specs[i] as fp32. The file does not depend on the thread count as long as
// fill is a pure function of (i, begin + k).
struct TensorSpec { std::string name; std::vector<int64_t> shape; };
using TensorFill = std::function<void(size_t i, int64_t begin, int64_t count, float* out)>;
std::string safetensors_write_generated(const std::string& path, const std::vector<TensorSpec>& specs, bool bf16,
                                        const TensorFill& fill, int threads = 0);

float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);     // round to nearest even (NaN kept NaN)
float f16_to_f32(uint16_t h);
bool file_exists(const std::string& path);

// Compiled only when the CUDA backend is not built (no nvcc, or -DTRAINER_CUDA=OFF).
#include "backend.h"

std::unique_ptr<Backend> make_cuda_backend(std::string* why) {
    if (why) *why = "this qwen3-lora was built without CUDA (no nvcc found at configure time, or -DTRAINER_CUDA=OFF)";
    return nullptr;
}

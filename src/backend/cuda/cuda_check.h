// Internal to the .cu files: turns cudaError_t into Status and guards against a missing driver/GPU.
#pragma once

#include <cuda_runtime.h>

#include "core/status.h"

namespace lm::cuda {

// OK, or a Status such as "cuda: cudaMalloc(x, 4096 bytes) failed: out of memory
// (cudaErrorMemoryAllocation)". Missing driver/device errors map to Unavailable, allocation
// failures to OutOfMemory, everything else to Internal.
Status Check(cudaError_t err, const char* call);

// Unavailable unless a driver is loaded and at least one device is visible. Called before any other
// CUDA work so that a machine without a GPU gets a clean error instead of a later, odder failure.
Status RequireDevice();

}  // namespace lm::cuda

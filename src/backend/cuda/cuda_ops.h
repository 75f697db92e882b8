// CUDA entry points callable from plain C++: host pointers in and out, no CUDA headers or types here.
// Built from the .cu files when LM_CUDA=ON, else from cuda_stub.cc, which answers Unavailable.
#pragma once

#include <cstdint>

#include "backend/device.h"
#include "core/status.h"

namespace lm {

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:] on GPU 0.
// x: [rows, cols] f32 (host), weight: [cols] f32 (host), y: [rows, cols] f32 (host; may alias x).
// Allocates device buffers, copies, runs the kernel and copies back: a correctness path for tests
// and the op dispatch, not a fast one. Every CUDA error comes back as a Status naming the call.
Status CudaRmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps);

// Properties of GPU 0; Unavailable when there is no driver, no device, or no CUDA build.
Result<DeviceInfo> CudaQueryDevice();

}  // namespace lm

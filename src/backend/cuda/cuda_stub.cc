// Stand-ins for the CUDA entry points when longmem is built with LM_CUDA=OFF: a clean error, no crash.
#include "backend/cuda/cuda_ops.h"

namespace lm {
namespace {

Status NotBuilt() {
  return Unavailable(
      "cuda: longmem was built without CUDA (LM_CUDA=OFF); hint: install the CUDA toolkit so nvcc is on "
      "PATH and reconfigure");
}

}  // namespace

Status CudaRmsNorm(const float*, const float*, float*, int64_t, int64_t, float) { return NotBuilt(); }

Result<DeviceInfo> CudaQueryDevice() { return NotBuilt(); }

}  // namespace lm

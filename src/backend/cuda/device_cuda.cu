// CUDA device discovery and error mapping (host code only; compiled by nvcc when LM_CUDA=ON).
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_ops.h"
#include "core/str.h"

namespace lm {
namespace cuda {

Status Check(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return OkStatus();
  cudaGetLastError();  // reset the (non-sticky) error so the next check does not report it again
  std::string message =
      StrCat("cuda: ", call, " failed: ", cudaGetErrorString(err), " (", cudaGetErrorName(err), ")");
  switch (err) {
    case cudaErrorMemoryAllocation:
      return OutOfMemory(std::move(message));
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorNoKernelImageForDevice:
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Status RequireDevice() {
  int n_devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&n_devices);
  if (err != cudaSuccess) {
    cudaGetLastError();
    // Always Unavailable: whatever the driver says here, there is no usable GPU for us.
    return Unavailable(StrCat("cuda: cudaGetDeviceCount failed: ", cudaGetErrorString(err), " (",
                              cudaGetErrorName(err),
                              "); hint: is the NVIDIA driver installed and a GPU visible?"));
  }
  if (n_devices == 0) return Unavailable("cuda: no CUDA device found; hint: check CUDA_VISIBLE_DEVICES");
  return OkStatus();
}

}  // namespace cuda

Result<DeviceInfo> CudaQueryDevice() {
  LM_RETURN_IF_ERROR(cuda::RequireDevice());
  cudaDeviceProp prop{};
  LM_RETURN_IF_ERROR(cuda::Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties(0)"));
  return DeviceInfo{.kind = DeviceKind::kCuda,
                    .name = prop.name,
                    .total_memory = static_cast<uint64_t>(prop.totalGlobalMem),
                    .compute_major = prop.major,
                    .compute_minor = prop.minor};
}

}  // namespace lm

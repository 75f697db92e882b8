// RMSNorm on the GPU: one block per row, warp-shuffle + shared-memory reduction of the sum of squares.
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_ops.h"
#include "core/str.h"

namespace lm {
namespace {

constexpr int kThreads = 256;  // 8 warps: enough to saturate a row of a few thousand floats
constexpr int kWarps = kThreads / 32;

// x, y: [rows, cols] f32 (device), weight: [cols] f32 (device). gridDim.x = rows.
// No fast-math: sqrtf and the division are IEEE-exact so results track the CPU reference closely.
__global__ void RmsNormKernel(const float* __restrict__ x, const float* __restrict__ weight,
                              float* __restrict__ y, int64_t cols, float eps) {
  const int64_t row = blockIdx.x;
  const float* xr = x + row * cols;
  float* yr = y + row * cols;

  float sum = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) sum += xr[c] * xr[c];
  // Reduce within each warp, then the first warp reduces the per-warp partial sums.
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  __shared__ float partial[kWarps];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) partial[warp] = sum;
  __syncthreads();
  if (warp == 0) {
    sum = lane < kWarps ? partial[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
    if (lane == 0) partial[0] = sum;
  }
  __syncthreads();
  const float scale = 1.0f / sqrtf(partial[0] / static_cast<float>(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = xr[c] * scale * weight[c];
}

// Frees on every exit path, so early error returns leak nothing.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  Status Allocate(size_t bytes, const char* what) {
    return cuda::Check(cudaMalloc(&ptr_, bytes), StrCat("cudaMalloc(", what, ", ", bytes, " bytes)").c_str());
  }
  float* get() const { return static_cast<float*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

}  // namespace

Status CudaRmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps) {
  if (rows < 0 || cols < 0)
    return InvalidArgument(StrCat("cuda rms_norm: negative shape [", rows, ", ", cols, "]"));
  if (rows > 0x7fffffff)
    return InvalidArgument(StrCat("cuda rms_norm: ", rows, " rows exceed the grid limit"));
  if (rows == 0 || cols == 0) return OkStatus();
  if (x == nullptr || weight == nullptr || y == nullptr)
    return InvalidArgument("cuda rms_norm: null pointer");
  LM_RETURN_IF_ERROR(cuda::RequireDevice());

  const size_t x_bytes = static_cast<size_t>(rows) * static_cast<size_t>(cols) * sizeof(float);
  const size_t w_bytes = static_cast<size_t>(cols) * sizeof(float);
  DeviceBuffer d_x, d_w, d_y;
  LM_RETURN_IF_ERROR(d_x.Allocate(x_bytes, "x"));
  LM_RETURN_IF_ERROR(d_w.Allocate(w_bytes, "weight"));
  LM_RETURN_IF_ERROR(d_y.Allocate(x_bytes, "y"));
  LM_RETURN_IF_ERROR(
      cuda::Check(cudaMemcpy(d_x.get(), x, x_bytes, cudaMemcpyHostToDevice), "cudaMemcpy(x, H2D)"));
  LM_RETURN_IF_ERROR(
      cuda::Check(cudaMemcpy(d_w.get(), weight, w_bytes, cudaMemcpyHostToDevice), "cudaMemcpy(weight, H2D)"));

  RmsNormKernel<<<static_cast<unsigned>(rows), kThreads>>>(d_x.get(), d_w.get(), d_y.get(), cols, eps);
  LM_RETURN_IF_ERROR(cuda::Check(cudaGetLastError(), "RmsNormKernel launch"));
  // Synchronise separately so a fault inside the kernel is reported as such, not as a copy failure.
  LM_RETURN_IF_ERROR(cuda::Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize(RmsNormKernel)"));
  return cuda::Check(cudaMemcpy(y, d_y.get(), x_bytes, cudaMemcpyDeviceToHost), "cudaMemcpy(y, D2H)");
}

}  // namespace lm

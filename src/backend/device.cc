// QueryDevice and CudaBuilt. LM_HAVE_CUDA is a private define of lm_backend: headers stay mode-free.
#include "backend/device.h"

#include <fstream>
#include <sstream>

#include "backend/cuda/cuda_ops.h"

namespace lm {
namespace {

// "key<TAB>: value" lines of /proc/cpuinfo and "MemTotal:   16318712 kB" of /proc/meminfo.
std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    size_t begin = line.find_first_not_of(" \t", colon + 1);
    return begin == std::string::npos ? std::string("unknown cpu") : line.substr(begin);
  }
  return "unknown cpu";  // e.g. aarch64 kernels print no "model name"
}

uint64_t MemTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

}  // namespace

bool CudaBuilt() {
#if defined(LM_HAVE_CUDA)
  return true;
#else
  return false;
#endif
}

const char* DeviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
  }
  return "?";
}

Result<DeviceInfo> QueryDevice(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu:
      return DeviceInfo{.kind = DeviceKind::kCpu, .name = CpuModelName(), .total_memory = MemTotalBytes()};
    case DeviceKind::kCuda:
      return CudaQueryDevice();  // the stub answers Unavailable when CUDA is not built
  }
  return InvalidArgument("device: unknown DeviceKind");
}

}  // namespace lm

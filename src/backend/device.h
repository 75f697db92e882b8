// Device discovery: what the CPU or a CUDA GPU offers. Public to the library; never mentions CUDA types.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace lm {

enum class DeviceKind { kCpu, kCuda };

struct DeviceInfo {
  DeviceKind kind = DeviceKind::kCpu;
  std::string name;                          // "AMD EPYC 7B13" / "NVIDIA H100 80GB HBM3"
  uint64_t total_memory = 0;                 // bytes: MemTotal for the CPU, global memory for a GPU
  int compute_major = 0, compute_minor = 0;  // CUDA compute capability; 0 for the CPU
};

// CPU: model name from /proc/cpuinfo and MemTotal from /proc/meminfo (falls back to "unknown cpu"
// and 0 where those files are missing, e.g. outside Linux).
// CUDA: device 0; Unavailable when built without CUDA or when no driver/device is present.
Result<DeviceInfo> QueryDevice(DeviceKind kind);

// True when longmem was compiled with LM_CUDA=ON (a device may still be absent at run time).
bool CudaBuilt();

const char* DeviceKindName(DeviceKind kind);

}  // namespace lm

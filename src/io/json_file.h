// JSON parsing for io (private): nlohmann parse with errors as Status, a nesting cap and duplicate-key
// detection (nlohmann silently keeps the last of two equal keys, which would hide a corrupt header).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace lm::io_internal {

// Parses `size` bytes; `what` prefixes error messages ("safetensors: f: header"). Never throws.
Result<nlohmann::json> ParseJson(const uint8_t* data, uint64_t size, const std::string& what);

// Maps and parses a whole file; NotFound/IoError from the mapping, Corrupt for bad JSON.
// `prefix` names the format in messages ("hf", "safetensors").
Result<nlohmann::json> ReadJsonFile(const std::string& path, const std::string& prefix);

}  // namespace lm::io_internal

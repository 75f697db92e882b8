// Crash-safe file replacement: write a temp file beside the target, fsync it, rename over the target,
// fsync the directory. A reader sees either the old complete file or the new complete file, never a mix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lm::io {

// Writes `parts` (concatenated, in order) to `path` atomically. The temp file is `path` + ".tmp.<pid>";
// on any failure it is removed and the previous `path` (if any) is untouched.
Status WriteFileAtomic(const std::string& path, const std::vector<std::string_view>& parts);

// fsync of a directory, so a rename inside it survives a power cut.
Status SyncDirectory(const std::string& dir);

}  // namespace lm::io

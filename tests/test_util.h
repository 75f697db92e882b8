// Shared test helpers: paths to test data and the default model, temp files, golden JSON loading, relative
// tensor differences.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace lm::test {

inline std::string DataPath(const std::string& rel) { return std::string(LM_TEST_DATA_DIR) + "/" + rel; }
inline std::string DefaultModelPath() { return LM_DEFAULT_MODEL; }

inline nlohmann::json LoadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + " (run tests/tools/gen_goldens.py?)");
  return nlohmann::json::parse(in);
}

// max |a - b| over the elements: an absolute tolerance check.
inline double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
  return diff;
}

// max |a - b| / max |b| over the elements (max |a - b| when b is all zero): how far a tensor is from its
// reference, in units of the reference's largest entry.
inline double MaxRelDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return scale == 0 ? diff : diff / scale;
}

// A file under the system temp dir, removed when the object dies.
class TempFile {
 public:
  explicit TempFile(const std::string& stem) {
    path_ = (std::filesystem::temp_directory_path() /
             (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
                .string();
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void Write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

}  // namespace lm::test

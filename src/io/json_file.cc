// JSON parsing for io: see json_file.h.
#include "io/json_file.h"

#include <set>
#include <vector>

#include "core/str.h"
#include "io/mmap_file.h"

namespace lm::io_internal {

namespace {

constexpr int kMaxDepth = 64;  // headers and configs nest a few levels; deeper input is hostile

// Thrown from the parser callback to stop parsing; caught below, never escapes.
struct Reject {
  std::string why;
};

}  // namespace

Result<nlohmann::json> ParseJson(const uint8_t* data, uint64_t size, const std::string& what) {
  using nlohmann::json;
  // One set of seen keys per open object, innermost last.
  std::vector<std::set<std::string>> open_objects;
  const json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) throw Reject{StrCat("nesting deeper than ", kMaxDepth, " levels")};
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second)
          throw Reject{StrCat("duplicate key '", parsed.get<std::string>(), "'")};
        break;
      default: break;
    }
    return true;
  };
  const char* begin = reinterpret_cast<const char*>(data);
  try {
    return json::parse(begin, begin + size, callback);
  } catch (const Reject& r) {
    return Corrupt(StrCat(what, ": ", r.why, "; hint: corrupt or hostile file?"));
  } catch (const json::exception& e) {
    return Corrupt(StrCat(what, " is not valid JSON: ", e.what(), "; hint: the file is truncated or corrupt?"));
  }
}

Result<nlohmann::json> ReadJsonFile(const std::string& path, const std::string& prefix) {
  Result<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  return ParseJson((*file)->data(), (*file)->size(), StrCat(prefix, ": ", path));
}

}  // namespace lm::io_internal

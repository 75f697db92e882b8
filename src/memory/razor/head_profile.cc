// Head profile file: JSON read/write, model check, retrieval-head selection.
#include "memory/razor/head_profile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

namespace lm {

Status WriteHeadProfile(const std::string& path, const HeadProfile& p) {
  nlohmann::json j;
  j["format"] = "longmem-head-profile";
  j["version"] = HeadProfile::kVersion;
  j["model"] = {{"name", p.model.name},     {"arch", p.model.arch},           {"n_layer", p.model.n_layer},
                {"n_head", p.model.n_head}, {"n_head_kv", p.model.n_head_kv}, {"head_dim", p.model.head_dim},
                {"n_embd", p.model.n_embd}, {"n_vocab", p.model.n_vocab}};
  j["calibration"] = {
      {"segment", p.segment}, {"repeats", p.repeats}, {"rows_sampled", p.rows_sampled}, {"seed", p.seed}};
  nlohmann::json heads = nlohmann::json::array();
  for (int64_t l = 0; l < p.model.n_layer; ++l)
    for (int64_t h = 0; h < p.model.n_head_kv; ++h) {
      const auto i = static_cast<size_t>(l * p.model.n_head_kv + h);
      heads.push_back({{"layer", l}, {"kv_head", h}, {"echo", p.echo[i]}, {"induction", p.induction[i]}});
    }
  j["heads"] = heads;
  // Write beside the target, then rename: an interrupted run never leaves a half-written profile.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) return IoError(StrCat("head profile: cannot write '", tmp, "'"));
    f << j.dump(1) << "\n";
    if (!f) return IoError(StrCat("head profile: write to '", tmp, "' failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return IoError(StrCat("head profile: cannot rename '", tmp, "' to '", path, "'"));
  return OkStatus();
}

Result<HeadProfile> ReadHeadProfile(const std::string& path) {
  std::ifstream f(path);
  if (!f)
    return NotFound(StrCat("head profile '", path,
                           "' not found; hint: make one with `longmem calibrate-heads "
                           "-m MODEL -o ",
                           path, "`"));
  std::stringstream ss;
  ss << f.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  const std::string what = StrCat("head profile '", path, "'");
  if (j.is_discarded() || !j.is_object()) return Corrupt(StrCat(what, ": not valid JSON"));
  if (j.value("format", std::string()) != "longmem-head-profile")
    return Corrupt(StrCat(what, ": missing \"format\": \"longmem-head-profile\""));
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != HeadProfile::kVersion)
    return Unsupported(StrCat(what, ": version ", j.contains("version") ? j["version"].dump() : "?",
                              ", this build reads version ", HeadProfile::kVersion, "; hint: recalibrate"));
  HeadProfile p;
  try {
    const auto& m = j.at("model");
    p.model = {.name = m.at("name").get<std::string>(),
               .arch = m.at("arch").get<std::string>(),
               .n_layer = m.at("n_layer").get<int64_t>(),
               .n_head = m.at("n_head").get<int64_t>(),
               .n_head_kv = m.at("n_head_kv").get<int64_t>(),
               .head_dim = m.at("head_dim").get<int64_t>(),
               .n_embd = m.at("n_embd").get<int64_t>(),
               .n_vocab = m.at("n_vocab").get<int64_t>()};
    const auto& c = j.at("calibration");
    p.segment = c.at("segment").get<int64_t>();
    p.repeats = c.at("repeats").get<int64_t>();
    p.rows_sampled = c.at("rows_sampled").get<int64_t>();
    p.seed = c.at("seed").get<uint32_t>();
    if (p.model.n_layer <= 0 || p.model.n_head_kv <= 0 || p.model.n_layer * p.model.n_head_kv > (1 << 20))
      return Corrupt(StrCat(what, ": n_layer ", p.model.n_layer, " x n_head_kv ", p.model.n_head_kv, " is invalid"));
    const auto n = static_cast<size_t>(p.model.n_layer * p.model.n_head_kv);
    p.echo.assign(n, NAN);
    p.induction.assign(n, NAN);
    for (const auto& h : j.at("heads")) {
      const int64_t l = h.at("layer").get<int64_t>(), k = h.at("kv_head").get<int64_t>();
      if (l < 0 || l >= p.model.n_layer || k < 0 || k >= p.model.n_head_kv)
        return Corrupt(StrCat(what, ": head (", l, ", ", k, ") outside ", p.model.n_layer, " x ", p.model.n_head_kv));
      p.echo[static_cast<size_t>(l * p.model.n_head_kv + k)] = h.at("echo").get<float>();
      p.induction[static_cast<size_t>(l * p.model.n_head_kv + k)] = h.at("induction").get<float>();
    }
    for (size_t i = 0; i < n; ++i)
      if (std::isnan(p.echo[i]) || std::isnan(p.induction[i]))
        return Corrupt(StrCat(what, ": no scores for layer ", i / static_cast<size_t>(p.model.n_head_kv), " kv head ",
                              i % static_cast<size_t>(p.model.n_head_kv)));
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(StrCat(what, ": ", e.what()));
  }
  return p;
}

Status CheckProfileMatches(const HeadProfile& p, const ModelIdentity& m, const std::string& path) {
  auto differ = [&](const char* field, const std::string& theirs, const std::string& ours) -> Status {
    return InvalidArgument(StrCat("head profile '", path, "' was made for model '", p.model.name, "' (", field, " ",
                                  theirs, "), this model '", m.name, "' has ", field, " ", ours,
                                  "; hint: run `longmem calibrate-heads -m MODEL -o PROFILE` for this model"));
  };
  if (p.model.arch != m.arch) return differ("arch", p.model.arch, m.arch);
  if (p.model.name != m.name) return differ("name", p.model.name, m.name);
  const std::pair<const char*, std::pair<int64_t, int64_t>> dims[] = {
      {"n_layer", {p.model.n_layer, m.n_layer}},       {"n_head", {p.model.n_head, m.n_head}},
      {"n_head_kv", {p.model.n_head_kv, m.n_head_kv}}, {"head_dim", {p.model.head_dim, m.head_dim}},
      {"n_embd", {p.model.n_embd, m.n_embd}},          {"n_vocab", {p.model.n_vocab, m.n_vocab}}};
  for (const auto& [field, v] : dims)
    if (v.first != v.second) return differ(field, std::to_string(v.first), std::to_string(v.second));
  return OkStatus();
}

std::vector<uint8_t> SelectRetrievalHeads(const HeadProfile& p, double echo_ratio, double induction_ratio) {
  const size_t n = p.echo.size();
  std::vector<uint8_t> mask(n, 0);
  auto mark_top = [&](const std::vector<float>& score, double ratio) {
    if (ratio <= 0) return;
    const auto k = std::min(n, std::max<size_t>(1, static_cast<size_t>(std::llround(ratio * static_cast<double>(n)))));
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
    for (size_t i = 0; i < k; ++i) mask[idx[i]] = 1;
  };
  mark_top(p.echo, echo_ratio);
  mark_top(p.induction, induction_ratio);
  return mask;
}

}  // namespace lm

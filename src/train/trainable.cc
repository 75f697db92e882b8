// Parser for --trainable values; errors name the bad piece and list what is accepted.
#include "train/trainable.h"

#include <algorithm>
#include <sstream>

#include "core/str.h"

namespace lm::train {

namespace {
std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

bool ParseInt(const std::string& s, int64_t* v) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  *v = std::stoll(s);
  return true;
}

const char* kHint = "; hint: full | layers:0-3,7 | lora:q,v[:r=8][:alpha=16] | side:256";
}  // namespace

bool TrainableSpec::LayerTrainable(int64_t layer) const {
  if (kind == TrainableKind::kFull) return true;
  if (kind != TrainableKind::kLayers) return false;
  for (auto [a, b] : layer_ranges)
    if (layer >= a && layer <= b) return true;
  return false;
}

bool TrainableSpec::LoraOn(const std::string& target) const {
  return kind == TrainableKind::kLora &&
         std::find(lora_targets.begin(), lora_targets.end(), target) != lora_targets.end();
}

Result<TrainableSpec> ParseTrainableSpec(const std::string& s) {
  TrainableSpec spec;
  spec.text = s;
  auto bad = [&](const std::string& why) { return InvalidArgument(StrCat("--trainable '", s, "': ", why, kHint)); };
  const std::vector<std::string> parts = Split(s, ':');
  if (parts.empty()) return bad("empty");
  if (parts[0] == "full" && parts.size() == 1) return spec;
  if (parts[0] == "layers" && parts.size() == 2) {
    spec.kind = TrainableKind::kLayers;
    for (const std::string& r : Split(parts[1], ',')) {
      const auto dash = r.find('-');
      int64_t a = 0, b = 0;
      const bool ok = dash == std::string::npos ? ParseInt(r, &a) && ParseInt(r, &b)
                                                : ParseInt(r.substr(0, dash), &a) && ParseInt(r.substr(dash + 1), &b);
      if (!ok || a > b) return bad(StrCat("bad layer range '", r, "'"));
      spec.layer_ranges.emplace_back(a, b);
    }
    if (spec.layer_ranges.empty()) return bad("no layers given");
    return spec;
  }
  if (parts[0] == "lora" && parts.size() >= 2) {
    spec.kind = TrainableKind::kLora;
    static const char* kTargets[] = {"q", "k", "v", "o", "gate", "up", "down"};
    for (const std::string& t : Split(parts[1], ',')) {
      if (std::find(std::begin(kTargets), std::end(kTargets), t) == std::end(kTargets))
        return bad(StrCat("unknown LoRA target '", t, "' (q, k, v, o, gate, up, down)"));
      spec.lora_targets.push_back(t);
    }
    for (size_t i = 2; i < parts.size(); ++i) {
      int64_t v = 0;
      if (parts[i].rfind("r=", 0) == 0 && ParseInt(parts[i].substr(2), &v) && v > 0) {
        spec.lora_rank = v;
      } else if (parts[i].rfind("alpha=", 0) == 0 && ParseInt(parts[i].substr(6), &v) && v > 0) {
        spec.lora_alpha = static_cast<float>(v);
      } else {
        return bad(StrCat("bad LoRA option '", parts[i], "'"));
      }
    }
    return spec;
  }
  if (parts[0] == "side" && parts.size() == 2) {
    spec.kind = TrainableKind::kSide;
    if (!ParseInt(parts[1], &spec.side_width) || spec.side_width <= 0) return bad("bad side-module width");
    return spec;
  }
  return bad("unknown form");
}

}  // namespace lm::train

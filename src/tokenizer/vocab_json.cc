// VocabFromTokenizerJson: HF tokenizer.json (BPE models) plus the tokenizer_config.json beside it.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/str.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace lm {
namespace {

using nlohmann::json;

Result<json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(StrCat("tokenizer: cannot open '", path, "'"));
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Corrupt(StrCat("tokenizer: '", path, "' is not valid JSON"));
  return j;
}

// Flattens a (possibly nested) Sequence into its steps.
void Flatten(const json& node, std::vector<json>& out) {
  if (!node.is_object()) return;
  if (node.value("type", "") == "Sequence") {
    for (const char* key : {"pretokenizers", "decoders", "normalizers"}) {
      if (node.contains(key)) {
        for (const json& child : node[key]) Flatten(child, out);
      }
    }
    return;
  }
  out.push_back(node);
}

// Maps the byte-level pre_tokenizer config onto a family PreTokenizer knows.
Result<std::string> BytePreFamily(const std::vector<json>& steps) {
  std::vector<std::string> sig;
  std::string split_family;
  for (const json& s : steps) {
    const std::string type = s.value("type", "");
    if (type == "ByteLevel") {
      sig.push_back(s.value("use_regex", true) ? "ByteLevelRegex" : "ByteLevel");
    } else if (type == "Digits") {
      sig.push_back(s.value("individual_digits", false) ? "Digits1" : "Digits");
    } else if (type == "Split") {
      const std::string pattern = s.contains("pattern") ? s["pattern"].value("Regex", "") : "";
      split_family = std::string(PreTokenizer::FamilyForSplitRegex(pattern));
      if (split_family.empty() || s.value("behavior", "") != "Isolated" || s.value("invert", false)) {
        return Unsupported(StrCat("tokenizer: Split pre-tokenizer with pattern '", pattern, "' is not supported"));
      }
      sig.push_back("Split");
    } else {
      return Unsupported(StrCat("tokenizer: pre-tokenizer '", type, "' is not supported"));
    }
  }
  if (sig == std::vector<std::string>{"ByteLevelRegex"}) return std::string("gpt-2");
  if (sig == std::vector<std::string>{"Digits1", "ByteLevelRegex"}) return std::string("smollm");
  if (sig == std::vector<std::string>{"Split", "ByteLevel"}) return split_family;
  return Unsupported("tokenizer: this combination of pre-tokenizers is not supported");
}

// "<s>" or {"content": "<s>", ...} as tokenizer_config.json writes special tokens.
std::string TokenText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object()) return j.value("content", "");
  return {};
}

}  // namespace

Result<VocabData> VocabFromTokenizerJson(const std::string& path) {
  auto doc = ReadJson(path);
  if (!doc.ok()) return doc.status();
  const json& j = *doc;
  if (!j.contains("model") || j["model"].value("type", "BPE") != "BPE" || !j["model"].contains("vocab")) {
    return Unsupported(StrCat("tokenizer: '", path, "' is not a BPE tokenizer.json (model.type/vocab)"));
  }
  const json& model = j["model"];
  VocabData v;
  std::unordered_map<std::string, int32_t> ids;
  auto place = [&](const std::string& piece, int64_t id, TokenType type) -> Status {
    if (id < 0 || id > (1 << 24)) return Corrupt(StrCat("tokenizer: token id ", id, " out of range"));
    if (static_cast<size_t>(id) >= v.tokens.size()) {
      v.tokens.resize(static_cast<size_t>(id) + 1);
      v.types.resize(static_cast<size_t>(id) + 1, TokenType::kUnused);  // holes stay unused
    }
    v.tokens[static_cast<size_t>(id)] = piece;
    v.types[static_cast<size_t>(id)] = type;
    ids[piece] = static_cast<int32_t>(id);
    return OkStatus();
  };
  const bool byte_fallback = model.value("byte_fallback", false);
  for (const auto& [piece, id] : model["vocab"].items()) {
    const bool is_byte = byte_fallback && piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece[5] == '>';
    LM_RETURN_IF_ERROR(place(piece, id.get<int64_t>(), is_byte ? TokenType::kByte : TokenType::kNormal));
  }
  if (j.contains("added_tokens")) {
    for (const json& t : j["added_tokens"]) {
      const bool special = t.value("special", false);
      LM_RETURN_IF_ERROR(place(t.value("content", ""), t.value("id", int64_t{-1}),
                               special ? TokenType::kControl : TokenType::kUserDefined));
    }
  }
  if (model.contains("merges")) {
    for (const json& m : model["merges"]) {
      if (m.is_string()) v.merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2) v.merges.push_back(StrCat(m[0].get<std::string>(), " ", m[1].get<std::string>()));
      else return Corrupt(StrCat("tokenizer: '", path, "' has a merge that is neither \"a b\" nor [a, b]"));
    }
  }

  std::vector<json> pre_steps, decoder_steps, norm_steps;
  if (j.contains("pre_tokenizer")) Flatten(j["pre_tokenizer"], pre_steps);
  if (j.contains("decoder")) Flatten(j["decoder"], decoder_steps);
  if (j.contains("normalizer")) Flatten(j["normalizer"], norm_steps);
  const auto has = [](const std::vector<json>& steps, const char* type) {
    return std::any_of(steps.begin(), steps.end(), [&](const json& s) { return s.value("type", "") == type; });
  };
  if (has(pre_steps, "ByteLevel") || has(decoder_steps, "ByteLevel")) {
    v.kind = TokenizerKind::kByteLevelBpe;
    auto family = BytePreFamily(pre_steps);
    if (!family.ok()) return family.status();
    v.pre = *family;
  } else if (byte_fallback || has(decoder_steps, "ByteFallback") || has(pre_steps, "Metaspace")) {
    v.kind = TokenizerKind::kSentencePiece;
    v.add_space_prefix = has(norm_steps, "Prepend");
    for (const json& s : pre_steps) {
      if (s.value("type", "") == "Metaspace") v.add_space_prefix = s.value("prepend_scheme", "always") != "never";
    }
    // tokenizer.json ranks merges instead of scoring pieces: a merge's result scores -rank, so the
    // highest score is the earliest merge; pieces no merge makes score lowest.
    v.scores.assign(v.tokens.size(), -std::numeric_limits<float>::max());
    for (size_t rank = 0; rank < v.merges.size(); ++rank) {
      const std::string& m = v.merges[rank];
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos) continue;
      const auto it = ids.find(m.substr(0, space) + m.substr(space + 1));
      if (it != ids.end() && v.scores[static_cast<size_t>(it->second)] == -std::numeric_limits<float>::max()) {
        v.scores[static_cast<size_t>(it->second)] = -static_cast<float>(rank);
      }
    }
    v.merges.clear();
  } else {
    return Unsupported(StrCat("tokenizer: '", path, "' is neither byte-level nor SentencePiece-style BPE"));
  }
  const auto find = [&](const std::string& piece) {
    const auto it = ids.find(piece);
    return it == ids.end() ? -1 : it->second;
  };
  if (model.contains("unk_token") && model["unk_token"].is_string()) v.unk_id = find(model["unk_token"]);

  // BOS/EOS and the chat template live in tokenizer_config.json next to tokenizer.json.
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    auto cfg = ReadJson(config_path.string());
    if (!cfg.ok()) return cfg.status();
    if (cfg->contains("bos_token")) v.bos_id = find(TokenText((*cfg)["bos_token"]));
    if (cfg->contains("eos_token")) v.eos_id = find(TokenText((*cfg)["eos_token"]));
    if (cfg->contains("pad_token")) v.pad_id = find(TokenText((*cfg)["pad_token"]));
    if (cfg->contains("unk_token")) v.unk_id = find(TokenText((*cfg)["unk_token"]));
    v.add_bos = cfg->value("add_bos_token", v.kind == TokenizerKind::kSentencePiece);
    v.add_eos = cfg->value("add_eos_token", false);
    if (cfg->contains("chat_template") && (*cfg)["chat_template"].is_string()) {
      v.chat_template = (*cfg)["chat_template"].get<std::string>();
    }
  } else if (v.kind == TokenizerKind::kByteLevelBpe) {
    v.eos_id = find("<|endoftext|>");
  }
  return v;
}

}  // namespace lm

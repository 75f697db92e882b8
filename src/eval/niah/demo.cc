// Passkey demo: same prompt through several memories.
#include "eval/niah/demo.h"

#include <cstdio>

namespace lm::niah {

Result<std::vector<PasskeyDemoRow>> RunPasskeyDemo(std::shared_ptr<const Model> model, const Tokenizer& tok,
                                                   const std::string& haystack_text, const PasskeyDemoOptions& o) {
  const ModelConfig& c = model->config();
  const int64_t length = o.length > 0 ? o.length : 2 * c.n_ctx_train;
  std::vector<MemoryOptions> strategies = o.strategies;
  if (strategies.empty())
    for (const char* kind : {"dense", "reattention"}) strategies.push_back(SizedForPrompt({.kind = kind}, length));
  for (const auto& s : strategies) LM_RETURN_IF_ERROR(DescribeMemory(s, c).status());  // fail before work
  auto hay = MakeHaystack(tok, haystack_text, static_cast<size_t>(length) * 8 + (1 << 20));
  if (!hay.ok()) return hay.status();
  std::vector<PasskeyDemoOptions::System> systems;
  for (const auto& s : strategies)
    systems.push_back({*DescribeMemory(s, c), SessionAnswerer(model, tok, [s, &c] { return MakeMemory(s, c); }, o.batch)});
  for (const auto& e : o.extra) systems.push_back(e);
  std::vector<PasskeyDemoRow> rows;
  for (const auto& sys : systems) {
    PasskeyDemoRow row{.strategy = sys.name};
    if (o.print) o.print(StrCat("running ", row.strategy, " on ", length, " tokens ..."));
    auto cell = RunCell(tok, *hay, sys.answer, o.task, length, o.depth, 0, o.seed);
    if (!cell.ok()) return cell.status();
    row.cell = *cell;
    if (o.print) {
      char buf[256];
      std::snprintf(buf, sizeof(buf), "  answer '%s' (expected %s) %s | KV %.1f MiB | prefill %.1f s, decode %.1f s",
                    row.cell.response.c_str(), row.cell.expected.c_str(), row.cell.score > 0 ? "CORRECT" : "wrong",
                    static_cast<double>(row.cell.kv_bytes) / (1 << 20), row.cell.prefill_seconds,
                    row.cell.decode_seconds);
      o.print(buf);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace lm::niah

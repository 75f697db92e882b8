// Memory sweep options and SideNet loading for the evaluation subcommands.
#include "eval_options.h"

#include <cstdio>
#include <filesystem>

#include "core/str.h"
#include "io/atomic_file.h"
#include "longmem_options.h"
#include "eval/longmem/buckets.h"

namespace lm::cli {

void EvalMemorySweep::Add(CLI::App& cmd) {
  cmd.add_option("--mem-chunk", chunks, "chunk sizes csz to sweep, e.g. 2,4,8 (default: the SideNet file's)");
  cmd.add_option("--mem-k", ks, "retrieved tokens K to sweep, e.g. 32,64 (default: the SideNet file's)");
  cmd.add_option("--mem-size", sizes, "memory capacities M in tokens to sweep, e.g. 8192,65536 (default: the file's)");
  cmd.add_option("--mem-eviction", eviction, "spec | exact (default: the SideNet file's)");
  cmd.add_option("--mem-index", index, "exact | ivf-int8 | ivf | hnsw (default: the SideNet file's)");
  cmd.add_option("--mem-query", queries, "retrieval queries to sweep: raw,centred (default: the SideNet file's)");
  cmd.add_option("--memory-layer", memory_layer,
                 "backbone block whose K/V fill the memory; must be the one the SideNet was trained for "
                 "(train-sidenet --memory-layer)");
}

Result<std::vector<sidenet::MemoryConfig>> EvalMemorySweep::Expand(const sidenet::SideNet& side) const {
  // The single-valued settings (--mem-eviction, --mem-index) are parsed once, as `run` parses them.
  sidenet::MemoryConfig base = side.memory_config();
  LM_RETURN_IF_ERROR((LongMemCliOptions{.eviction = eviction, .index = index}.Apply(&base)));
  auto list = [](const std::string& csv, int64_t dflt, const char* what) -> Result<std::vector<int64_t>> {
    if (csv.empty()) return std::vector<int64_t>{dflt};
    return eval_longmem::ParseIntList(csv, what);
  };
  auto cs = list(chunks, base.chunk_size, "--mem-chunk");
  if (!cs.ok()) return cs.status();
  auto kk = list(ks, base.retrieve_tokens, "--mem-k");
  if (!kk.ok()) return kk.status();
  auto ms = list(sizes, base.capacity_tokens, "--mem-size");
  if (!ms.ok()) return ms.status();
  std::vector<sidenet::RetrievalQuery> qs;
  for (const std::string& name : SplitNames(queries)) {
    auto q = sidenet::ParseRetrievalQuery(name);
    if (!q.ok()) return q.status();
    qs.push_back(*q);
  }
  if (qs.empty()) qs.push_back(base.query);
  std::vector<sidenet::MemoryConfig> out;
  for (int64_t c : *cs)
    for (int64_t k : *kk)
      for (int64_t m : *ms)
        for (sidenet::RetrievalQuery q : qs) {
          sidenet::MemoryConfig mc = base;
          mc.chunk_size = c;
          mc.retrieve_tokens = k;
          mc.capacity_tokens = m;
          mc.query = q;
          LM_RETURN_IF_ERROR(sidenet::Validate(mc));
          out.push_back(mc);
        }
  return out;
}

Result<std::unique_ptr<sidenet::SideNet>> LoadSideNetForEval(const LoadedModel& loaded, const std::string& path,
                                                            int64_t memory_layer) {
  if (!loaded.gguf) return Unsupported("eval: the backbone must be a GGUF file for LongMem; hint: -m model.gguf");
  auto net = sidenet::SideNet::Load(loaded.gguf, path);
  if (!net.ok()) return net.status();
  const int64_t trained = (*net)->config().memory_layer;
  if (memory_layer > 0 && memory_layer != trained)
    return InvalidArgument(StrCat("eval: --memory-layer ", memory_layer, " but '", path,
                                  "' was trained with memory layer ", trained,
                                  "; hint: train a SideNet for that layer (longmem train-sidenet --memory-layer ",
                                  memory_layer, ") and pass it with --sidenet"));
  return net;
}

std::vector<std::string> SplitNames(const std::string& csv) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= csv.size()) {
    const size_t end = std::min(csv.find(',', at), csv.size());
    if (end > at) out.push_back(csv.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

Status WriteEvalReport(const std::string& tool, const nlohmann::json& j, const std::string& json_path,
                       bool json_to_stdout, std::string plot_path, const plot::LineChart& chart) {
  if (json_to_stdout && json_path.empty()) std::printf("%s\n", j.dump(2).c_str());
  if (plot_path.empty() && !json_path.empty())
    plot_path = std::filesystem::path(json_path).replace_extension(".svg").string();
  for (const std::string& path : {json_path, plot_path}) {  // reports go into folders that may not exist yet
    const auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }
  if (!json_path.empty()) {
    const std::string text = j.dump(2) + "\n";
    LM_RETURN_IF_ERROR(io::WriteFileAtomic(json_path, {std::string_view(text)}));
    std::fprintf(stderr, "%s: wrote %s\n", tool.c_str(), json_path.c_str());
  }
  if (!plot_path.empty()) {
    LM_RETURN_IF_ERROR(plot::WriteLineChartSvg(plot_path, chart));
    std::fprintf(stderr, "%s: wrote %s\n", tool.c_str(), plot_path.c_str());
  }
  return OkStatus();
}

}  // namespace lm::cli

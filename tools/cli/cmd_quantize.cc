// `longmem quantize [MODEL] -o OUT --type T`: a copy of a GGUF model with its weight matrices in another type.
#include <cstdio>
#include <map>

#include "common.h"
#include "core/quant.h"
#include "core/str.h"
#include "core/thread_pool.h"
#include "io/gguf_reader.h"
#include "model/requantize.h"

namespace lm::cli {

void RegisterQuantize(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "quantize", "write a copy of a GGUF model with its weight matrices stored as f32, f16, bf16, q8_0, q4_0 or q4_1");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>("q8_0");
  auto threads = std::make_shared<int>(0);
  cmd->add_option("model", *in, "input GGUF file (default: the bundled model)");
  cmd->add_option("-o,--output", *out, "output GGUF file (written atomically)")->required();
  cmd->add_option("--type", *type, "storage type of the weight matrices: f32, f16, bf16, q8_0, q4_0, q4_1")
      ->capture_default_str();
  cmd->add_option("-t,--threads", *threads, "worker threads (default: all cores)");
  cmd->callback([&exit_code, in, out, type, threads] {
    if (*threads > 0) SetGlobalThreads(*threads);
    const std::optional<DType> target = DTypeFromName(*type);
    if (!target || !CanQuantizeTo(*target)) {
      exit_code = Fail(InvalidArgument(StrCat("quantize: --type '", *type,
                                              "' is not writable; hint: one of f32, f16, bf16, q8_0, q4_0, q4_1")));
      return;
    }
    const std::string path = in->empty() ? DefaultModelPath() : *in;
    auto file = gguf::GgufFile::Open(path);
    if (!file.ok()) {
      exit_code = Fail(file.status());
      return;
    }
    const double t0 = NowSeconds();
    auto report = RequantizeGguf(**file, *out, *target);
    if (!report.ok()) {
      exit_code = Fail(report.status());
      return;
    }
    // One line per (from -> to) pair, so the output stays short for models with hundreds of tensors.
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const RequantizedTensor& t : report->tensors) {
      ++pairs[{std::string(Name(t.from)), std::string(Name(t.to))}];
      if (t.fallback) {
        std::printf("note: %s rows are not whole %s blocks; stored as f16\n", t.name.c_str(),
                    std::string(Name(*target)).c_str());
      }
    }
    for (const auto& [p, n] : pairs) std::printf("%4d tensors %-5s -> %s\n", n, p.first.c_str(), p.second.c_str());
    std::printf("wrote %s: tensor data %s -> %s in %.1f s\n", out->c_str(), HumanBytes(report->bytes_in).c_str(),
                HumanBytes(report->bytes_out).c_str(), NowSeconds() - t0);
  });
}

}  // namespace lm::cli

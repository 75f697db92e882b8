// `longmem info MODEL`: metadata, tensors and the parsed configuration of a model file.
#include <cstdio>

#include "common.h"
#include "io/gguf_reader.h"

namespace lm::cli {

void RegisterInfo(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("info", "print a GGUF file's metadata, tensors and model configuration");
  auto path = std::make_shared<std::string>();
  auto no_tensors = std::make_shared<bool>(false);
  cmd->add_option("model", *path, "GGUF file (default: the bundled model)");
  cmd->add_flag("--no-tensors", *no_tensors, "omit the tensor table");
  cmd->callback([&exit_code, path, no_tensors] {
    const std::string p = path->empty() ? DefaultModelPath() : *path;
    auto file = gguf::GgufFile::Open(p);
    if (!file.ok()) {
      exit_code = Fail(file.status());
      return;
    }
    const auto& f = **file;
    std::printf("file: %s\nGGUF version: %u, alignment: %llu, data offset: %llu\n", p.c_str(), f.version(),
                static_cast<unsigned long long>(f.alignment()), static_cast<unsigned long long>(f.data_offset()));
    std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
    for (const auto& [key, value] : f.metadata()) std::printf("  %-44s %s\n", key.c_str(), value.DebugString().c_str());
    uint64_t total = 0;
    for (const auto& t : f.tensors()) total += t.nbytes;
    std::printf("\ntensors: %zu, %s\n", f.tensors().size(), HumanBytes(total).c_str());
    if (!*no_tensors) {
      for (const auto& t : f.tensors())
        std::printf("  %-36s %-6s %-16s %s\n", t.name.c_str(), std::string(Name(t.dtype)).c_str(),
                    ShapeString(t.shape).c_str(), HumanBytes(t.nbytes).c_str());
    }
    auto config = ConfigFromGguf(f);
    if (config.ok()) {
      std::printf("\nconfig: %s\n", DescribeConfig(*config).c_str());
    } else {
      std::printf("\nconfig: not loadable: %s\n", config.status().ToString().c_str());
    }
  });
}

}  // namespace lm::cli

// Shared CLI helpers.
#include "common.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/log.h"
#include "core/thread_pool.h"

#include "git_revision.h"  // generated at build time (tools/cli/git_revision.cmake)

namespace lm::cli {

namespace {
std::string FindUp(const std::string& rel) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(rel, ec)) return rel;
  // Next to the binary: build/<preset>/longmem -> ../../<rel>
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (fs::exists(dir / rel, ec)) return (dir / rel).string();
  }
  return rel;
}
}  // namespace

std::string DefaultModelPath() { return FindUp("models/smollm2-135m-instruct-q4_1.gguf"); }
std::string DefaultTextPath() { return FindUp("data/kjv.txt"); }
std::string DefaultEvalDataDir() { return FindUp("data/eval"); }

void AddModelOptions(CLI::App& app, ModelOptions& o) {
  app.add_option("-m,--model", o.model, "GGUF file or Hugging Face folder (default: the bundled SmolLM2-135M)");
  app.add_option("-t,--threads", o.threads, "worker threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_flag("-v,--verbose", o.verbose, "log loading details");
}

void AddKvTypeOption(CLI::App& app, KvCacheType& kv_type) {
  const std::map<std::string, KvCacheType> names{
      {"f16", KvCacheType::kF16}, {"q8_0", KvCacheType::kQ8_0}, {"f32", KvCacheType::kF32}};
  app.add_option("--kv-type", kv_type,
                 "KV cache element type: f16 (default, half of f32's memory traffic), q8_0 (about a quarter) or f32")
      ->transform(CLI::CheckedTransformer(names));
}

Result<LoadedModel> LoadForCli(const ModelOptions& o) {
  if (o.verbose) SetLogLevel(LogLevel::kInfo);
  const int threads = o.threads > 0 ? o.threads : DefaultThreadCount();
  SetGlobalThreads(threads);
  const std::string path = o.model.empty() ? DefaultModelPath() : o.model;
  const double t0 = NowSeconds();
  auto loaded = LoadModelAndTokenizer(path);
  if (loaded.ok()) LogInfo("loaded ", path, " in ", NowSeconds() - t0, " s: ", DescribeConfig(loaded->model->config()));
  return loaded;
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(StrCat("cannot open text file '", path, "'; hint: run scripts/setup.sh for data/kjv.txt"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t PeakRssBytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

void RetainFreedMemoryForReuse() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // also turns off the dynamic threshold
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int GlobalPoolThreads() { return GlobalPool().n_threads(); }

std::string GitRevision() { return LM_GIT_REVISION; }

int Fail(const Status& s) {
  std::fprintf(stderr, "longmem: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace lm::cli

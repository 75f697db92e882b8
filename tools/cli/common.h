// Shared pieces of the `longmem` subcommands: default paths, model loading with clear errors, RSS, timing.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "memory/kv_cache_type.h"
#include "runtime/loader.h"

namespace lm::cli {

// Options every model-using subcommand takes.
struct ModelOptions {
  std::string model;   // path; empty means the default model
  int threads = 0;     // 0: all cores
  bool verbose = false;
};

void AddModelOptions(CLI::App& app, ModelOptions& o);
// --kv-type f16|f32: element type of the dense KV cache.
void AddKvTypeOption(CLI::App& app, KvCacheType& kv_type);
// Applies --threads/--verbose and loads the model; prints the error and returns it on failure.
Result<LoadedModel> LoadForCli(const ModelOptions& o);

// models/smollm2-135m-instruct-q4_1.gguf, found from the working directory or next to the binary.
std::string DefaultModelPath();
// data/kjv.txt (made by scripts/setup.sh), same search.
std::string DefaultTextPath();
// data/eval (held-out evaluation data made by scripts/setup.sh), same search.
std::string DefaultEvalDataDir();
Result<std::string> ReadTextFile(const std::string& path);

uint64_t PeakRssBytes();
// Training allocates the same large activation buffers every step. glibc returns blocks above its mmap
// threshold (at most 32 MiB) to the kernel on free, so each step page-faults and zero-fills them again (~7%
// of a T = 1024 step). This keeps freed blocks in the heap for reuse; peak RSS is unchanged, since the next
// step needs the same sizes.
void RetainFreedMemoryForReuse();
int GlobalPoolThreads();  // threads the run uses
std::string GitRevision();

// Prints "longmem: <status>" to stderr and returns exit code 1.
int Fail(const Status& s);

// Registration of each subcommand; each returns via the shared exit code.
void RegisterInfo(CLI::App& app, int& exit_code);
void RegisterQuantize(CLI::App& app, int& exit_code);
void RegisterTokenize(CLI::App& app, int& exit_code);
void RegisterGenerate(CLI::App& app, int& exit_code);
void RegisterChat(CLI::App& app, int& exit_code);
void RegisterPpl(CLI::App& app, int& exit_code);
void RegisterBench(CLI::App& app, int& exit_code);
void RegisterDemo(CLI::App& app, int& exit_code);
void RegisterTrain(CLI::App& app, int& exit_code);

}  // namespace lm::cli

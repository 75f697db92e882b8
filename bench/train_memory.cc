// Peak memory of ONE training step (forward + backward, no optimiser step) at sequence length T under one
// configuration (plain / mst / ckpt / mst+ckpt), on real tokens, printed as one JSON line; run one per process
// (bench/train_memory.sh) so that peaks never mix. No AdamW step runs, so the moments m/v are never
// allocated: the peak is weights + grads + activations (the MST paper's comparison); the AdamW-included
// figure adds 8 B per trainable value.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/str.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "eval/process_memory.h"
#include "io/gguf_reader.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"
#include "train/llama_train.h"
#include "train/trainable.h"

namespace lm {
namespace {

struct Args {
  std::string model = "models/smollm2-135m-instruct-q4_1.gguf";
  std::string data = "data/kjv.txt";
  std::string trainable = "full";
  std::string config = "plain";  // plain | mst | ckpt[:SPAN] | mst+ckpt[:SPAN]
  int64_t span = 0;               // blocks recomputed together under checkpointing (0: auto)
  int64_t T = 0;
  int threads = 0;  // 0: all cores
};

constexpr const char* kUsage =
    "usage: lm_bench_train_memory --T N [--config plain|mst|ckpt[:SPAN]|mst+ckpt[:SPAN]]\n"
    "                             [--trainable full|lora:q,v|side:256]\n"
    "                             [--model FILE.gguf] [--data FILE.txt] [--threads N]\n"
    "One forward+backward at T tokens (T may exceed the model's context: RoPE extrapolates); prints one JSON line.\n";

Result<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "-h" || k == "--help") return InvalidArgument(kUsage);
    if (i + 1 >= argc) return InvalidArgument(StrCat("'", k, "' needs a value\n", kUsage));
    const std::string v = argv[++i];
    try {
      if (k == "--model") a.model = v;
      else if (k == "--data") a.data = v;
      else if (k == "--trainable") a.trainable = v;
      else if (k == "--config") a.config = v;
      else if (k == "--T") a.T = std::stoll(v);
      else if (k == "--threads") a.threads = std::stoi(v);
      else return InvalidArgument(StrCat("unknown option '", k, "'\n", kUsage));
    } catch (...) {
      return InvalidArgument(StrCat("'", k, " ", v, "': expected a number"));
    }
  }
  if (a.T <= 0) return InvalidArgument(StrCat("--T must be positive\n", kUsage));
  const std::string base = a.config.substr(0, a.config.find(':'));
  if (base != a.config) {
    if (base != "ckpt" && base != "mst+ckpt")
      return InvalidArgument(StrCat("--config '", a.config, "': only ckpt and mst+ckpt take a :SPAN"));
    try {
      a.span = std::stoll(a.config.substr(base.size() + 1));
    } catch (...) {
      return InvalidArgument(StrCat("--config '", a.config, "': SPAN must be a number"));
    }
    if (a.span < 1) return InvalidArgument(StrCat("--config '", a.config, "': SPAN must be >= 1"));
  }
  if (base != "plain" && base != "mst" && base != "ckpt" && base != "mst+ckpt")
    return InvalidArgument(StrCat("--config '", a.config, "': expected plain, mst, ckpt[:SPAN] or mst+ckpt[:SPAN]"));
  return a;
}

// The first n tokens of a text file: tokenises a growing prefix (cut at a newline) until it yields n.
Result<std::vector<int32_t>> FirstTokens(const gguf::GgufFile& file, const std::string& path, int64_t n) {
  auto vocab = VocabFromGguf(file);
  if (!vocab.ok()) return vocab.status();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return tok.status();
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(StrCat("cannot open '", path, "'; hint: run scripts/setup.sh for data/kjv.txt"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t bytes = static_cast<size_t>(n) * 6 + 4096;; bytes *= 2) {
    size_t cut = std::min(bytes, text.size());
    if (cut < text.size()) {
      const size_t nl = text.rfind('\n', cut);
      if (nl != std::string::npos && nl > 0) cut = nl;
    }
    auto ids = (*tok)->Encode(std::string_view(text).substr(0, cut), {.add_bos = true, .parse_special = false});
    if (static_cast<int64_t>(ids.size()) >= n) {
      ids.resize(static_cast<size_t>(n));
      return ids;
    }
    if (cut == text.size())
      return InvalidArgument(StrCat("'", path, "' has only ", ids.size(), " tokens; ", n, " needed"));
  }
}

// Reads one byte per page of every tensor so the mapped weights are resident before the step: the baseline
// is then weights + params + grads for frozen backbones too (LoRA, side), not just for full fine-tuning.
uint64_t TouchWeights(const gguf::GgufFile& file) {
  uint64_t bytes = 0;
  volatile uint8_t sink = 0;
  for (const auto& info : file.tensors()) {
    const Tensor t = file.View(info);
    const auto* p = static_cast<const uint8_t*>(t.raw());
    for (uint64_t i = 0; i < info.nbytes; i += 4096) sink = static_cast<uint8_t>(sink + p[i]);
    bytes += info.nbytes;
  }
  return bytes;
}

Status Main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  if (!args.ok()) return args.status();
  const Args& a = *args;
  SetGlobalThreads(a.threads > 0 ? a.threads : DefaultThreadCount());
  auto spec = train::ParseTrainableSpec(a.trainable);
  if (!spec.ok()) return spec.status();
  train::ComputeOptions o;
  const std::string base = a.config.substr(0, a.config.find(':'));
  if (base == "mst" || base == "mst+ckpt") o.mlp_chunks = o.head_chunks = -1;  // the trainer's "auto"
  o.checkpoint_layers = base == "ckpt" || base == "mst+ckpt";
  o.checkpoint_span = a.span;

  auto file = gguf::GgufFile::Open(a.model);
  if (!file.ok()) return file.status();
  std::vector<int32_t> tokens, labels;
  {
    auto ids = FirstTokens(**file, a.data, a.T + 1);
    if (!ids.ok()) return ids.status();
    tokens.assign(ids->begin(), ids->end() - 1);
    labels.assign(ids->begin() + 1, ids->end());
  }
  auto model = train::TrainModel::Load(*file, *spec, 1234);  // f32 masters and zeroed grads: touched now
  if (!model.ok()) return model.status();
  const ModelConfig& c = (*model)->config();
  const uint64_t n_params = static_cast<uint64_t>((*model)->params().NumElements());

  // Baseline: weights + params + grads, the tokenizer's text and tables freed.
  const uint64_t weight_bytes = TouchWeights(**file);
  const uint64_t hwm_before_reset = eval::PeakRssBytes();
  const bool reset = eval::ResetPeakRss();  // frees the heap's slack first, then VmHWM := VmRSS
  const uint64_t rss_before = eval::CurrentRssBytes();
  const uint64_t hwm_at_start = eval::PeakRssBytes();
  const auto t0 = std::chrono::steady_clock::now();
  auto loss = (*model)->Run(tokens, labels, o, /*backward=*/true, 1.0f, /*allow_beyond_context=*/true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!loss.ok()) return loss.status();
  const uint64_t peak = eval::PeakRssBytes();

  const uint64_t estimate = train::EstimateActivationBytes(c, a.T, o);
  nlohmann::ordered_json j = {  // keys in this order
      {"model", std::filesystem::path(a.model).filename().string()},
      {"trainable", spec->text.empty() ? a.trainable : spec->text},
      {"T", a.T},
      {"config", a.config},
      {"checkpoint_span", train::CheckpointSpan(c, c.n_layer, o, true, train::BlockActFloatsPerToken(c, o, false))},
      {"n_ctx_train", c.n_ctx_train},
      {"beyond_context", a.T > c.n_ctx_train},
      {"threads", GlobalPool().n_threads()},
      {"trainable_params", n_params},
      {"weights_file_bytes", weight_bytes},
      {"peak_reset", reset},
      {"peak_rss_bytes", peak},
      {"rss_before_bytes", rss_before},
      {"hwm_before_reset_bytes", hwm_before_reset},
      {"hwm_at_step_start_bytes", hwm_at_start},
      {"step_peak_delta_bytes", peak > rss_before ? peak - rss_before : 0},
      {"saved_bytes", (*model)->last_saved_bytes()},
      {"estimate_activation_bytes", estimate},
      {"predicted_peak_bytes", rss_before + estimate},
      {"adamw_state_bytes", 8 * n_params},
      {"peak_with_adamw_bytes", peak + 8 * n_params},
      {"seconds", seconds},
      {"tokens_per_s", static_cast<double>(a.T) / seconds},
      {"loss", *loss},
      {"note", reset ? "no optimiser step: peak = weights + grads + activations (AdamW m/v never allocated)"
                     : "no optimiser step; clear_refs refused: peak_rss_bytes includes everything before the step"},
  };
  std::printf("%s\n", j.dump().c_str());
  return OkStatus();
}

}  // namespace
}  // namespace lm

int main(int argc, char** argv) {
  const lm::Status s = lm::Main(argc, argv);
  if (!s.ok()) {
    std::fprintf(stderr, "lm_bench_train_memory: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

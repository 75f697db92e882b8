// `longmem run --memory longmem --sidenet PATH`: LongMem inference. A long input (-f FILE, then -p PROMPT)
// is read segment by segment into the memory bank by the frozen backbone; the last segment stays local and
// the SideNet generates from it while retrieving from the bank. As in the official code there is no
// incremental cache: each new token re-runs the local window (at most --segment tokens).
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.h"
#include "core/str.h"
#include "longmem_commands.h"
#include "longmem_options.h"
#include "sampling/sampler.h"
#include "sampling_options.h"
#include "sidenet/longmem.h"
#include "tokenizer/chat_template.h"

namespace lm::cli {

namespace {

struct Opts {
  ModelOptions model;
  std::string memory = "longmem", sidenet, file, prompt, load_bank, save_bank;
  int64_t n = 64, segment = 512;
  bool chat = false, json = false;
  LongMemCliOptions mem;
  SamplingParams sampling;
};

Status Run(const Opts& o) {
  if (o.memory != "longmem" && o.memory != "none")
    return InvalidArgument(StrCat("run: --memory '", o.memory, "': expected longmem (or none: the SideNet without memory)"));
  if (o.sidenet.empty())
    return InvalidArgument("run: --sidenet PATH is required (sidenet.safetensors written by `longmem train-sidenet`)");
  if (o.file.empty() && o.prompt.empty()) return InvalidArgument("run: give an input with -f FILE and/or -p PROMPT");
  LM_RETURN_IF_ERROR(ValidateSamplingParams(o.sampling));
  auto loaded = LoadForCli(o.model);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->gguf) return Unsupported("run: the backbone must be a GGUF file; hint: -m model.gguf");
  auto net = sidenet::SideNet::Load(loaded->gguf, o.sidenet);
  if (!net.ok()) return net.status();
  sidenet::MemoryConfig mc = (*net)->memory_config();
  LM_RETURN_IF_ERROR(o.mem.Apply(&mc));
  auto lm = sidenet::LongMem::Create(loaded->model, net->get(), mc);
  if (!lm.ok()) return lm.status();
  const ModelConfig& c = loaded->model->config();
  if (o.segment < 2 * mc.chunk_size || o.segment > c.n_ctx_train)
    return InvalidArgument(StrCat("run: --segment ", o.segment, " must lie in [", 2 * mc.chunk_size, ", ",
                                  c.n_ctx_train, "]"));
  if (!o.load_bank.empty()) {
    auto bank = membank::MemoryBank::Load(o.load_bank, mc.BankConfig(c));
    if (!bank.ok()) return bank.status();
    LM_RETURN_IF_ERROR((*lm)->SetBank(std::move(*bank)));
  }

  const Tokenizer& tok = *loaded->tokenizer;
  std::string text;
  if (!o.file.empty()) {
    auto t = ReadTextFile(o.file);
    if (!t.ok()) return t.status();
    text = std::move(*t);
  }
  std::string prompt = o.prompt;
  if (o.chat) {
    auto r = ApplyChatTemplate(DetectChatFormat(tok.vocab().chat_template), {{"user", prompt}}, true);
    if (!r.ok()) return r.status();
    prompt = *r;
  }
  std::vector<int32_t> ids = tok.Encode(text.empty() ? prompt : text + "\n" + prompt);
  const int64_t n_input = static_cast<int64_t>(ids.size());

  // Read: whole segments into memory while more than one segment remains; the rest is the local window.
  const double t0 = NowSeconds();
  size_t start = 0;
  int64_t n_segments = 0;
  while (ids.size() - start > static_cast<size_t>(o.segment)) {
    std::span<const int32_t> seg(ids.data() + start, static_cast<size_t>(o.segment));
    LM_RETURN_IF_ERROR((*lm)->Memorize(seg));
    start += static_cast<size_t>(o.segment);
    ++n_segments;
  }
  const double t_read = NowSeconds() - t0;
  if (!o.save_bank.empty()) LM_RETURN_IF_ERROR((*lm)->bank().Save(o.save_bank));

  // Generate: the local window is everything not yet in memory; when it reaches --segment tokens its first
  // half goes to memory (retrieve-then-write order is kept: those tokens are no longer local).
  std::vector<int32_t> local(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end());
  std::vector<float> hidden(static_cast<size_t>(o.segment * c.n_embd)), logits(static_cast<size_t>(c.n_vocab));
  Sampler sampler(o.sampling);
  std::vector<int32_t> generated;
  const double t1 = NowSeconds();
  int64_t retrieved = 0;
  for (int64_t i = 0; i < o.n; ++i) {
    if (static_cast<int64_t>(local.size()) >= o.segment) {
      const size_t half = local.size() / 2;
      LM_RETURN_IF_ERROR((*lm)->Memorize(std::span<const int32_t>(local.data(), half)));
      local.erase(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(half));
    }
    auto st = (*lm)->Segment(local, {.use_memory = o.memory == "longmem", .write_memory = false,
                                     .final_hidden = hidden.data()});
    if (!st.ok()) return st.status();
    retrieved = st->retrieved;
    (*net)->Logits(hidden.data() + (local.size() - 1) * static_cast<size_t>(c.n_embd), 1, logits.data());
    const int32_t next = sampler.Sample(logits, generated);
    if (tok.IsEndOfGeneration(next)) break;
    generated.push_back(next);
    local.push_back(next);
    if (!o.json) {
      const std::string piece = tok.Decode(std::span<const int32_t>(&next, 1));
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
  }
  const double t_gen = NowSeconds() - t1;
  const auto& bank = (*lm)->bank();
  if (o.json) {
    nlohmann::json j = {{"input_tokens", n_input}, {"memorized_segments", n_segments},
                        {"memory_tokens", bank.n_tokens()}, {"memory_bytes", bank.bytes()},
                        {"retrieved_per_query", retrieved}, {"read_seconds", t_read},
                        {"generated", tok.Decode(generated)}, {"generated_tokens", generated.size()},
                        {"generate_seconds", t_gen}, {"peak_rss_bytes", PeakRssBytes()}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("\n");
  }
  std::fprintf(stderr,
               "\nlongmem: read %lld tokens (%lld segments into memory, %.1f tokens/s); memory holds %lld tokens (%s); "
               "generated %zu tokens at %.2f tokens/s; peak RSS %s\n",
               static_cast<long long>(n_input), static_cast<long long>(n_segments),
               t_read > 0 ? static_cast<double>(n_segments * o.segment) / t_read : 0.0,
               static_cast<long long>(bank.n_tokens()), HumanBytes(bank.bytes()).c_str(), generated.size(),
               t_gen > 0 ? static_cast<double>(generated.size()) / t_gen : 0.0, HumanBytes(PeakRssBytes()).c_str());
  return OkStatus();
}

}  // namespace

void RegisterRun(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "LongMem inference: read a long input into memory, then generate");
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--memory", o->memory, "longmem | none (the SideNet without its memory)")->capture_default_str();
  cmd->add_option("--sidenet", o->sidenet, "trained SideNet (sidenet.safetensors from train-sidenet)");
  cmd->add_option("-f,--file", o->file, "long input text read into memory first");
  cmd->add_option("-p,--prompt", o->prompt, "prompt after the file's text");
  cmd->add_flag("--chat", o->chat, "wrap the prompt in the model's chat template");
  cmd->add_option("-n,--n-predict", o->n, "tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--segment", o->segment, "tokens per memory segment and of the local window")->capture_default_str();
  cmd->add_option("--load-bank", o->load_bank, "start from a memory bank saved by an earlier run");
  cmd->add_option("--save-bank", o->save_bank, "save the memory bank after reading the input");
  cmd->add_flag("--json", o->json, "print one JSON object instead of streaming text");
  o->mem.Add(*cmd);
  AddSamplingOptions(*cmd, o->sampling);
  cmd->callback([&exit_code, o] {
    const Status s = Run(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli

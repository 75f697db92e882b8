// `longmem run --memory longmem --sidenet PATH`: LongMem inference. A long input (-f FILE, then -p PROMPT)
// is read segment by segment into the memory bank by the frozen backbone; the last segment stays local and
// the SideNet generates from it while retrieving from the bank (sidenet/generate.h). --save-bank and
// --load-bank keep what was read across runs.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.h"
#include "core/str.h"
#include "longmem_commands.h"
#include "longmem_options.h"
#include "sampling_options.h"
#include "sidenet/generate.h"
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
  auto opened = OpenLongMem(*loaded, o.sidenet, o.mem, "run");
  if (!opened.ok()) return opened.status();
  sidenet::LongMem& lm = *opened->lm;
  const sidenet::MemoryConfig& mc = opened->memory;
  const ModelConfig& c = loaded->model->config();
  if (!o.load_bank.empty()) {
    auto bank = membank::MemoryBank::Load(o.load_bank, mc.BankConfig(c));
    if (!bank.ok()) return bank.status();
    LM_RETURN_IF_ERROR(lm.SetBank(std::move(*bank)));
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
  sidenet::GenerateOptions go{.segment = o.segment, .max_tokens = o.n, .sampling = o.sampling,
                              .use_memory = o.memory == "longmem"};
  if (!o.json)
    go.on_token = [&tok](int32_t id) {
      const std::string piece = tok.Decode(std::span<const int32_t>(&id, 1));
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  std::vector<int32_t> generated;
  auto st = sidenet::Generate(lm, tok, ids, go, &generated);
  if (!st.ok()) return st.status();
  if (!o.save_bank.empty()) LM_RETURN_IF_ERROR(lm.bank().Save(o.save_bank));
  const auto& bank = lm.bank();
  if (o.json) {
    nlohmann::json j = {{"input_tokens", st->n_input}, {"memorized_segments", st->memorized_segments},
                        {"memory_tokens", bank.n_tokens()}, {"memory_bytes", bank.bytes()},
                        {"retrieved_per_query", st->retrieved}, {"read_seconds", st->read_seconds},
                        {"generated", tok.Decode(generated)}, {"generated_tokens", generated.size()},
                        {"generate_seconds", st->generate_seconds}, {"peak_rss_bytes", PeakRssBytes()}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("\n");
  }
  const double read_tps = st->read_seconds > 0 ? static_cast<double>(st->memorized_segments * o.segment) / st->read_seconds : 0.0;
  std::fprintf(stderr,
               "\nlongmem: read %lld tokens (%lld segments into memory, %.1f tokens/s); memory holds %lld tokens (%s); "
               "generated %zu tokens at %.2f tokens/s; peak RSS %s\n",
               static_cast<long long>(st->n_input), static_cast<long long>(st->memorized_segments), read_tps,
               static_cast<long long>(bank.n_tokens()), HumanBytes(bank.bytes()).c_str(), generated.size(),
               st->generate_seconds > 0 ? static_cast<double>(generated.size()) / st->generate_seconds : 0.0,
               HumanBytes(PeakRssBytes()).c_str());
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
  cmd->add_option("--save-bank", o->save_bank, "save the memory bank at the end (input and generated text read into it)");
  cmd->add_flag("--json", o->json, "print one JSON object instead of streaming text");
  o->mem.Add(*cmd);
  AddSamplingOptions(*cmd, o->sampling);
  cmd->callback([&exit_code, o] {
    const Status s = Run(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli

// Crash safety of `longmem train`: a training process is SIGKILLed at random moments (some during a save);
// every time, the checkpoint left behind loads cleanly, resuming loses at most the steps since that
// checkpoint, and the finally resumed run ends with weights bit-identical to an uninterrupted run.
// Uses a tiny random model (C = 64, 2 layers) with the default model's tokenizer, written to a temp GGUF.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "io/gguf_writer.h"
#include "test_util.h"
#include "train/checkpoint.h"

namespace lm::train {
namespace {

namespace fs = std::filesystem;

// Tiny llama GGUF whose tokenizer metadata is copied from the default model (so `longmem train` can
// tokenise text); vocabulary size follows that tokenizer.
void WriteTinyModelWithTokenizer(const std::string& path) {
  auto src = gguf::GgufFile::Open(test::DefaultModelPath());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  gguf::GgufWriter w;
  int64_t V = 0;
  for (const auto& [key, value] : (*src)->metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    w.SetValue(key, value);
    if (key == "tokenizer.ggml.tokens") V = static_cast<int64_t>(value.array.size());
  }
  const int64_t C = 64, L = 2, H = 4, Hkv = 2, I = 96, kv = Hkv * C / H;
  w.SetString("general.architecture", "llama");
  w.SetString("general.name", "tiny-train-kill");
  w.SetU32("llama.block_count", L);
  w.SetU32("llama.embedding_length", C);
  w.SetU32("llama.feed_forward_length", I);
  w.SetU32("llama.attention.head_count", H);
  w.SetU32("llama.attention.head_count_kv", Hkv);
  w.SetU32("llama.context_length", 128);
  w.SetF32("llama.rope.freq_base", 10000.0f);
  w.SetF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  auto add = [&](const std::string& name, Shape shape, bool norm = false) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = norm ? 1.0f : nd(rng);
    w.AddTensor(name, DType::kF32, shape, v.data());
  };
  add("token_embd.weight", {V, C});
  add("output_norm.weight", {C}, true);
  for (int l = 0; l < L; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {C}, true);
    add(b + "attn_q.weight", {C, C});
    add(b + "attn_k.weight", {kv, C});
    add(b + "attn_v.weight", {kv, C});
    add(b + "attn_output.weight", {C, C});
    add(b + "ffn_norm.weight", {C}, true);
    add(b + "ffn_gate.weight", {I, C});
    add(b + "ffn_up.weight", {I, C});
    add(b + "ffn_down.weight", {C, I});
  }
  ASSERT_TRUE(w.WriteFile(path).ok());
}

pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

class TrainKill : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lm-train-kill-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_ = (dir_ / "tiny.gguf").string();
    WriteTinyModelWithTokenizer(model_);
    std::ofstream text(dir_ / "text.txt");
    for (int i = 0; i < 400; ++i)
      text << "Verse " << i << ": and the " << (i % 7 == 0 ? "light" : "water") << " was good, said the "
           << (i % 3 == 0 ? "scribe" : "king") << ".\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> Args(const std::string& out, bool resume) const {
    std::vector<std::string> a = {LM_CLI_BINARY, "train", "-m", model_, "--data", (dir_ / "text.txt").string(),
                                  "--seq-len", "32", "--steps", "40", "--save-every", "4", "--eval-every", "10",
                                  "--eval-windows", "1", "--lr", "1e-3", "--warmup", "3", "-t", "1", "--out", out};
    if (resume) a.push_back("--resume");
    return a;
  }
  std::vector<float> FinalWeights(const std::string& out, TrainState* st) const {
    auto file = gguf::GgufFile::Open(model_);
    auto m = TrainModel::Load(*file, *ParseTrainableSpec("full"), 1234);
    auto s = LoadCheckpoint((fs::path(out) / kCheckpointFile).string(), **m);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) *st = *s;
    std::vector<float> all;
    for (const auto& p : (*m)->params().all()) all.insert(all.end(), p->value.begin(), p->value.end());
    return all;
  }
  fs::path dir_;
  std::string model_;
};

TEST_F(TrainKill, SigkillLosesAtMostTheStepsSinceTheLastCheckpoint) {
  const std::string straight = (dir_ / "straight").string(), killed = (dir_ / "killed").string();
  ASSERT_EQ(Wait(Spawn(Args(straight, false))), 0);
  TrainState done;
  const std::vector<float> want = FinalWeights(straight, &done);
  ASSERT_EQ(done.step, 40);

  std::mt19937 rng(17);
  std::uniform_int_distribution<int> delay_ms(150, 900);
  int64_t last_step = 0, kills = 0;
  for (int round = 0; round < 6 && last_step < 40; ++round) {
    const pid_t pid = Spawn(Args(killed, round > 0 && fs::exists(fs::path(killed) / kCheckpointFile)));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    const int rc = Wait(pid);
    kills += rc == 128 + SIGKILL;
    if (!fs::exists(fs::path(killed) / kCheckpointFile)) continue;  // killed before the first save
    TrainState st;
    FinalWeights(killed, &st);  // must load cleanly: never a torn or partial checkpoint
    EXPECT_GE(st.step, last_step) << "a checkpoint went backwards";
    EXPECT_EQ(st.step % 4, 0);  // only whole save points are ever visible
    last_step = st.step;
  }
  EXPECT_GT(kills, 0);
  ASSERT_EQ(Wait(Spawn(Args(killed, true))), 0);
  TrainState st;
  EXPECT_EQ(FinalWeights(killed, &st), want) << "resumed run differs from the uninterrupted one";
  EXPECT_EQ(st.step, 40);
}

}  // namespace
}  // namespace lm::train

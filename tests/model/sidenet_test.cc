// LongMem SideNet on tiny random backbones: the initial SideNet follows the spec's algebra (checked against
// an independent double-precision reference), a gate forced shut reproduces local-only attention, memory is
// retrieve-then-write, gradients match finite differences through the memory layer, checkpointing spans match
// the plain path, files round-trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "model/config.h"
#include "model/model.h"
#include "ops/matmul.h"
#include "sidenet/generate.h"
#include "sidenet/longmem.h"
#include "sidenet/segments.h"
#include "tokenizer/tokenizer.h"
#include "sidenet/sidenet.h"
#include "test_util.h"
#include "tiny_model.h"

namespace lm::sidenet {
namespace {

using Vec = std::vector<double>;

struct Tiny {
  std::shared_ptr<const gguf::GgufFile> file;
  std::shared_ptr<const Model> model;
  ModelConfig c;
};

Tiny MakeTiny(int64_t n_layer = 4) {
  test::TinySpec ts;
  ts.n_layer = n_layer;
  ts.n_embd = 64;
  ts.n_head = 4;
  ts.n_head_kv = 2;
  ts.n_ff = 96;
  Tiny t;
  t.file = test::BuildTinyModel(ts, 7);
  auto m = LoadModelFromGguf(*t.file);
  if (!m.ok()) throw std::runtime_error(m.status().ToString());
  t.model = *m;
  t.c = t.model->config();
  return t;
}

const float* W(const gguf::GgufFile& f, const std::string& name) {
  const auto* info = f.FindTensor(name);
  if (!info) throw std::runtime_error("missing " + name);
  return f.View(*info).data<float>();
}

// y[T, N] = x[T, K] · W[N, K]ᵀ in double.
Vec Lin(const Vec& x, const float* w, int64_t T, int64_t N, int64_t K) {
  Vec y(static_cast<size_t>(T * N), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += x[static_cast<size_t>(t * K + k)] * w[n * K + k];
      y[static_cast<size_t>(t * N + n)] = s;
    }
  return y;
}

Vec RmsNorm(const Vec& x, const float* g, int64_t T, int64_t C, double eps) {
  Vec y(x.size());
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < C; ++i) ss += x[static_cast<size_t>(t * C + i)] * x[static_cast<size_t>(t * C + i)];
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(C) + eps);
    for (int64_t i = 0; i < C; ++i) y[static_cast<size_t>(t * C + i)] = x[static_cast<size_t>(t * C + i)] * r * g[i];
  }
  return y;
}

// GGUF llama RoPE: adjacent pairs (2i, 2i+1) rotated by pos · base^(−2i/D).
void Rope(Vec& x, int64_t T, int64_t n_head, int64_t D, double base) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < n_head; ++h)
      for (int64_t i = 0; i < D / 2; ++i) {
        const double a = static_cast<double>(t) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(D));
        double& x0 = x[static_cast<size_t>((t * n_head + h) * D + 2 * i)];
        double& x1 = x[static_cast<size_t>((t * n_head + h) * D + 2 * i + 1)];
        const double r0 = x0 * std::cos(a) - x1 * std::sin(a), r1 = x0 * std::sin(a) + x1 * std::cos(a);
        x0 = r0;
        x1 = r1;
      }
}

// Softmax-weighted sum: scores s[j] over values rows.
void SoftmaxInto(double* out, const Vec& s, const std::vector<const double*>& vals, int64_t D) {
  double mx = -1e300, sum = 0;
  for (double v : s) mx = std::max(mx, v);
  for (int64_t d = 0; d < D; ++d) out[d] = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    const double p = std::exp(s[j] - mx);
    sum += p;
    for (int64_t d = 0; d < D; ++d) out[d] += p * vals[j][d];
  }
  for (int64_t d = 0; d < D; ++d) out[d] /= sum;
}

struct RefMemory {  // per (t, h): retrieved keys/values (position-free), and the gate logits
  std::vector<std::vector<Vec>> k, v;  // [T*H][K] rows of D
  std::vector<double> gate;
};

// Backbone block `layer` on x (double), optionally with LongMem's joint attention.
Vec RefBlock(const Tiny& m, int layer, Vec x, int64_t T, const RefMemory* mem) {
  const ModelConfig& c = m.c;
  const int64_t C = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim, I = c.n_ff;
  const std::string b = "blk." + std::to_string(layer) + ".";
  const auto& f = *m.file;
  Vec xn = RmsNorm(x, W(f, b + "attn_norm.weight"), T, C, c.rms_eps);
  Vec q = Lin(xn, W(f, b + "attn_q.weight"), T, H * D, C), q_pre = q;
  Vec k = Lin(xn, W(f, b + "attn_k.weight"), T, Hkv * D, C);
  Vec v = Lin(xn, W(f, b + "attn_v.weight"), T, Hkv * D, C);
  Rope(q, T, H, D, c.rope.theta);
  Rope(k, T, Hkv, D, c.rope.theta);
  Vec att(static_cast<size_t>(T * H * D));
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / Hkv);
      Vec s;
      std::vector<const double*> vals;
      for (int64_t j = 0; j <= t; ++j) {
        double d = 0;
        for (int64_t i = 0; i < D; ++i) d += q[static_cast<size_t>((t * H + h) * D + i)] * k[static_cast<size_t>((j * Hkv + g) * D + i)];
        s.push_back(d * scale);
        vals.push_back(&v[static_cast<size_t>((j * Hkv + g) * D)]);
      }
      double* o = &att[static_cast<size_t>((t * H + h) * D)];
      SoftmaxInto(o, s, vals, D);
      if (mem) {  // (1 − σ)·local + σ·memory, memory with the unrotated query
        const auto& mk = mem->k[static_cast<size_t>(t * H + h)];
        const auto& mv = mem->v[static_cast<size_t>(t * H + h)];
        Vec ms;
        std::vector<const double*> mvals;
        for (size_t j = 0; j < mk.size(); ++j) {
          double d = 0;
          for (int64_t i = 0; i < D; ++i) d += q_pre[static_cast<size_t>((t * H + h) * D + i)] * mk[j][static_cast<size_t>(i)];
          ms.push_back(d * scale);
          mvals.push_back(mv[j].data());
        }
        std::vector<double> mo(static_cast<size_t>(D));
        SoftmaxInto(mo.data(), ms, mvals, D);
        const double gs = 1.0 / (1.0 + std::exp(-mem->gate[static_cast<size_t>(h)]));
        for (int64_t i = 0; i < D; ++i) o[i] = (1 - gs) * o[i] + gs * mo[static_cast<size_t>(i)];
      }
    }
  Vec proj = Lin(att, W(f, b + "attn_output.weight"), T, C, H * D);
  for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
  xn = RmsNorm(x, W(f, b + "ffn_norm.weight"), T, C, c.rms_eps);
  Vec gate = Lin(xn, W(f, b + "ffn_gate.weight"), T, I, C), up = Lin(xn, W(f, b + "ffn_up.weight"), T, I, C);
  for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
  Vec down = Lin(gate, W(f, b + "ffn_down.weight"), T, C, I);
  for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  return x;
}

std::vector<int32_t> Tokens(int64_t T, int seed) {
  std::vector<int32_t> t(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>((i * 37 + seed * 11 + 5) % 128);
  return t;
}

std::vector<int32_t> Labels(const std::vector<int32_t>& tokens) {
  std::vector<int32_t> l(tokens.begin() + 1, tokens.end());
  l.push_back(-100);
  return l;
}

// The backbone's final-normed hidden states [T, C] for one segment read from position 0.
std::vector<float> BackboneHidden(const Tiny& tiny, const std::vector<int32_t>& tokens) {
  const int64_t T = static_cast<int64_t>(tokens.size());
  DenseKv kv(GeometryOf(tiny.c), T, KvCacheType::kF32);
  ForwardScratch scratch;
  std::vector<int32_t> pos(static_cast<size_t>(T));
  std::iota(pos.begin(), pos.end(), 0);
  const Status st = ForwardHidden(*tiny.model, kv, tokens, pos, scratch);
  if (!st.ok()) throw std::runtime_error(st.ToString());
  return std::vector<float>(scratch.hidden.begin(), scratch.hidden.begin() + T * tiny.c.n_embd);
}

MemoryConfig SmallMemory() {
  MemoryConfig m;
  m.chunk_size = 2;
  m.retrieve_tokens = 4;
  m.capacity_tokens = 64;
  return m;
}

class SideNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prev_mode_ = ops::GetMatMulMode();
    ops::SetMatMulMode(ops::MatMulMode::kExact);  // the reference is exact; keep int8 activations out of it
    tiny_ = MakeTiny();
    SideNetConfig s = DefaultSideNetConfig(tiny_.c);
    auto net = SideNet::Init(tiny_.file, s, SmallMemory());
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    net_ = std::move(*net);
    auto lm = LongMem::Create(tiny_.model, net_.get(), SmallMemory());
    ASSERT_TRUE(lm.ok()) << lm.status().ToString();
    lm_ = std::move(*lm);
  }
  void TearDown() override { ops::SetMatMulMode(prev_mode_); }
  ops::MatMulMode prev_mode_;
  Tiny tiny_;
  std::unique_ptr<SideNet> net_;
  std::unique_ptr<LongMem> lm_;
};

TEST_F(SideNetTest, DefaultsFollowThePaperProportions) {
  EXPECT_EQ(net_->config().n_layer, 2);       // L/2 of 4
  EXPECT_EQ(net_->config().memory_layer, 3);  // odd block nearest 0.7·4, within 2·n_layer − 1
  EXPECT_EQ(net_->config().side_memory_layer(), 1);
  ModelConfig big = tiny_.c;
  big.n_layer = 24;
  EXPECT_EQ(DefaultSideNetConfig(big).memory_layer, 17);  // the paper's: keys/values of the 18th block
  big.n_layer = 30;
  EXPECT_EQ(DefaultSideNetConfig(big).memory_layer, 21);  // SmolLM2-135M
  EXPECT_FALSE(Validate(SideNetConfig{.n_layer = 2, .memory_layer = 2}, tiny_.c).ok());
  EXPECT_FALSE(Validate(SideNetConfig{.n_layer = 3, .memory_layer = 3}, tiny_.c).ok());
  for (float g : net_->gate_logits()) EXPECT_EQ(g, 0.0f);
}

// Spec §3: x0 = H[0]; x_{l+1} = block_{2l+1}(x_l) + H[2l+2] − H[2l]; out = norm(x) · head, with the side
// layers starting as copies of the odd backbone blocks and an empty memory meaning plain local attention.
// Then with memory: the memory layer mixes (1 − σ(0))·local + σ(0)·memory over the first segment's keys.
TEST_F(SideNetTest, InitialSideNetFollowsTheSpecAlgebra) {
  const ModelConfig& c = tiny_.c;
  const int64_t T = 12, C = c.n_embd, V = c.n_vocab;
  for (int seg = 0; seg < 2; ++seg) {
    const auto tokens = Tokens(T, seg);
    // Reference: the backbone's hidden list in double, from the same weights.
    std::vector<Vec> Hs;
    Vec x(static_cast<size_t>(T * C));
    const float* emb = W(*tiny_.file, "token_embd.weight");
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < C; ++i) x[static_cast<size_t>(t * C + i)] = emb[tokens[static_cast<size_t>(t)] * C + i];
    Hs.push_back(x);
    for (int l = 0; l < c.n_layer; ++l) {
      x = RefBlock(tiny_, l, x, T, nullptr);
      Hs.push_back(x);
    }
    Hs.back() = RmsNorm(x, W(*tiny_.file, "output_norm.weight"), T, C, c.rms_eps);  // H[L] is post-norm
    RefMemory mem;
    if (seg == 1) {
      // The bank holds segment 0's block-3 keys/values (pre-RoPE) and not yet this segment's. Retrieval is
      // the bank's job (tested in memory_bank_test); the reference attends over the slots it returns.
      const auto& bank = lm_->bank();
      std::vector<int32_t> slots;
      int64_t k = 0;
      // Recompute the side memory layer's query in double to ask the bank the same question.
      Vec xs = Hs[0];
      xs = RefBlock(tiny_, 1, xs, T, nullptr);
      for (size_t i = 0; i < xs.size(); ++i) xs[i] += Hs[2][i] - Hs[0][i];
      Vec xn = RmsNorm(xs, W(*tiny_.file, "blk.3.attn_norm.weight"), T, C, c.rms_eps);
      Vec q = Lin(xn, W(*tiny_.file, "blk.3.attn_q.weight"), T, c.q_dim(), C);
      std::vector<float> qf(q.begin(), q.end());
      ASSERT_TRUE(bank.Retrieve(qf.data(), T, c.n_head, 2, &slots, &k).ok());
      ASSERT_EQ(k, 2);  // chunks
      k *= 2;           // tokens (csz 2)
      mem.gate.assign(static_cast<size_t>(c.n_head), 0.0);
      mem.k.resize(static_cast<size_t>(T * c.n_head));
      mem.v.resize(mem.k.size());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < c.n_head; ++h) {
          const int64_t g = h / (c.n_head / c.n_head_kv);
          for (int64_t j = 0; j < k; ++j) {
            const int32_t s = slots[static_cast<size_t>((t * c.n_head + h) * k + j)];
            const float* kp = bank.keys() + g * bank.kv_stride() + s * c.head_dim;
            const float* vp = bank.values() + g * bank.kv_stride() + s * c.head_dim;
            mem.k[static_cast<size_t>(t * c.n_head + h)].push_back(Vec(kp, kp + c.head_dim));
            mem.v[static_cast<size_t>(t * c.n_head + h)].push_back(Vec(vp, vp + c.head_dim));
          }
        }
    }
    // The SideNet itself (retrieve, then write this segment).
    std::vector<float> got_h(static_cast<size_t>(T * C));
    auto st = lm_->Segment(tokens, {.final_hidden = got_h.data()});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->retrieved, seg == 0 ? 0 : 4);
    Vec xs = Hs[0];
    for (int64_t l = 0; l < 2; ++l) {
      xs = RefBlock(tiny_, static_cast<int>(2 * l + 1), xs, T, (seg == 1 && l == 1) ? &mem : nullptr);
      for (size_t i = 0; i < xs.size(); ++i) xs[i] += Hs[static_cast<size_t>(2 * l + 2)][i] - Hs[static_cast<size_t>(2 * l)][i];
    }
    Vec want = RmsNorm(xs, W(*tiny_.file, "output_norm.weight"), T, C, c.rms_eps);
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(want[i] - got_h[i]));
    EXPECT_LT(worst, 2e-4) << "segment " << seg;
    (void)V;
  }
  EXPECT_EQ(lm_->bank().n_tokens(), 2 * T);  // each segment written after it retrieved
}

// The `backbone` init zeroes each side block's output projections and ends the residuals at the pre-norm
// final state: the untrained SideNet then reproduces the backbone's final hidden states exactly, with or
// without memory (the zeroed output projection hides the memory until training opens it).
TEST_F(SideNetTest, BackboneInitReproducesTheBackbone) {
  SideNetConfig s = DefaultSideNetConfig(tiny_.c);
  s.init = SideNetInit::kBackbone;
  auto net = SideNet::Init(tiny_.file, s, SmallMemory());
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  auto lm = LongMem::Create(tiny_.model, net->get(), SmallMemory());
  ASSERT_TRUE(lm.ok());
  const int64_t T = 14, C = tiny_.c.n_embd;
  ASSERT_TRUE((*lm)->Memorize(Tokens(T, 21)).ok());
  const auto tokens = Tokens(T, 22);
  const std::vector<float> backbone = BackboneHidden(tiny_, tokens);
  for (bool use_memory : {false, true}) {
    std::vector<float> got(static_cast<size_t>(T * C));
    auto st = (*lm)->Segment(tokens, {.use_memory = use_memory, .write_memory = false, .final_hidden = got.data()});
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->retrieved, use_memory ? 4 : 0);
    EXPECT_LT(test::MaxAbsDiff(got, backbone), 1e-5) << "use_memory " << use_memory;
  }
}

// The `backbone-memory` init keeps the memory layer's output projection and moves the residual boundary to
// block m's mid-block state, so the memory layer is block m's attention: without memory (or with the gate
// shut) the SideNet still reproduces the backbone, with an open gate the memory changes the output at once,
// and the first backward already reaches the gate — under `backbone` its gradient is exactly zero.
TEST_F(SideNetTest, BackboneMemoryInitHasALiveMemoryPath) {
  const int64_t T = 14, C = tiny_.c.n_embd;
  const auto tokens = Tokens(T, 22);
  const std::vector<float> backbone = BackboneHidden(tiny_, tokens);
  double gate_grad[2] = {0, 0};
  for (SideNetInit init : {SideNetInit::kBackbone, SideNetInit::kBackboneMemory}) {
    SideNetConfig s = DefaultSideNetConfig(tiny_.c);
    s.init = init;
    auto net = SideNet::Init(tiny_.file, s, SmallMemory());
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    auto lm = LongMem::Create(tiny_.model, net->get(), SmallMemory());
    ASSERT_TRUE(lm.ok());
    ASSERT_TRUE((*lm)->Memorize(Tokens(T, 21)).ok());
    auto diff_from_backbone = [&](bool use_memory) {
      std::vector<float> got(static_cast<size_t>(T * C));
      auto st = (*lm)->Segment(tokens, {.use_memory = use_memory, .write_memory = false, .final_hidden = got.data()});
      EXPECT_TRUE(st.ok());
      return test::MaxAbsDiff(got, backbone);
    };
    EXPECT_LT(diff_from_backbone(false), 1e-5);
    const double open = diff_from_backbone(true);
    if (init == SideNetInit::kBackboneMemory) EXPECT_GT(open, 1e-3);
    else EXPECT_LT(open, 1e-5);
    (*net)->params().ZeroGrad();
    ASSERT_TRUE((*lm)->Segment(tokens, {.labels = Labels(tokens), .backward = true, .write_memory = false}).ok());
    for (float g : (*net)->params().Find(SideNet::kGateName)->grad)
      gate_grad[init == SideNetInit::kBackboneMemory] += std::abs(g);
    for (float& g : (*net)->gate_logits()) g = -1e4f;  // σ = 0: block m's attention alone again
    EXPECT_LT(diff_from_backbone(true), 1e-5);
  }
  EXPECT_EQ(gate_grad[0], 0.0);
  EXPECT_GT(gate_grad[1], 1e-4);
}

TEST_F(SideNetTest, GateShutReproducesLocalOnlyAttention) {
  const int64_t T = 10, C = tiny_.c.n_embd;
  ASSERT_TRUE(lm_->Memorize(Tokens(T, 3)).ok());
  ASSERT_TRUE(lm_->Memorize(Tokens(T, 4)).ok());
  const auto tokens = Tokens(T, 5);
  std::vector<float> local(static_cast<size_t>(T * C)), shut(local.size()), open(local.size());
  ASSERT_TRUE(lm_->Segment(tokens, {.use_memory = false, .write_memory = false, .final_hidden = local.data()}).ok());
  ASSERT_TRUE(lm_->Segment(tokens, {.write_memory = false, .final_hidden = open.data()}).ok());
  for (float& g : net_->gate_logits()) g = -1e4f;  // σ = 0 exactly in f32
  auto st = lm_->Segment(tokens, {.write_memory = false, .final_hidden = shut.data()});
  ASSERT_TRUE(st.ok());
  EXPECT_GT(st->retrieved, 0);
  EXPECT_LT(test::MaxAbsDiff(shut, local), 1e-6);
  EXPECT_GT(test::MaxAbsDiff(open, local), 1e-3);  // the memory does change the output when the gate is open
}

// Gradients of the SideNet's parameters (memory gate, the memory layer's query projection, a norm) through
// joint attention over a non-empty memory, against central differences of the loss.
TEST_F(SideNetTest, GradientsMatchFiniteDifferences) {
  const int64_t T = 8;
  ASSERT_TRUE(lm_->Memorize(Tokens(T, 8)).ok());
  const auto tokens = Tokens(T, 9);
  const auto labels = Labels(tokens);
  for (float& g : net_->gate_logits()) g = 0.3f;
  auto loss_at = [&]() {
    auto st = lm_->Segment(tokens, {.labels = labels, .write_memory = false});
    return st.ok() ? st->loss : NAN;
  };
  net_->params().ZeroGrad();
  ASSERT_TRUE(lm_->Segment(tokens, {.labels = labels, .backward = true, .write_memory = false}).ok());
  for (const char* name : {SideNet::kGateName, "sidenet.1.attn_q.weight", "sidenet.0.ffn_norm.weight",
                           "sidenet.output_norm.weight", "sidenet.1.attn_v.weight"}) {
    train::Param* p = net_->params().Find(name);
    ASSERT_NE(p, nullptr) << name;
    double worst = 0;
    for (int64_t i = 0; i < std::min<int64_t>(p->numel(), 6); ++i) {
      const size_t j = static_cast<size_t>((i * 7919) % p->numel());
      const float keep = p->value[j];
      const float h = 1e-2f;
      p->value[j] = keep + h;
      const double up = loss_at();
      p->value[j] = keep - h;
      const double dn = loss_at();
      p->value[j] = keep;
      const double fd = (up - dn) / (2 * h);
      worst = std::max(worst, std::abs(fd - p->grad[j]) / (std::abs(p->grad[j]) + 1e-3));
    }
    EXPECT_LT(worst, 2e-2) << name;
  }
}

// Checkpointed SideNet blocks (recomputed in spans, the cross-network residual re-added between the blocks of
// a span, the memory layer retrieving again) give the plain path's loss and gradients.
TEST(SideNetCheckpointing, SpansMatchThePlainPath) {
  Tiny tiny = MakeTiny(10);  // 5 side blocks
  auto net = SideNet::Init(tiny.file, DefaultSideNetConfig(tiny.c), SmallMemory());
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  auto lm = LongMem::Create(tiny.model, net->get(), SmallMemory());
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  ASSERT_TRUE((*lm)->Memorize(Tokens(24, 3)).ok());
  for (float& g : (*net)->gate_logits()) g = 0.3f;
  const auto tokens = Tokens(11, 4);
  const auto labels = Labels(tokens);
  auto run = [&](const train::ComputeOptions& o, std::map<std::string, std::vector<float>>* grads) {
    (*net)->params().ZeroGrad();
    auto st = (*lm)->Segment(tokens, {.labels = labels, .backward = true, .write_memory = false, .compute = o});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    for (const auto& p : (*net)->params().all()) (*grads)[p->name] = p->grad;
    return st.ok() ? st->loss : NAN;
  };
  for (int64_t mlp : {0, 3}) {
    std::map<std::string, std::vector<float>> g0;
    const double l0 = run({.mlp_chunks = mlp, .head_chunks = mlp}, &g0);
    for (int64_t span : {1, 2, 3, 0}) {
      SCOPED_TRACE(testing::Message() << "mlp chunks " << mlp << ", span " << span);
      std::map<std::string, std::vector<float>> g;
      const double l = run({.mlp_chunks = mlp, .head_chunks = mlp, .checkpoint_layers = true, .checkpoint_span = span}, &g);
      EXPECT_NEAR(l, l0, 1e-6 * std::abs(l0));
      for (const auto& [name, v] : g) {
        ASSERT_TRUE(std::any_of(g0[name].begin(), g0[name].end(), [](float x) { return x != 0.0f; })) << name;
        EXPECT_LE(test::MaxRelDiff(v, g0[name]), 4e-6) << name;
      }
    }
  }
}

TEST_F(SideNetTest, FileRoundTripAndBadFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "lm_sidenet_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "s.safetensors").string();
  net_->gate_logits()[1] = 0.25f;
  net_->params().Find("sidenet.0.attn_k.weight")->value[3] = 1.5f;
  ASSERT_TRUE(net_->Save(path).ok());
  auto back = SideNet::Load(tiny_.file, path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t i = 0; i < net_->params().all().size(); ++i)
    EXPECT_EQ(net_->params().all()[i]->value, (*back)->params().all()[i]->value);
  // Another backbone (different depth) is refused with a hint.
  Tiny other = MakeTiny(6);
  auto wrong = SideNet::Load(other.file, path);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("hint"), std::string::npos) << wrong.status().ToString();
  // A truncated file is an error, not a crash.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_FALSE(SideNet::Load(tiny_.file, path).ok());
  std::filesystem::remove_all(dir);
}

// The retrieval query is part of the SideNet file's memory settings; raw (the default) is not written, so
// files and checkpoint run configs from before the option read the same.
TEST(SideNetConfigJson, RetrievalQueryRoundTripsAndDefaultsToRaw) {
  SideNetConfig s{.n_layer = 2, .memory_layer = 3};
  MemoryConfig m;
  EXPECT_EQ(ToJson(s, m).find("retrieval_query"), std::string::npos);
  m.query = RetrievalQuery::kCentred;
  SideNetConfig s2;
  MemoryConfig m2;
  ASSERT_TRUE(FromJson(ToJson(s, m), &s2, &m2).ok());
  EXPECT_EQ(m2.query, RetrievalQuery::kCentred);
  ASSERT_TRUE(FromJson(ToJson(s, MemoryConfig{}), &s2, &m2).ok());
  EXPECT_EQ(m2.query, RetrievalQuery::kRaw);
  EXPECT_FALSE(ParseRetrievalQuery("centered-ish").ok());
  EXPECT_NE(Describe(m).find("q=centred"), std::string::npos);
}

TEST(SideNetConfigJson, EveryIndexKindRoundTripsByName) {
  const SideNetConfig s{.n_layer = 2, .memory_layer = 3};
  for (membank::IndexKind kind : {membank::IndexKind::kExact, membank::IndexKind::kIvfInt8,
                                  membank::IndexKind::kFaissIvf, membank::IndexKind::kFaissHnsw}) {
    MemoryConfig m;
    m.index = kind;
    SideNetConfig s2;
    MemoryConfig m2;
    ASSERT_TRUE(FromJson(ToJson(s, m), &s2, &m2).ok()) << IndexOptionName(kind);
    EXPECT_EQ(m2.index, kind) << IndexOptionName(kind);
    auto parsed = ParseIndexKind(IndexOptionName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_FALSE(ParseIndexKind("ivf8").ok());
}

// Memorize stops the backbone at the cached block; the bank must hold exactly what a full Segment writes.
TEST_F(SideNetTest, MemorizeWritesWhatSegmentWrites) {
  const auto tokens = Tokens(16, 31);
  ASSERT_TRUE(lm_->Memorize(tokens).ok());
  auto other = LongMem::Create(tiny_.model, net_.get(), SmallMemory());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Segment(tokens, {}).ok());
  const auto& a = lm_->bank();
  const auto& b = (*other)->bank();
  ASSERT_EQ(a.n_tokens(), 16);
  ASSERT_EQ(b.n_tokens(), 16);
  for (int64_t g = 0; g < tiny_.c.n_head_kv; ++g)
    for (int64_t i = 0; i < 16 * tiny_.c.head_dim; ++i) {
      ASSERT_EQ(a.keys()[g * a.kv_stride() + i], b.keys()[g * b.kv_stride() + i]);
      ASSERT_EQ(a.values()[g * a.kv_stride() + i], b.values()[g * b.kv_stride() + i]);
    }
}

TEST_F(SideNetTest, BadInputIsReported) {
  EXPECT_FALSE(lm_->Segment(Tokens(300, 1), {}).ok());  // longer than the backbone's 256-token context
  std::vector<int32_t> bad = {1, 2, 999};
  EXPECT_FALSE(lm_->Segment(bad, {}).ok());
  EXPECT_EQ(lm_->bank().n_tokens(), 0);  // nothing was written
}

TEST(Segments, DocumentOrderLabelsAndHoldout) {
  std::vector<Document> docs = {{"a", {1, 2, 3, 4, 5, 6, 7}}, {"b", {8, 9, 10}}, {"c", {11}}};
  auto s = SegmentStream::Create(docs, 3);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 3);  // a: [1 2 3] [4 5 6] (7 is only a target), b: [8 9 10], c: too short
  std::vector<int32_t> t, l;
  s->Get(0, &t, &l);
  EXPECT_EQ(t, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(l, (std::vector<int32_t>{2, 3, 4}));  // labels continue into the next segment of the document
  EXPECT_TRUE(s->at(0).first_of_doc);
  s->Get(1, &t, &l);
  EXPECT_EQ(t, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(l, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_FALSE(s->at(1).first_of_doc);
  s->Get(2, &t, &l);
  EXPECT_EQ(t, (std::vector<int32_t>{8, 9, 10}));
  EXPECT_EQ(l, (std::vector<int32_t>{9, 10, -100}));  // the document's last token has no target
  EXPECT_TRUE(s->at(2).first_of_doc);
  std::vector<Document> tr, ho;
  SplitHoldout({{"d", std::vector<int32_t>(100, 1)}}, 0.1, &tr, &ho);
  ASSERT_EQ(tr.size(), 1u);
  ASSERT_EQ(ho.size(), 1u);
  EXPECT_EQ(tr[0].tokens.size(), 90u);
  EXPECT_EQ(ho[0].tokens.size(), 10u);
  EXPECT_FALSE(SegmentStream::Create({{"x", {1}}}, 4).ok());
}

}  // namespace
}  // namespace lm::sidenet

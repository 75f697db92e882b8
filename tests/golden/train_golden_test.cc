// Whole-model gradients of the default model on one 64-token sequence against PyTorch (goldens/grads.py):
// loss within 1e-4 relative, every parameter's gradient L2 norm within 1e-3 relative, and the first 64
// values of selected gradients (q/k in GGUF row order) within 1e-3 of that tensor's largest sliced value
// plus 1e-7 absolute. f32 accumulation-order differences over 30 layers stay well under these.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "test_util.h"
#include "train/llama_train.h"

namespace lm::train {
namespace {

TEST(TrainGolden, GradientsMatchPyTorch) {
  const auto golden = test::LoadJson(test::DataPath("goldens/grads_smollm2.json"));
  auto file = gguf::GgufFile::Open(test::DefaultModelPath());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto model = TrainModel::Load(*file, *ParseTrainableSpec("full"), 1);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<int32_t> ids = golden.at("token_ids").get<std::vector<int32_t>>();
  std::vector<int32_t> labels(ids.begin() + 1, ids.end());
  labels.push_back(-100);
  // MST on (chunks of 16 rows for the MLP and head) and layer checkpointing: the exact paths under test.
  auto loss = (*model)->Run(ids, labels, {.mlp_chunks = 4, .head_chunks = 4, .checkpoint_layers = true}, true);
  ASSERT_TRUE(loss.ok()) << loss.status().ToString();
  const double want = golden.at("loss").get<double>();
  EXPECT_NEAR(*loss, want, 1e-4 * want);
  int checked = 0;
  double worst = 0;
  std::string worst_name;
  for (const auto& [name, norm] : golden.at("grad_l2_norms").items()) {
    const Param* p = (*model)->params().Find(name);
    ASSERT_NE(p, nullptr) << name;
    double ss = 0;
    for (float g : p->grad) ss += static_cast<double>(g) * g;
    const double want_norm = norm.get<double>();
    EXPECT_NEAR(std::sqrt(ss), want_norm, 1e-3 * want_norm) << name;
    if (std::abs(std::sqrt(ss) - want_norm) / want_norm > worst) {
      worst = std::abs(std::sqrt(ss) - want_norm) / want_norm;
      worst_name = name;
    }
    ++checked;
  }
  std::printf("loss %.7f vs %.7f; worst gradient-norm relative error %.2e (%s)\n", *loss, want, worst,
              worst_name.c_str());
  EXPECT_EQ(checked, static_cast<int>((*model)->params().all().size()));
  for (const auto& [name, values] : golden.at("grad_first_values").items()) {
    const Param* p = (*model)->params().Find(name);
    ASSERT_NE(p, nullptr) << name;
    const auto v = values.get<std::vector<double>>();
    double scale = 0;
    for (double x : v) scale = std::max(scale, std::abs(x));
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(p->grad[i], v[i], 1e-3 * scale + 1e-7) << name << "[" << i << "]";
  }
}

}  // namespace
}  // namespace lm::train

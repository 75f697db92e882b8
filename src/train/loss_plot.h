// Loss-curve image: a self-contained SVG (training loss per step, held-out loss at evaluation steps).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "train/checkpoint.h"

namespace lm::train {

std::string LossCurveSvg(const std::vector<HistoryPoint>& history, const std::string& title);
Status WriteLossCurveSvg(const std::string& path, const std::vector<HistoryPoint>& history, const std::string& title);

}  // namespace lm::train

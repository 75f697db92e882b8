// eval-icl reporting: a terminal table (accuracy mean ± std over seeds per system and N, both scoring
// rules, retrieval diagnostics), the JSON report, and the accuracy-vs-N chart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "eval/longmem/icl_eval.h"
#include "eval/plot/line_chart.h"

namespace lm::eval_longmem {

std::string FormatIclTable(const IclReport& r);
nlohmann::json IclReportJson(const IclReport& r);
// Systems that see no memory are flat lines over N.
plot::LineChart IclChart(const IclReport& r, const std::string& title);

}  // namespace lm::eval_longmem

// eval-ppl reporting: a terminal table (PPL [95% CI] per bucket and system, throughput, peak memory), the
// JSON report, and the PPL-vs-bucket chart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "eval/longmem/ppl_eval.h"
#include "eval/plot/line_chart.h"

namespace lm::eval_longmem {

std::string FormatPplTable(const PplEvalReport& r);
nlohmann::json PplReportJson(const PplEvalReport& r);
plot::LineChart PplChart(const PplEvalReport& r, const std::string& title);

}  // namespace lm::eval_longmem

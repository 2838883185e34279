// The run's JSON report: per node time to full sync and traffic, messages and bytes by command,
// peer-graph samples over time, block propagation percentiles, convergence at the end, and for
// scenarios with attackers the eclipsed fraction over time. Only virtual-time figures: the same
// scenario and seed give the same report byte for byte (wall-clock figures go to the progress
// lines on stderr).
#pragma once

#include "world.hpp"

#include <nlohmann/json.hpp>

namespace qtc::sim {

nlohmann::json make_report(const world& w);

/// Nearest-rank percentile of sorted values (0 when empty).
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p);

} // namespace qtc::sim

// Label sets of metric updates sent to the metrics actor.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace qtc {

/// Prometheus labels of one time series, e.g. {{"actor", "storage"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

} // namespace qtc

// Label sets of metric updates sent to the metrics actor, and the health verdicts it serves.
#pragma once

#include <caf/meta/type_name.hpp>

#include <string>
#include <utility>
#include <vector>

namespace qtc {

/// Prometheus labels of one time series, e.g. {{"actor", "storage"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// An amount to add to one counter series; a batch of them is one message to the metrics actor
/// (a session's activity report moves a counter per command and direction).
struct metric_increment {
  std::string family;
  metric_labels labels;
  double amount = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_increment& x) {
  return f(caf::meta::type_name("metric_increment"), x.family, x.labels, x.amount);
}

/// The node's health and readiness as the health actor last judged them (runtime/health), for
/// the metrics actor to serve as `/health` and `/ready`: each a JSON body and whether it passed.
struct health_snapshot {
  std::string health_body;
  bool healthy = false;
  std::string ready_body;
  bool ready = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_snapshot& x) {
  return f(caf::meta::type_name("health_snapshot"), x.health_body, x.healthy, x.ready_body,
           x.ready);
}

} // namespace qtc

// How components report metrics: a counter or gauge update to the metrics actor, found through
// the actor system's service host (messages/services.hpp; it offers itself there at start). Without
// a metrics actor (metrics disabled, unit tests) updates are dropped: metrics never change
// behaviour.
#pragma once

#include "messages/metric_update.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <string>
#include <vector>

namespace qtc {

class metrics_client {
public:
  metrics_client() = default;
  explicit metrics_client(caf::actor_system& sys) : sys_(&sys) {}

  /// Adds `amount` to a counter family's series (the family must be registered in actors/metrics).
  void count(const std::string& family, metric_labels labels = {}, double amount = 1) const;

  /// Adds to several counter series in one message (nothing is sent for none).
  void count(std::vector<metric_increment> increments) const;

  /// Sets a gauge family's series.
  void gauge(const std::string& family, metric_labels labels, double value) const;

  /// Observes `value` into a histogram family's series.
  void observe(const std::string& family, metric_labels labels, double value) const;

  /// Observes every one of `values` into a histogram family's series, in one message.
  void observe(const std::string& family, metric_labels labels, std::vector<double> values) const;

private:
  caf::actor_system* sys_ = nullptr;
};

} // namespace qtc

#include "actors/support/metrics_client.hpp"

#include "messages/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace qtc {

namespace {

/// The metrics actor of the system, if it runs.
metrics_actor metrics_of(caf::actor_system* sys) {
  if (sys == nullptr)
    return {};
  const auto* host = services_of(sys->config());
  return host != nullptr ? host->metrics() : metrics_actor{};
}

} // namespace

void metrics_client::count(const std::string& family, metric_labels labels, double amount) const {
  if (auto m = metrics_of(sys_))
    caf::anon_send(m, count_atom::value, family, std::move(labels), amount);
}

void metrics_client::count(std::vector<metric_increment> increments) const {
  if (auto m = metrics_of(sys_); m && !increments.empty())
    caf::anon_send(m, count_atom::value, std::move(increments));
}

void metrics_client::gauge(const std::string& family, metric_labels labels, double value) const {
  if (auto m = metrics_of(sys_))
    caf::anon_send(m, gauge_atom::value, family, std::move(labels), value);
}

void metrics_client::observe(const std::string& family, metric_labels labels, double value) const {
  if (auto m = metrics_of(sys_))
    caf::anon_send(m, observe_atom::value, family, std::move(labels), value);
}

void metrics_client::observe(const std::string& family, metric_labels labels,
                             std::vector<double> values) const {
  if (auto m = metrics_of(sys_); m && !values.empty())
    caf::anon_send(m, observe_atom::value, family, std::move(labels), std::move(values));
}

} // namespace qtc

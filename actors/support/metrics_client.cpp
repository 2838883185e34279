#include "actors/support/metrics_client.hpp"

#include "messages/interfaces.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace qtc {

void metrics_client::count(const std::string& family, metric_labels labels, double amount) const {
  if (sys_ == nullptr)
    return;
  if (auto m = sys_->registry().get<metrics_actor>(metrics_registry_key))
    caf::anon_send(m, count_atom::value, family, std::move(labels), amount);
}

void metrics_client::gauge(const std::string& family, metric_labels labels, double value) const {
  if (sys_ == nullptr)
    return;
  if (auto m = sys_->registry().get<metrics_actor>(metrics_registry_key))
    caf::anon_send(m, gauge_atom::value, family, std::move(labels), value);
}

void metrics_client::observe(const std::string& family, metric_labels labels, double value) const {
  if (sys_ == nullptr)
    return;
  if (auto m = sys_->registry().get<metrics_actor>(metrics_registry_key))
    caf::anon_send(m, observe_atom::value, family, std::move(labels), value);
}

} // namespace qtc

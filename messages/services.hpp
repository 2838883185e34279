// The two services every actor of a node uses without asking for them: the log sink and the
// metrics actor. They are held, typed, by the actor system's config (node_config derives from
// service_host) and set when they start — not registered by name in CAF's actor registry, whose
// named actors any peer of CAF's remoting (the inspector's BASP endpoint) can look up and send to
// without going through the inspector's cookie check. tests/inspect_e2e_test.cpp checks that a
// remote lookup finds neither.
#pragma once

#include "messages/interfaces.hpp"

#include <caf/actor_system_config.hpp>

#include <mutex>

namespace qtc {

class service_host {
public:
  virtual ~service_host() = default;

  log_sink_actor log_sink() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return log_sink_;
  }
  void set_log_sink(log_sink_actor sink) const {
    std::lock_guard<std::mutex> guard{mutex_};
    log_sink_ = std::move(sink);
  }

  metrics_actor metrics() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return metrics_;
  }
  void set_metrics(metrics_actor m) const {
    std::lock_guard<std::mutex> guard{mutex_};
    metrics_ = std::move(m);
  }

private:
  // Set once the actor system runs, whose config is const from then on: mutable, guarded.
  mutable std::mutex mutex_;
  mutable log_sink_actor log_sink_;
  mutable metrics_actor metrics_;
};

/// The service host of an actor system, if its config is one.
inline const service_host* services_of(const caf::actor_system_config& cfg) {
  return dynamic_cast<const service_host*>(&cfg);
}

} // namespace qtc

// The metrics actor: owns the Prometheus registry and the operator's HTTP endpoint: `/metrics`
// (the registry in Prometheus's text format), `/health` and `/ready` (the health actor's latest
// verdicts, runtime/health/health_monitor).
//
// Other actors never touch the registry; they send `count`/`gauge` updates. Supervision events
// arrive from the root supervisor (its event observer), so every restart anywhere in the tree is
// counted by actor name. The HTTP server runs on civetweb's own threads (runtime/io/
// http_endpoint), never on the actor scheduler's; they read the registry (thread-safe) and the
// last health snapshot (under a mutex).
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"
#include "runtime/io/http_endpoint.hpp"
#include "runtime/io/process_metrics.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace qtc {

/// Where the metrics endpoint listens; port 0 picks a free port (the chosen one is logged).
struct metrics_endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

/// The health actor's last snapshot, read by the HTTP threads.
struct served_health {
  std::mutex mutex;
  std::optional<health_snapshot> snapshot;
  std::chrono::steady_clock::time_point received;
};

struct metrics_state {
  logger log;
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<process_collector> process;
  std::shared_ptr<served_health> health;
  std::unique_ptr<http_endpoint> http; ///< destroyed first: stops serving before the rest
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histograms;
  std::set<std::string> unknown_reported; ///< unknown families already warned about once
  std::string listen_address;             ///< host:port actually bound
  ~metrics_state();
  static inline const char* name = "metrics";
};

metrics_actor::behavior_type metrics(metered_pointer<metrics_actor, metrics_state> self,
                                     metrics_endpoint endpoint);

} // namespace qtc

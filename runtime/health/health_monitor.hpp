// The node's health checks and readiness, over windows of samples.
//
// The seed names five health signals: DNS seed resolution success rate, peer connection success
// rate, message processing latency, security event frequency and sync progress rate. Each is
// judged over a window with a threshold (health_thresholds; docs/operations.md, "Health checks"):
// an operator's load balancer or orchestrator polls `/health` (every check passes: 200, else 503
// naming what failed) and `/ready` (the node can serve peers: its store is open, it listens,
// and it is synced or syncing: 200, else 503).
//
// The health actor samples the node once a second — cumulative counters from the metrics
// registry (the same numbers operators graph, so a check and its graph never disagree), its own
// probes' round trips to the components, and the supervision tree's state — and feeds them here.
// Pure and deterministic: time is passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace qtc {

/// One sample of the node. Counters are cumulative since start (a window's rate is the
/// difference between its newest and oldest sample); the rest is the state at the sample.
struct health_sample {
  double dns_queries_ok = 0;     ///< seed queries answered (any record type)
  double dns_queries_failed = 0; ///< seed queries that failed (timeout, refused, no answer)
  double outbound_connected = 0; ///< outbound connection attempts that became peers
  double outbound_failed = 0;    ///< outbound attempts that failed before the version handshake
  double security_offences = 0;  ///< offences reported against peers
  std::int64_t height = -1;      ///< blocks in the store; -1 while the chain is not loaded
  std::int64_t target = -1;      ///< the height sync aims at (best header or best peer)
  std::int64_t peers = 0;        ///< connections open now
  /// The slowest component's answer to the health actor's probes in this sample, if it probed
  /// (an unanswered probe counts as its timeout).
  std::optional<std::chrono::steady_clock::duration> slowest_answer;
  std::string slowest_component; ///< whose answer that was
  bool store_open = false;       ///< the storage component runs (its store is open)
  bool listening = false;        ///< the peer manager runs (its P2P listener is bound)
};

/// The thresholds; each is documented in docs/operations.md with its reason.
struct health_thresholds {
  /// Rates (DNS, connections, offences) are judged over this.
  std::chrono::steady_clock::duration window = std::chrono::minutes{5};
  /// At least this share of seed queries in the window succeed (a seed that fails now and then
  /// is normal; a resolver that answers nothing is not).
  double min_dns_success = 0.5;
  /// At least this share of outbound attempts in the window become peers, judged from
  /// `min_connection_attempts` attempts (addresses from seeds and gossip are often stale:
  /// Bitcoin Core's feelers find most tried addresses dead, so the bar is low).
  double min_connection_success = 0.2;
  double min_connection_attempts = 4;
  /// The slowest component answers a probe within this, over the last `latency_window`. A
  /// probe waits behind a component's whole mailbox: this is the node's message latency.
  std::chrono::steady_clock::duration max_latency = std::chrono::seconds{1};
  std::chrono::steady_clock::duration latency_window = std::chrono::minutes{1};
  /// Offences per minute, averaged over the window (an honest network produces a handful an
  /// hour; a node under attack produces them by the hundred, the budgets' own throttle lines).
  double max_offences_per_minute = 30;
  /// Behind its target, the node's height grows within this (a block takes well under a
  /// second to fetch; two minutes without one is a stalled sync).
  std::chrono::steady_clock::duration max_sync_stall = std::chrono::minutes{2};
};

/// One check's verdict: the value measured, the threshold it is held to, and why.
struct health_check {
  std::string name;
  bool pass = true;
  double value = 0;
  double threshold = 0;
  std::string detail;
};

struct health_verdict {
  bool pass = true; ///< every check passes
  std::vector<health_check> checks;
};

class health_monitor {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit health_monitor(health_thresholds thresholds = {}) : thresholds_(thresholds) {}

  /// Records a sample taken at `now` (samples come in time order).
  void add(time_point now, const health_sample& sample);

  /// The five health checks at `now`, over what was sampled.
  health_verdict health(time_point now) const;

  /// Readiness: store open, listening, synced or syncing, from the newest sample.
  health_verdict readiness(time_point now) const;

  const health_thresholds& thresholds() const {
    return thresholds_;
  }

private:
  health_check dns_check() const;
  health_check connection_check() const;
  health_check latency_check(time_point now) const;
  health_check security_check() const;
  health_check sync_check(time_point now) const;
  /// The counters at the rate window's start: the oldest sample inside it, or zero while the
  /// node's start is inside it.
  health_sample window_start() const;
  double window_minutes() const;

  health_thresholds thresholds_;
  std::deque<std::pair<time_point, health_sample>> samples_;
  std::optional<time_point> last_sync_progress_; ///< when the height last grew, or was at target
};

/// `/health` and `/ready` bodies: {"status": "pass"|"fail", "checks": {name: {...}}}.
std::string to_json(const health_verdict& verdict);

} // namespace qtc

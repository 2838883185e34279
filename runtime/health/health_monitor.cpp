#include "runtime/health/health_monitor.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace qtc {

namespace {

using std::chrono::duration;
using seconds_d = duration<double>;

double in_seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<seconds_d>(d).count();
}

std::string fixed(double x, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, x);
  return text;
}

} // namespace

void health_monitor::add(time_point now, const health_sample& sample) {
  bool behind = sample.height >= 0 && sample.target > sample.height;
  bool grew = !samples_.empty() && sample.height > samples_.back().second.height;
  if (!behind || grew || !last_sync_progress_)
    last_sync_progress_ = now;
  samples_.emplace_back(now, sample);
  // Keep what the longest window needs, plus one sample older (a window's start).
  auto keep = std::max(thresholds_.window, thresholds_.latency_window);
  while (samples_.size() > 2 && now - samples_[1].first >= keep)
    samples_.pop_front();
}

health_sample health_monitor::window_start() const {
  auto newest = samples_.back().first;
  // While the node's start is inside the window, what it counted before the first sample (the
  // seed queries and dials of its first second) belongs to the window: counters start at zero.
  if (newest - samples_.front().first < thresholds_.window) {
    health_sample zero;
    zero.height = samples_.front().second.height;
    return zero;
  }
  for (const auto& [at, sample] : samples_)
    if (newest - at <= thresholds_.window)
      return sample;
  return samples_.back().second;
}

double health_monitor::window_minutes() const {
  auto newest = samples_.back().first;
  auto span = std::min(newest - samples_.front().first, thresholds_.window);
  return std::max(in_seconds(span), 1.0) / 60.0;
}

health_check health_monitor::dns_check() const {
  health_check c{"dns_seed_resolution", true, 1, thresholds_.min_dns_success, ""};
  const auto& from = window_start();
  const auto& to = samples_.back().second;
  auto ok = to.dns_queries_ok - from.dns_queries_ok;
  auto failed = to.dns_queries_failed - from.dns_queries_failed;
  if (ok + failed <= 0) {
    c.detail = "no seed queries in the window";
    return c;
  }
  c.value = ok / (ok + failed);
  c.pass = c.value >= thresholds_.min_dns_success;
  c.detail = fixed(ok, 0) + " of " + fixed(ok + failed, 0) + " seed queries answered";
  return c;
}

health_check health_monitor::connection_check() const {
  health_check c{"peer_connection", true, 1, thresholds_.min_connection_success, ""};
  const auto& from = window_start();
  const auto& to = samples_.back().second;
  auto ok = to.outbound_connected - from.outbound_connected;
  auto failed = to.outbound_failed - from.outbound_failed;
  auto attempts = ok + failed;
  if (attempts > 0)
    c.value = ok / attempts;
  c.detail = fixed(ok, 0) + " of " + fixed(attempts, 0) + " outbound attempts connected";
  if (attempts >= thresholds_.min_connection_attempts) {
    c.pass = c.value >= thresholds_.min_connection_success;
    return c;
  }
  // Too few in the window to judge a rate; but a node without peers whose attempts since start
  // all failed stays unhealthy after they age out of the window (it stopped finding addresses).
  if (to.peers == 0 && to.outbound_connected == 0
      && to.outbound_failed >= thresholds_.min_connection_attempts) {
    c.value = 0;
    c.pass = false;
    c.detail += "; no peer, and none of the " + fixed(to.outbound_failed, 0)
                + " outbound attempts since start connected";
    return c;
  }
  c.detail += " (too few to judge)";
  return c;
}

health_check health_monitor::latency_check(time_point now) const {
  health_check c{"message_latency", true, 0, in_seconds(thresholds_.max_latency), ""};
  std::optional<std::chrono::steady_clock::duration> slowest;
  std::string who;
  for (const auto& [at, sample] : samples_)
    if (now - at <= thresholds_.latency_window && sample.slowest_answer
        && (!slowest || *sample.slowest_answer > *slowest)) {
      slowest = sample.slowest_answer;
      who = sample.slowest_component;
    }
  if (!slowest) {
    c.detail = "no probe answered or timed out in the window yet";
    return c;
  }
  c.value = in_seconds(*slowest);
  c.pass = *slowest <= thresholds_.max_latency;
  c.detail = "slowest answer " + fixed(c.value * 1000, 1) + " ms (" + who + ")";
  return c;
}

health_check health_monitor::security_check() const {
  health_check c{"security_events", true, 0, thresholds_.max_offences_per_minute, ""};
  auto offences = samples_.back().second.security_offences - window_start().security_offences;
  c.value = offences / window_minutes();
  c.pass = c.value <= thresholds_.max_offences_per_minute;
  c.detail = fixed(offences, 0) + " offences in the window (" + fixed(c.value, 1) + "/min)";
  return c;
}

/// Value: seconds behind the target without a new block (0 while synced or advancing).
health_check health_monitor::sync_check(time_point now) const {
  health_check c{"sync_progress", true, 0, in_seconds(thresholds_.max_sync_stall), ""};
  const auto& to = samples_.back().second;
  const auto& from = window_start();
  if (to.height < 0) {
    c.pass = false;
    c.detail = "the chain is not loaded";
    return c;
  }
  if (to.target <= to.height) {
    c.detail = "synced at height " + std::to_string(to.height);
    return c;
  }
  auto rate = from.height >= 0
                  ? static_cast<double>(to.height - from.height) / (window_minutes() * 60)
                  : 0.0;
  auto stalled = last_sync_progress_ ? now - *last_sync_progress_ : std::chrono::seconds{0};
  c.value = in_seconds(stalled);
  c.pass = stalled < thresholds_.max_sync_stall;
  c.detail = "height " + std::to_string(to.height) + " of " + std::to_string(to.target) + ", "
             + fixed(rate, 1) + " blocks/s over the window, last new block " + fixed(c.value, 0)
             + " s ago";
  return c;
}

namespace {

/// A verdict of `checks`: it passes if each does; with none, it fails (nothing was sampled).
health_verdict verdict_of(std::vector<health_check> checks) {
  health_verdict v;
  if (checks.empty())
    checks.push_back({"sampled", false, 0, 1, "no sample of the node yet"});
  v.pass = std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.pass; });
  v.checks = std::move(checks);
  return v;
}

} // namespace

health_verdict health_monitor::health(time_point now) const {
  if (samples_.empty())
    return verdict_of({});
  return verdict_of(
      {dns_check(), connection_check(), latency_check(now), security_check(), sync_check(now)});
}

health_verdict health_monitor::readiness(time_point now) const {
  if (samples_.empty())
    return verdict_of({});
  health_verdict v;
  const auto& s = samples_.back().second;
  auto flag = [](const char* name, bool ok, const char* yes, const char* no) {
    return health_check{name, ok, ok ? 1.0 : 0.0, 1, ok ? yes : no};
  };
  v.checks.push_back(flag("store_open", s.store_open && s.height >= 0, "the chain store is open",
                          "the chain store is not open (storage down or chain not loaded)"));
  v.checks.push_back(flag("listening", s.listening, "the P2P listener is bound",
                          "the peer manager is down: nothing listens for peers"));
  auto synced = s.height >= 0 && s.target <= s.height;
  auto sync = sync_check(now);
  auto syncing = s.peers > 0 && sync.pass;
  v.checks.push_back(flag("synced_or_syncing", synced || syncing,
                          synced ? "synced" : "syncing from peers",
                          "behind its target with no peer or no progress"));
  v.checks.back().detail += " (" + sync.detail + ")";
  return verdict_of(std::move(v.checks));
}

std::string to_json(const health_verdict& verdict) {
  nlohmann::ordered_json checks = nlohmann::ordered_json::object();
  for (const auto& c : verdict.checks)
    checks[c.name] = {{"status", c.pass ? "pass" : "fail"},
                      {"value", c.value},
                      {"threshold", c.threshold},
                      {"detail", c.detail}};
  nlohmann::ordered_json body = {{"status", verdict.pass ? "pass" : "fail"}, {"checks", checks}};
  return body.dump(2) + "\n";
}

} // namespace qtc

// The health checks and readiness (runtime/health/health_monitor) in explicit time: each of the
// five checks passes and fails at its documented threshold, over its window.
#include "runtime/health/health_monitor.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// A synced, listening node with a peer: every check passes.
health_sample good() {
  health_sample s;
  s.height = 100;
  s.target = 100;
  s.peers = 2;
  s.store_open = true;
  s.listening = true;
  return s;
}

const health_check& check(const health_verdict& v, const std::string& name) {
  for (const auto& c : v.checks)
    if (c.name == name)
      return c;
  FAIL("no check " << name);
  return v.checks.front();
}

/// Feeds `n` samples a second apart from `start`, each made by `make(i)`; returns the last time.
template <class F>
clock_type::time_point feed(health_monitor& m, clock_type::time_point start, int n, F make) {
  auto t = start;
  for (int i = 0; i < n; ++i) {
    t = start + std::chrono::seconds{i};
    m.add(t, make(i));
  }
  return t;
}

} // namespace

TEST_SUITE("health") {

  TEST_CASE("health: a synced node with peers passes every check and is ready") {
    health_monitor m;
    auto t = feed(m, clock_type::time_point{}, 10, [](int) { return good(); });
    auto h = m.health(t);
    CHECK(h.pass);
    CHECK(h.checks.size() == 5);
    CHECK(m.readiness(t).pass);
    auto json = nlohmann::json::parse(to_json(h));
    CHECK(json["status"] == "pass");
    for (const char* name : {"dns_seed_resolution", "peer_connection", "message_latency",
                             "security_events", "sync_progress"})
      CHECK(json["checks"][name]["status"] == "pass");
  }

  TEST_CASE("health: before any sample, neither healthy nor ready") {
    health_monitor m;
    CHECK_FALSE(m.health(clock_type::time_point{}).pass);
    CHECK_FALSE(m.readiness(clock_type::time_point{}).pass);
  }

  TEST_CASE("health: DNS seed resolution fails below half the queries answered in the window") {
    health_monitor m;
    // 2 answered and 3 failed in the window: 0.4.
    auto t = feed(m, clock_type::time_point{}, 5, [](int i) {
      auto s = good();
      s.dns_queries_ok = std::min(i, 2);
      s.dns_queries_failed = std::max(0, i - 1);
      return s;
    });
    auto c = check(m.health(t), "dns_seed_resolution");
    CHECK_FALSE(c.pass);
    CHECK(c.value == doctest::Approx(2.0 / 5.0));
    CHECK(c.detail == "2 of 5 seed queries answered");
    // Five minutes later, with more answers than failures in the window, it passes again; the
    // failures before the window no longer count.
    auto later = feed(m, t + 1s, 310, [](int i) {
      auto s = good();
      s.dns_queries_ok = 2 + (i >= 300 ? i - 299 : 0);
      s.dns_queries_failed = 4;
      return s;
    });
    CHECK(check(m.health(later), "dns_seed_resolution").pass);
  }

  TEST_CASE("health: a dead resolver (every query fails) fails the DNS check, no queries pass") {
    health_monitor m;
    auto t = feed(m, clock_type::time_point{}, 3, [](int i) {
      auto s = good();
      s.dns_queries_failed = 4.0 * i;
      return s;
    });
    CHECK(check(m.health(t), "dns_seed_resolution").value == 0);
    CHECK_FALSE(m.health(t).pass);
    health_monitor quiet;
    auto q = feed(quiet, clock_type::time_point{}, 3, [](int) { return good(); });
    CHECK(check(quiet.health(q), "dns_seed_resolution").pass);
    CHECK(check(quiet.health(q), "dns_seed_resolution").detail == "no seed queries in the window");
  }

  TEST_CASE("health: peer connections fail below a fifth connected, judged from four attempts") {
    health_monitor m;
    auto t = feed(m, clock_type::time_point{}, 4, [](int i) {
      auto s = good();
      s.outbound_failed = i; // three failures: too few to judge
      return s;
    });
    CHECK(check(m.health(t), "peer_connection").pass);
    m.add(t + 1s, [] {
      auto s = good();
      s.outbound_failed = 4;
      return s;
    }());
    auto c = check(m.health(t + 1s), "peer_connection");
    CHECK_FALSE(c.pass);
    CHECK(c.detail == "0 of 4 outbound attempts connected");
    // One success in five: exactly the threshold.
    m.add(t + 2s, [] {
      auto s = good();
      s.outbound_failed = 4;
      s.outbound_connected = 1;
      return s;
    }());
    CHECK(check(m.health(t + 2s), "peer_connection").pass);
  }

  TEST_CASE("health: without a peer, attempts that all failed keep peer_connection failing after "
            "they leave the window, counts from before the first sample are in it") {
    health_monitor m;
    auto none = good();
    none.peers = 0;
    none.outbound_failed = 4; // all four dials of the first second, before any sample
    auto t = feed(m, clock_type::time_point{}, 400, [&](int) { return none; });
    auto c = check(m.health(t), "peer_connection");
    CHECK_FALSE(c.pass);
    CHECK(c.detail.find("none of the 4 outbound attempts since start connected")
          != std::string::npos);
    health_monitor early;
    early.add(clock_type::time_point{}, none);
    CHECK(check(early.health(clock_type::time_point{}), "peer_connection").detail
          == "0 of 4 outbound attempts connected");
    // A node that never dialled (a seed node without outbound slots) is not judged.
    health_monitor seed;
    auto idle = good();
    idle.peers = 0;
    seed.add(clock_type::time_point{}, idle);
    CHECK(check(seed.health(clock_type::time_point{}), "peer_connection").pass);
  }

  TEST_CASE(
      "health: message latency fails when the slowest answer in the last minute exceeds 1 s") {
    health_monitor m;
    auto slow = good();
    slow.slowest_answer = 1500ms;
    slow.slowest_component = "sync";
    m.add(clock_type::time_point{}, slow);
    auto fast = good();
    fast.slowest_answer = 3ms;
    m.add(clock_type::time_point{} + 30s, fast);
    auto c = check(m.health(clock_type::time_point{} + 30s), "message_latency");
    CHECK_FALSE(c.pass);
    CHECK(c.value == doctest::Approx(1.5));
    CHECK(c.detail == "slowest answer 1500.0 ms (sync)");
    // A minute on, the slow answer is out of the window.
    m.add(clock_type::time_point{} + 61s, fast);
    CHECK(check(m.health(clock_type::time_point{} + 61s), "message_latency").pass);
    CHECK(check(m.health(clock_type::time_point{} + 61s), "message_latency").value
          == doctest::Approx(0.003));
  }

  TEST_CASE("health: security events fail above 30 offences a minute over the window") {
    health_monitor m;
    // 61 offences within 2 minutes: 30.5 a minute.
    m.add(clock_type::time_point{}, good());
    auto s = good();
    s.security_offences = 61;
    m.add(clock_type::time_point{} + 120s, s);
    auto c = check(m.health(clock_type::time_point{} + 120s), "security_events");
    CHECK_FALSE(c.pass);
    CHECK(c.value == doctest::Approx(30.5));
    s.security_offences = 60;
    health_monitor calm;
    calm.add(clock_type::time_point{}, good());
    calm.add(clock_type::time_point{} + 120s, s);
    CHECK(check(calm.health(clock_type::time_point{} + 120s), "security_events").pass);
  }

  TEST_CASE("health: sync fails after two minutes behind without a new block, ready only while "
            "synced or syncing") {
    health_monitor m;
    auto behind = good();
    behind.height = 50;
    behind.target = 100;
    auto t = feed(m, clock_type::time_point{}, 120, [&](int) { return behind; }); // 0 to 119 s
    CHECK(check(m.health(t), "sync_progress").pass);
    CHECK(m.readiness(t).pass); // syncing: a peer and progress within the bound
    m.add(t + 1s, behind);
    auto c = check(m.health(t + 1s), "sync_progress");
    CHECK_FALSE(c.pass);
    CHECK(c.value == doctest::Approx(120));
    CHECK_FALSE(m.readiness(t + 1s).pass);
    // A new block resets the clock.
    behind.height = 51;
    m.add(t + 2s, behind);
    CHECK(check(m.health(t + 2s), "sync_progress").pass);
    // Behind with no peer: not ready, though not yet stalled.
    behind.peers = 0;
    m.add(t + 3s, behind);
    CHECK_FALSE(m.readiness(t + 3s).pass);
    CHECK(check(m.readiness(t + 3s), "synced_or_syncing").detail.find("no peer")
          != std::string::npos);
  }

  TEST_CASE("health: not ready while the store is closed or nothing listens") {
    health_monitor m;
    auto s = good();
    s.store_open = false;
    s.height = -1;
    m.add(clock_type::time_point{}, s);
    auto r = m.readiness(clock_type::time_point{});
    CHECK_FALSE(r.pass);
    CHECK_FALSE(check(r, "store_open").pass);
    CHECK_FALSE(check(m.health(clock_type::time_point{}), "sync_progress").pass);
    s = good();
    s.listening = false;
    m.add(clock_type::time_point{} + 1s, s);
    r = m.readiness(clock_type::time_point{} + 1s);
    CHECK_FALSE(r.pass);
    CHECK(check(r, "store_open").pass);
    CHECK_FALSE(check(r, "listening").pass);
  }
}

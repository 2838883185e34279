// Rate limits in whole simulated nodes (virtual time): a peer that floods the node with pings is
// throttled (its session stops reading: the flood is taken at the address's budget, 100
// messages a minute), charged rate-exceeded while it keeps on, and banned; once a ban expires
// and it comes back to do the same, the second ban is longer and the third is forever. An
// honest peer from another address stays connected meanwhile, never over its budget. Inbound
// admission is the security manager's: three connections per address, ten per /24, banned
// addresses refused, counts released as connections close and recounted after it restarts.
#include "actors/node.hpp"
#include "actors/peer_session.hpp"
#include "support/node_simulation.hpp"

#include <caf/event_based_actor.hpp>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("security");

namespace {

constexpr const char* victim_ip = "10.0.0.1";

struct flood_fixture : sim_fixture {
  caf::actor victim;
  caf::actor sink; ///< the attacker's sessions report here: it drops everything
  std::uint64_t next_nonce = 1;

  /// `allow`: the victim's allowlist (--qtcnode.allow).
  explicit flood_fixture(std::vector<allow_entry> allow = {}) {
    auto s = *spec;
    s.ban_duration = 120s; // short, so that a test can watch bans expire and escalate
    spec = std::make_shared<const chain_spec>(s);
    victim = start_node(victim_ip, {}, 1, {},
                        [&](peer_pool_options& pool) { pool.allow = std::move(allow); });
    sink = quiet_manager();
  }

  /// A production peer session from `ip` to the victim, its reports dropped by the sink.
  peer_session_actor connect_from(const std::string& ip, std::uint64_t id) {
    return production_session(ip, victim_ip, id, sink);
  }

  security_actor security() {
    return caf::actor_cast<security_actor>(component(victim, "security"));
  }

  caf::settings security_status() {
    auto s = request<status_report>(security(), status_atom::value, status_verbosity::detailed);
    REQUIRE(s);
    return *s;
  }

  /// The victim's bans: subnet → seconds left (-1: forever).
  std::map<std::string, std::int64_t> bans() {
    std::map<std::string, std::int64_t> out;
    auto b = request<caf::config_value::list>(security(), get_atom::value, bans_atom::value);
    REQUIRE(b);
    for (const auto& e : *b) {
      const auto& row = caf::get<caf::settings>(e);
      out[caf::get_or(row, "subnet", std::string{})] =
          caf::get_or(row, "seconds-left", std::int64_t{0});
    }
    return out;
  }

  /// Sends `per_second` pings a second from `session` for `d` of virtual time, or until the
  /// session ends; returns whether it was still running at the end.
  bool flood(const peer_session_actor& session, int per_second, caf::timespan d) {
    const auto step = caf::timespan{100ms};
    for (caf::timespan t{0}; t < d; t += step) {
      for (int i = 0; i < per_second / 10; ++i)
        caf::anon_send(session, send_atom::value, p2p_message{ping_message{next_nonce++}});
      advance(step);
      if (!is_alive(session))
        return false;
    }
    return true;
  }

  bool is_alive(const peer_session_actor& session) {
    return request<status_report>(session, status_atom::value, status_verbosity::info).has_value();
  }

  /// Floods from `ip` until the victim bans it (at most `limit`); returns the virtual time it
  /// took.
  std::optional<caf::timespan> flood_until_banned(const std::string& ip, std::uint64_t id,
                                                  caf::timespan limit) {
    auto session = connect_from(ip, id);
    advance_in_steps(1s, 10ms);
    REQUIRE(is_alive(session));
    const auto step = caf::timespan{5s};
    for (caf::timespan t{0}; t < limit; t += step) {
      if (bans().contains(ip))
        return t;
      if (!flood(session, 20, step) && bans().contains(ip))
        return t + step;
    }
    return std::nullopt;
  }
};

/// The victim allows 10.9.0.0/16 noban (the operator's own nodes).
struct allowed_flood_fixture : flood_fixture {
  static std::vector<allow_entry> noban_subnet() {
    std::string error;
    auto e = parse_allow_entry("noban@10.9.0.0/16", error);
    REQUIRE_MESSAGE(e, error);
    return {*e};
  }
  allowed_flood_fixture() : flood_fixture(noban_subnet()) {}
};

TEST_CASE_FIXTURE(flood_fixture, "rate limits: a ping flood is throttled at the address's "
                                 "budget, charged rate-exceeded while it lasts, then banned") {
  auto honest = start_node("10.0.0.2", {std::string{victim_ip} + ":18444"}, 2);
  auto session = connect_from("10.9.0.1", 1);
  advance_in_steps(1s, 10ms);
  REQUIRE(is_alive(session));
  REQUIRE(caf::get_or(pool_status(honest), "connections", std::int64_t{0}) == 1);
  // 20 pings a second, 12 times the budget: after a minute the victim has read about the
  // burst plus a minute's refill (2 x 100), throttled most of the time.
  CHECK(flood(session, 20, 60s));
  auto s = security_status();
  CHECK(caf::get_or(s, "rate-refused-grants", std::int64_t{0}) > 0);
  auto offences = caf::get_or(s, "offences", caf::settings{});
  CHECK(caf::get_or(offences, "rate-exceeded", std::int64_t{0}) >= 1);
  CHECK(bans().empty());

  // Kept up, the charges add up to a ban (20 each, 100 bans): the session is closed and the
  // address refused.
  auto banned = flood_until_banned("10.9.0.1", 2, 10min);
  REQUIRE(banned);
  CHECK(bans().contains("10.9.0.1"));
  CHECK_FALSE(is_alive(session));
  // The honest peer, talking to the node all along (pings, address and sync messages), was
  // never over its budget: still connected, not banned.
  CHECK(caf::get_or(pool_status(honest), "connections", std::int64_t{0}) == 1);
  CHECK(bans().size() == 1);
  CHECK(caf::get_or(pool_status(victim), "closed-by-reason", caf::settings{}).size() >= 1);
}

TEST_CASE_FIXTURE(flood_fixture, "rate limits: the ladder in virtual time: a repeat offender's "
                                 "second ban is longer, the third is forever, and bans expire") {
  // The chain spec's ban (120 s here), twice that, then forever (-1).
  const std::int64_t expected[] = {120, 240, -1};
  for (std::uint64_t round = 0; round < 3; ++round) {
    CAPTURE(round);
    auto took = flood_until_banned("10.9.0.1", round + 1, 15min);
    REQUIRE(took);
    // Charged once a minute after half a minute over budget, 20 a charge: five minutes or more.
    CHECK(*took >= 4min);
    auto b = bans();
    REQUIRE(b.contains("10.9.0.1"));
    auto full = expected[round];
    if (full < 0) {
      CHECK(b["10.9.0.1"] == -1);
      advance_in_steps(1h, 1s);
      CHECK(bans().contains("10.9.0.1"));
      break;
    }
    CHECK(b["10.9.0.1"] > full / 2);
    CHECK(b["10.9.0.1"] <= full);
    // Expiry: the ban is gone after its duration.
    advance_in_steps(std::chrono::seconds{full + 5}, 100ms);
    CHECK_FALSE(bans().contains("10.9.0.1"));
  }
}

TEST_CASE_FIXTURE(allowed_flood_fixture, "rate limits: a noban peer is neither throttled nor "
                                         "banned, however much it sends") {
  auto session = connect_from("10.9.0.1", 1);
  advance_in_steps(1s, 10ms);
  REQUIRE(is_alive(session));
  CHECK(flood(session, 20, 8min)); // more than enough to ban anyone else
  CHECK(bans().empty());
  auto s = security_status();
  CHECK(caf::get_or(s, "rate-refused-grants", std::int64_t{0}) == 0);
  CHECK(caf::get_or(s, "rate-tracked", std::int64_t{-1}) == 0);
}

} // namespace

TEST_CASE_FIXTURE(flood_fixture, "simulation: the security manager admits inbound connections: "
                                 "three per address, ten per subnet, none banned, recounted "
                                 "after it restarts") {
  auto status = [&] {
    auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
    REQUIRE(s);
    return *s;
  };
  auto admissions = [&](const std::string& result) {
    return caf::get_or(status(), "admissions." + result, std::int64_t{-1});
  };
  std::uint64_t id = 100;
  auto connect = [&](const std::string& ip) {
    auto session = connect_from(ip, ++id);
    advance_in_steps(500ms, 10ms);
    return session;
  };
  // Three from one address; the fourth is refused.
  std::vector<peer_session_actor> first;
  for (int i = 0; i < 4; ++i)
    first.push_back(connect("10.9.0.1"));
  CHECK(is_alive(first[2]));
  CHECK_FALSE(is_alive(first[3]));
  CHECK(admissions("refuse-per-ip") == 1);
  CHECK(caf::get_or(status(), "inbound-counted", std::int64_t{0}) == 3);
  // Seven more addresses of 10.9.0.0/24 make ten; the eleventh is refused.
  for (int host = 2; host <= 8; ++host)
    REQUIRE(is_alive(connect("10.9.0." + std::to_string(host))));
  CHECK_FALSE(is_alive(connect("10.9.0.9")));
  CHECK(admissions("refuse-per-subnet") == 1);
  CHECK(caf::get_or(pool_status(victim, status_verbosity::info), "inbound-refused", std::int64_t{0})
        == 2);
  // One closes: its count is released, and the subnet has room for one.
  caf::anon_send(first[0], close_atom::value, close_reason::unwanted, std::string{"test"});
  advance_in_steps(500ms, 10ms);
  CHECK(caf::get_or(status(), "inbound-counted", std::int64_t{0}) == 9);
  auto ninth = connect("10.9.0.9");
  CHECK(is_alive(ninth));
  // A restarted security manager has lost its counts; the peer manager tells it the ten open
  // connections when it subscribes, so the subnet is still full.
  auto old = security();
  caf::anon_send_exit(old, caf::exit_reason::unhandled_exception);
  advance_in_steps(2s, 10ms);
  REQUIRE(security().address() != old.address());
  CHECK(caf::get_or(status(), "inbound-counted", std::int64_t{0}) == 10);
  CHECK_FALSE(is_alive(connect("10.9.0.10")));
  CHECK(admissions("refuse-per-subnet") == 1);
  // A banned address is refused before anything else is counted for it.
  REQUIRE(request<bool>(security(), put_atom::value, bans_atom::value, std::string{"10.9.1.1"},
                        std::int64_t{0}, std::string{"test"}));
  CHECK_FALSE(is_alive(connect("10.9.1.1")));
  CHECK(admissions("refuse-banned") == 1);
  CHECK(admissions("accept") == 0); // the counters started again with the restart
}

TEST_SUITE_END();

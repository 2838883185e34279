// The security manager in a whole simulated node (storage, peer manager, sync; virtual time):
// offences weighed into graduated verdicts, bans told to the peer manager, the operator's
// commands, and the ban table kept in the store across a restart of the manager (also a
// damaged one, reported and replaced).
#include "messages/errors.hpp"
#include "runtime/net/security_policy.hpp"
#include "support/node_simulation.hpp"

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("security");

namespace {

struct security_fixture : sim_fixture {
  caf::actor node;

  security_fixture() {
    node = start_node("10.0.0.1", {}, 1);
  }

  security_actor security() {
    return caf::actor_cast<security_actor>(component(node, "security"));
  }

  verdict report(const std::string& ip, offence kind) {
    peer_offence o;
    o.ip = *parse_ip(ip);
    o.kind = kind;
    o.detail = "test";
    auto v = request<verdict>(security(), offence_atom::value, o);
    REQUIRE(v);
    return *v;
  }

  caf::config_value::list bans() {
    auto b = request<caf::config_value::list>(security(), get_atom::value, bans_atom::value);
    REQUIRE(b);
    return *b;
  }

  std::vector<std::string> ban_subnets() {
    std::vector<std::string> out;
    for (const auto& b : bans())
      out.push_back(caf::get_or(caf::get<caf::settings>(b), "subnet", std::string{}));
    return out;
  }

  /// The peer manager's count of bans in force (its copy).
  std::int64_t peer_manager_bans() {
    return caf::get_or(pool_status(node, status_verbosity::info), "banned", std::int64_t{-1});
  }

  /// Stops the security manager abnormally; the supervisor starts a new one, which reads the
  /// stored table.
  void restart_security() {
    auto old = security();
    caf::anon_send_exit(old, caf::exit_reason::unhandled_exception);
    advance_in_steps(2s, 10ms);
    REQUIRE(security().address() != old.address());
  }
};

} // namespace

TEST_CASE_FIXTURE(security_fixture, "security manager: offences climb the ladder to a ban the "
                                    "peer manager enforces") {
  REQUIRE(peer_manager_bans() == 0);
  // Bad checksums weigh 10: warned at 20, throttled at 50, discouraged at 80, banned at 100.
  std::vector<verdict> seen;
  for (int i = 0; i < 10; ++i)
    seen.push_back(report("203.0.113.9", offence::bad_checksum));
  CHECK(seen[0] == verdict::none);
  CHECK(seen[1] == verdict::warn);
  CHECK(seen[4] == verdict::throttle);
  CHECK(seen[7] == verdict::discourage);
  CHECK(seen[9] == verdict::ban);
  run();
  // The discouragement (at 80, 90) reached the peer manager's copy too: never dialled, inbound
  // only into a free slot, evicted first, until the score decays below 75.
  CHECK(caf::get_or(pool_status(node, status_verbosity::info), "discouraged", std::int64_t{0})
        == 1);
  CHECK(ban_subnets() == std::vector<std::string>{"203.0.113.9"});
  CHECK(peer_manager_bans() == 1);
  // One invalid block is enough; another address, untouched, is not banned.
  CHECK(report("198.51.100.1", offence::invalid_block) == verdict::ban);
  run();
  CHECK(peer_manager_bans() == 2);
  auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
  REQUIRE(s);
  CHECK(caf::get_or(*s, "bans-address", std::int64_t{0}) == 2);
  CHECK(caf::get_or(*s, "offences.bad-checksum", std::int64_t{0}) == 10);
  CHECK(caf::get_or(*s, "verdicts.ban", std::int64_t{0}) == 2);
}

TEST_CASE_FIXTURE(security_fixture, "security manager: the operator bans, lists, lifts and "
                                    "clears, bad input is an error naming it") {
  auto ok = request<bool>(security(), put_atom::value, bans_atom::value,
                          std::string{"192.0.2.0/24"}, std::int64_t{3600}, std::string{"probe"});
  REQUIRE(ok);
  CHECK(*ok);
  run();
  auto list = bans();
  REQUIRE(list.size() == 1);
  const auto& b = caf::get<caf::settings>(list[0]);
  CHECK(caf::get_or(b, "subnet", std::string{}) == "192.0.2.0/24");
  CHECK(caf::get_or(b, "reason", std::string{}) == "probe");
  CHECK(caf::get_or(b, "manual", false));
  CHECK(caf::get_or(b, "seconds-left", std::int64_t{0}) == 3600);
  CHECK(peer_manager_bans() == 1);
  auto bad = request_or_error<bool>(security(), put_atom::value, bans_atom::value,
                                    std::string{"300.1.2.3"}, std::int64_t{0}, std::string{});
  REQUIRE_FALSE(bad);
  CHECK(render_error(bad.error()).find("300.1.2.3") != std::string::npos);
  auto lifted =
      request<bool>(security(), delete_atom::value, bans_atom::value, std::string{"192.0.2.0/24"});
  REQUIRE(lifted);
  CHECK(*lifted);
  run();
  CHECK(bans().empty());
  CHECK(peer_manager_bans() == 0);
  request<bool>(security(), put_atom::value, bans_atom::value, std::string{"2001:db8::/32"},
                std::int64_t{0}, std::string{"forever"});
  auto cleared = request<std::uint64_t>(security(), clear_atom::value, bans_atom::value);
  REQUIRE(cleared);
  CHECK(*cleared == 1);
  CHECK(bans().empty());
}

TEST_CASE_FIXTURE(security_fixture, "security manager: bans and reputations are stored and "
                                    "survive a restart, a damaged table is replaced") {
  CHECK(report("203.0.113.9", offence::invalid_header) == verdict::ban);
  CHECK(report("203.0.113.10", offence::protocol_violation) == verdict::throttle);
  request<bool>(security(), put_atom::value, bans_atom::value, std::string{"192.0.2.0/24"},
                std::int64_t{0}, std::string{"operator"});
  advance_in_steps(11s, 100ms); // the reputation is stored on the next tick
  restart_security();
  auto subnets = ban_subnets();
  std::sort(subnets.begin(), subnets.end());
  CHECK(subnets == std::vector<std::string>{"192.0.2.0/24", "203.0.113.9"});
  // The reputation came back too: one more protocol violation makes ~99.9 (50 decayed over a few
  // seconds, plus 50): discouraged. Without the stored score it would be 50: throttled.
  CHECK(report("203.0.113.10", offence::protocol_violation) == verdict::discourage);
  // The peer manager got the reloaded list from the new manager.
  run();
  CHECK(peer_manager_bans() == 2);
  // A damaged table: reported, the node starts with an empty list and overwrites it.
  auto storage = caf::actor_cast<storage_actor>(component(node, "storage"));
  std::string junk = "qtc-banlist 1\nban this is not a ban\nsha256d 00\n";
  REQUIRE(
      request<bool>(storage, put_atom::value, bans_atom::value, bytes(junk.begin(), junk.end())));
  restart_security();
  CHECK(bans().empty());
  auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
  REQUIRE(s);
  CHECK_FALSE(caf::get_or(*s, "load-error", std::string{}).empty());
  advance_in_steps(11s, 100ms);
  auto stored = request<bytes>(storage, get_atom::value, bans_atom::value);
  REQUIRE(stored);
  CHECK(std::string(stored->begin(), stored->end()).rfind("qtc-banlist 1\n", 0) == 0);
  CHECK(std::string(stored->begin(), stored->end()).find("this is not") == std::string::npos);
}

TEST_CASE_FIXTURE(security_fixture, "security manager: bans made while a write is under way "
                                    "are stored right after it, not at the next tick") {
  auto sec = security();
  auto offence_from = [](int host) {
    peer_offence o;
    o.ip = *parse_ip("198.51.100." + std::to_string(host));
    o.kind = offence::invalid_block;
    o.detail = "test";
    return o;
  };
  // The first ban starts a write to the store; the storage actor has not run yet when three
  // more bans are made (as when the write takes its time on a real disk).
  caf::anon_send(sec, offence_atom::value, offence_from(1));
  sched.prioritize(sec);
  sched.run_once();
  for (int i = 2; i <= 4; ++i) {
    caf::anon_send(sec, offence_atom::value, offence_from(i));
    sched.prioritize(sec);
    sched.run_once();
  }
  run(); // no time passes: no tick
  auto storage = caf::actor_cast<storage_actor>(component(node, "storage"));
  auto stored = request<bytes>(storage, get_atom::value, bans_atom::value);
  REQUIRE(stored);
  std::string text(stored->begin(), stored->end());
  for (int i = 1; i <= 4; ++i)
    CHECK(text.find("198.51.100." + std::to_string(i)) != std::string::npos);
  restart_security();
  CHECK(bans().size() == 4);
}

TEST_CASE_FIXTURE(security_fixture, "security manager: attack detectors: churn from one /24, "
                                    "one key on many addresses, a subnet's malformed frames") {
  auto detectors = [&] {
    auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
    REQUIRE(s);
    return caf::get_or(*s, "detectors", caf::settings{});
  };
  // 19 connections from 192.0.2.0/24 within a minute are allowed; the 20th and later fire, and
  // each such address is charged connection-churn (weight 10).
  for (int i = 1; i <= 19; ++i)
    caf::anon_send(security(), accept_atom::value, *parse_ip("192.0.2." + std::to_string(i)));
  run();
  CHECK_FALSE(detectors().contains("connection-churn"));
  for (int i = 20; i <= 24; ++i)
    caf::anon_send(security(), accept_atom::value, *parse_ip("192.0.2." + std::to_string(i)));
  run();
  CHECK(caf::get_or(detectors(), "connection-churn.fired", std::int64_t{0}) == 5);
  // The window slides: a minute later the subnet starts from nothing.
  advance_in_steps(61s, 1s);
  caf::anon_send(security(), accept_atom::value, *parse_ip("192.0.2.99"));
  run();
  CHECK(caf::get_or(detectors(), "connection-churn.fired", std::int64_t{0}) == 5);

  // One static key proved from 4 addresses within 10 minutes fires shared-identity (weight 50).
  std::array<std::uint8_t, 32> key{};
  key[0] = 0x42;
  for (int i = 1; i <= 4; ++i)
    caf::anon_send(security(), ready_atom::value, *parse_ip("198.18." + std::to_string(i) + ".1"),
                   key);
  run();
  CHECK(caf::get_or(detectors(), "shared-identity.fired", std::int64_t{0}) == 1);

  // Ten addresses of one /24, one bad checksum each (10 each: none is warned alone): the
  // subnet's tenth fires the malformed detector and that address is charged again.
  for (int i = 1; i <= 10; ++i)
    CHECK(report("203.0.113." + std::to_string(i), offence::bad_checksum) == verdict::none);
  CHECK(caf::get_or(detectors(), "malformed.fired", std::int64_t{0}) == 1);
  auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
  REQUIRE(s);
  CHECK(caf::get_or(*s, "offences.bad-checksum", std::int64_t{0}) == 10);
  CHECK(caf::get_or(*s, "verdicts.warn", std::int64_t{0}) >= 1); // 203.0.113.10: 10 + 10
}

TEST_CASE_FIXTURE(security_fixture, "security manager: a distributed pattern raises one alert "
                                    "per minute per detector, the rest counted as suppressed") {
  // 200 connections node-wide within a minute alert (from 200 /24s: no subnet fires).
  for (int i = 0; i < 260; ++i)
    caf::anon_send(
        security(), accept_atom::value,
        *parse_ip("100." + std::to_string(64 + i / 250) + "." + std::to_string(i % 250) + ".1"));
  run();
  auto s = request<status_report>(security(), status_atom::value, status_verbosity::info);
  REQUIRE(s);
  CHECK(caf::get_or(*s, "detectors.connection-churn.alerts", std::int64_t{0}) == 1);
  CHECK(caf::get_or(*s, "detectors.connection-churn.fired", std::int64_t{0}) == 0);
  CHECK(caf::get_or(*s, "detectors.connection-churn.suppressed", std::int64_t{0}) == 60);
  advance_in_steps(61s, 1s);
  for (int i = 0; i < 200; ++i)
    caf::anon_send(security(), accept_atom::value, *parse_ip("100.70." + std::to_string(i) + ".1"));
  run();
  s = request<status_report>(security(), status_atom::value, status_verbosity::info);
  CHECK(caf::get_or(*s, "detectors.connection-churn.alerts", std::int64_t{0}) == 2);
}

TEST_SUITE_END();

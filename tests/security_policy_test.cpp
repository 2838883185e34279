// The security policy's rules, each against the numbers of its default config: the weights and
// the verdict ladder, decay, escalation, the allowlist, admission counts, manual bans, prefix
// aggregation, the table bounds (up to 100,000 attacking addresses) and the ban list file. Time
// is explicit throughout: every call is handed its `now`.
#include "messages/primitives/hash.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/net/security_policy.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <vector>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using policy = security_policy;
using admission = security_policy::admission;

TEST_SUITE_BEGIN("security");

const policy::time_point t0{10h};
constexpr std::int64_t unix0 = 1'700'000'000;

subnet net(std::string_view text) {
  auto s = subnet::parse(text);
  REQUIRE(s);
  return *s;
}

ip_bytes ip(std::string_view text) {
  auto a = parse_ip(text);
  REQUIRE(a);
  return *a;
}

/// The last address of `n` (host bits all ones).
ip_bytes last_address(const subnet& n) {
  auto out = n.base;
  for (unsigned bit = n.prefix_len; bit < 128; ++bit)
    out[bit / 8] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  return out;
}

/// The addresses of the 100,000-address attack: 70,000 scattered, one per /24 (IPv4) or /48
/// (IPv6, one in eight), then 750 clusters of 40 addresses each (500 IPv4 /24s, 250 IPv6 /48s).
struct attack {
  std::vector<ip_bytes> scattered;
  std::vector<ip_bytes> clustered;
  std::vector<subnet> cluster_nets;
};

attack attack_plan(const policy& p) {
  std::mt19937_64 rng(20250611);
  std::set<std::uint64_t> prefixes;
  auto fresh_prefix = [&](std::uint64_t range) {
    for (;;)
      if (auto x = rng() % range; prefixes.insert(x).second)
        return x;
  };
  auto v4 = [](std::uint64_t prefix24, std::uint8_t host) {
    return ipv4(static_cast<std::uint8_t>(prefix24 >> 16), static_cast<std::uint8_t>(prefix24 >> 8),
                static_cast<std::uint8_t>(prefix24), host);
  };
  auto v6 = [](std::uint64_t prefix48, std::uint64_t low) {
    ip_bytes a{};
    a[0] = 0x2a;
    for (int i = 0; i < 5; ++i)
      a[1 + i] = static_cast<std::uint8_t>(prefix48 >> (8 * i));
    for (int i = 0; i < 10; ++i)
      a[6 + i] = static_cast<std::uint8_t>(low >> (6 * i));
    return a;
  };
  attack out;
  for (int i = 0; i < 70'000; ++i)
    out.scattered.push_back(i % 8 == 7 ? v6(fresh_prefix(1ull << 40), rng())
                                       : v4(fresh_prefix(1u << 24), 1 + rng() % 254));
  for (int c = 0; c < 750; ++c) {
    bool is_v6 = c % 3 == 2;
    auto prefix = is_v6 ? fresh_prefix(1ull << 40) : fresh_prefix(1u << 24);
    out.cluster_nets.push_back(p.subnet_of(is_v6 ? v6(prefix, 0) : v4(prefix, 0)));
    for (std::uint8_t h = 1; h <= 40; ++h)
      out.clustered.push_back(is_v6 ? v6(prefix, rng()) : v4(prefix, h));
  }
  return out;
}

/// `body` with its checksum line, as save() writes it.
std::string sign(const std::string& body) {
  auto h = sha256d({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
  return body + "sha256d " + to_hex(h) + "\n";
}

} // namespace

TEST_CASE("security policy: ten bad checksums ban, one invalid block bans, one bad checksum is "
          "harmless") {
  policy p;
  auto buggy = ipv4(198, 51, 100, 1);
  // A buggy client's odd bad frame: below even the warning (10 < warn_score 20).
  auto o = p.record(buggy, offence::bad_checksum, t0);
  CHECK(o.v == verdict::none);
  CHECK(o.score == 10);
  CHECK(p.standing(buggy, t0) == verdict::none);
  CHECK(p.may_dial(buggy, t0));
  // Repeated within the hour, the same offence climbs the ladder rung by rung.
  std::vector<verdict> seen;
  for (int i = 2; i <= 10; ++i)
    seen.push_back(p.record(buggy, offence::bad_checksum, t0).v);
  CHECK(seen
        == std::vector<verdict>{verdict::warn, verdict::warn, verdict::warn, verdict::throttle,
                                verdict::throttle, verdict::throttle, verdict::discourage,
                                verdict::discourage, verdict::ban});
  CHECK(p.standing(buggy, t0) == verdict::ban);

  auto evil = ipv4(198, 51, 100, 2);
  o = p.record(evil, offence::invalid_block, t0);
  CHECK(o.v == verdict::ban);
  CHECK(o.newly_banned);
  CHECK(o.score == 100);
  REQUIRE(o.ban_until);
  CHECK(*o.ban_until == t0 + 24h); // the chain spec's ban_duration
  CHECK(p.score(evil, t0) == 0);   // a ban resets the score
  CHECK(p.standing(evil, t0 + 24h - 1s) == verdict::ban);
  CHECK(p.standing(evil, t0 + 24h) == verdict::none); // expired, and clean
  CHECK(p.record(ipv4(198, 51, 100, 3), offence::invalid_header, t0).v == verdict::ban);
  CHECK(p.record(ipv4(198, 51, 100, 4), offence::relay_violation, t0).v == verdict::ban);
  CHECK(p.record(ipv4(198, 51, 100, 5), offence::unknown_message, t0).v == verdict::none);
}

TEST_CASE("security policy: every offence has its documented weight, none above a ban") {
  const std::vector<std::pair<offence, std::uint32_t>> expected{
      {offence::bad_checksum, 10},
      {offence::malformed_message, 20},
      {offence::oversized_message, 50},
      {offence::unknown_message, 1},
      {offence::protocol_violation, 50},
      {offence::handshake_failure, 10},
      {offence::slow_handshake, 20},
      {offence::silent_peer, 10},
      {offence::connection_churn, 20},
      {offence::rate_exceeded, 20},
      {offence::ping_flood, 20},
      {offence::addr_flood, 20},
      {offence::inv_flood, 20},
      {offence::getdata_flood, 50},
      {offence::getdata_amplification, 50},
      {offence::header_spam, 20},
      {offence::invalid_header, 100},
      {offence::invalid_block, 100},
      {offence::relay_violation, 100},
      {offence::shared_identity, 50},
      {offence::bad_quantumproof, 100},
  };
  REQUIRE(expected.size() == offence_count);
  for (auto [kind, w] : expected) {
    CAPTURE(to_string(kind));
    CHECK(policy::weight(kind) == w);
    CHECK(policy::weight(kind) >= 1);
    CHECK(policy::weight(kind) <= policy{}.settings().ban_threshold);
  }
}

TEST_CASE("security policy: the score halves every hour") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  p.record(a, offence::protocol_violation, t0);
  CHECK(p.score(a, t0) == doctest::Approx(50));
  CHECK(p.score(a, t0 + 1h) == doctest::Approx(25));
  CHECK(p.score(a, t0 + 2h) == doctest::Approx(12.5));
  // The next offence adds to what is left, not to what was.
  auto o = p.record(a, offence::protocol_violation, t0 + 1h);
  CHECK(o.score == doctest::Approx(75));
  CHECK(o.v == verdict::discourage);
}

TEST_CASE("security policy: a throttled or discouraged address is back to none later") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  p.record(a, offence::protocol_violation, t0);
  CHECK(p.record(a, offence::bad_checksum, t0).v == verdict::throttle); // 60
  CHECK(p.standing(a, t0 + 10min) == verdict::throttle);                // 53
  CHECK(p.standing(a, t0 + 20min) == verdict::none);                    // 47
  CHECK(p.may_dial(a, t0 + 10min));                                     // throttled is dialed

  auto b = ipv4(192, 0, 2, 2);
  p.record(b, offence::getdata_flood, t0);
  CHECK(p.record(b, offence::malformed_message, t0).v == verdict::throttle); // 70
  CHECK(p.record(b, offence::bad_checksum, t0).v == verdict::discourage);    // 80
  CHECK(p.standing(b, t0 + 5min) == verdict::discourage);                    // 75.4
  CHECK(p.standing(b, t0 + 10min) == verdict::throttle);                     // 71
  CHECK(p.standing(b, t0 + 1h) == verdict::none);                            // 40
  CHECK(p.may_dial(b, t0 + 1h));
}

TEST_CASE("security policy: a second automatic ban within the window lasts twice as long, the "
          "third is forever") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  auto first = p.record(a, offence::invalid_block, t0);
  CHECK(*first.ban_until == t0 + 24h);
  auto t1 = t0 + 25h;
  CHECK(p.standing(a, t1) == verdict::none);
  auto second = p.record(a, offence::invalid_block, t1);
  CHECK(second.v == verdict::ban);
  CHECK(second.newly_banned);
  CHECK(*second.ban_until == t1 + 48h);
  auto t2 = t1 + 49h;
  auto third = p.record(a, offence::invalid_block, t2);
  CHECK(third.v == verdict::ban_forever);
  CHECK_FALSE(third.ban_until);
  CHECK(third.newly_banned);
  CHECK(p.standing(a, t2 + 24h * 1000) == verdict::ban_forever);
  CHECK_FALSE(p.may_dial(a, t2 + 24h * 1000));
}

TEST_CASE("security policy: a ban outside the window starts the escalation over") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  p.record(a, offence::invalid_block, t0);
  auto t1 = t0 + 24h * 31; // past the 30 days counted from the first ban
  auto o = p.record(a, offence::invalid_block, t1);
  CHECK(*o.ban_until == t1 + 24h);
  auto t2 = t1 + 48h; // the new streak counts from t1
  o = p.record(a, offence::invalid_block, t2);
  CHECK(*o.ban_until == t2 + 48h);
}

TEST_CASE("security policy: offences while banned do not escalate the ban") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  auto first = p.record(a, offence::invalid_block, t0);
  // The session was not closed yet: more invalid blocks arrive in the same burst.
  for (int i = 1; i <= 5; ++i) {
    auto o = p.record(a, offence::invalid_block, t0 + std::chrono::milliseconds{i});
    CHECK(o.v == verdict::ban);
    CHECK_FALSE(o.newly_banned);
    CHECK(o.ban_until == first.ban_until);
  }
  CHECK(p.ban_count() == 1);
  // The next ban is the second of the streak, not the seventh.
  auto o = p.record(a, offence::invalid_block, t0 + 25h);
  CHECK(o.v == verdict::ban);
  CHECK(*o.ban_until == t0 + 25h + 48h);
}

TEST_CASE("security policy: a noban address is at most warned, never banned, and admitted past "
          "every limit") {
  policy p;
  p.allow(net("10.0.0.0/8"), peer_permissions{.noban = true});
  auto friend_ip = ipv4(10, 1, 2, 3);
  for (int i = 0; i < 5; ++i) {
    auto o = p.record(friend_ip, offence::invalid_block, t0);
    CHECK(o.v == verdict::warn);
    CHECK_FALSE(o.newly_banned);
  }
  CHECK(p.ban_count() == 0);
  CHECK(p.standing(friend_ip, t0) == verdict::none);
  CHECK(p.may_dial(friend_ip, t0));
  for (int i = 0; i < 20; ++i) {
    CHECK(p.admit_inbound(friend_ip, t0) == admission::accept);
    p.connection_opened(friend_ip);
  }
  // As in Core, noban wins over a ban that covers it.
  p.ban(net("10.0.0.0/16"), std::nullopt, "", t0);
  CHECK(p.standing(friend_ip, t0) == verdict::none);
  CHECK(p.admit_inbound(friend_ip, t0) == admission::accept);
  // A small offence of a noban address is not even a warning.
  CHECK(p.record(ipv4(10, 9, 9, 9), offence::bad_checksum, t0).v == verdict::none);
}

TEST_CASE("security policy: permissions are the union of every allowlist entry that matches") {
  policy p;
  p.allow(net("10.0.0.0/8"), peer_permissions{.relay = true});
  p.allow(net("10.1.0.0/16"), peer_permissions{.noban = true});
  p.allow(net("2001:db8::/32"), peer_permissions{.download = true});
  CHECK(p.permissions_of(ipv4(10, 1, 2, 3))
        == peer_permissions{.noban = true, .relay = true, .download = false});
  CHECK(p.permissions_of(ipv4(10, 2, 0, 1)) == peer_permissions{.relay = true});
  CHECK(p.permissions_of(ip("2001:db8::7")) == peer_permissions{.download = true});
  CHECK(p.permissions_of(ipv4(11, 0, 0, 1)) == peer_permissions{});
  p.allow(net("10.0.0.0/8"), peer_permissions{}); // removes the entry
  CHECK(p.permissions_of(ipv4(10, 2, 0, 1)) == peer_permissions{});
  CHECK(p.permissions_of(ipv4(10, 1, 2, 3)) == peer_permissions{.noban = true});
}

TEST_CASE("security policy: a discouraged address may be admitted when there is room, never "
          "dialed") {
  policy p;
  auto a = ipv4(192, 0, 2, 1);
  p.record(a, offence::protocol_violation, t0);
  p.record(a, offence::malformed_message, t0);
  p.record(a, offence::bad_checksum, t0); // 80
  CHECK(p.standing(a, t0) == verdict::discourage);
  CHECK(p.admit_inbound(a, t0) == admission::accept_discouraged);
  CHECK_FALSE(p.may_dial(a, t0));
  auto b = ipv4(192, 0, 2, 2);
  p.record(b, offence::invalid_block, t0);
  CHECK(p.admit_inbound(b, t0) == admission::refuse_banned);
  CHECK_FALSE(p.may_dial(b, t0));
  CHECK(p.admit_inbound(ipv4(192, 0, 2, 3), t0) == admission::accept);
}

TEST_CASE("security policy: inbound connections are limited per address and per subnet, and "
          "closing frees the slots") {
  policy p;
  auto a = ipv4(1, 2, 3, 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(p.admit_inbound(a, t0) == admission::accept);
    p.connection_opened(a);
  }
  CHECK(p.connections_from(a) == 3);
  CHECK(p.admit_inbound(a, t0) == admission::refuse_per_ip);
  for (std::uint8_t d = 10; d < 17; ++d) {
    CHECK(p.admit_inbound(ipv4(1, 2, 3, d), t0) == admission::accept);
    p.connection_opened(ipv4(1, 2, 3, d));
  }
  CHECK(p.connections_from(p.subnet_of(a)) == 10);
  CHECK(p.admit_inbound(ipv4(1, 2, 3, 99), t0) == admission::refuse_per_subnet);
  CHECK(p.admit_inbound(ipv4(1, 2, 4, 99), t0) == admission::accept); // the next /24
  p.connection_closed(a);
  CHECK(p.connections_from(a) == 2);
  CHECK(p.admit_inbound(a, t0) == admission::accept);
  CHECK(p.admit_inbound(ipv4(1, 2, 3, 99), t0) == admission::accept);
  p.connection_closed(ipv4(9, 9, 9, 9)); // never opened: nothing happens
  CHECK(p.connections_from(ipv4(9, 9, 9, 9)) == 0);
  for (std::uint8_t d = 10; d < 17; ++d)
    p.connection_closed(ipv4(1, 2, 3, d));
  p.connection_closed(a);
  p.connection_closed(a);
  CHECK(p.connections_from(p.subnet_of(a)) == 0);
}

TEST_CASE("security policy: IPv6 addresses are grouped by /48, IPv4 by /24") {
  policy p;
  CHECK(p.subnet_of(ip("2001:db8:1:2::1")) == net("2001:db8:1::/48"));
  CHECK(p.subnet_of(ip("2001:db8:1:ffff:1:2:3:4")) == net("2001:db8:1::/48"));
  CHECK(p.subnet_of(ipv4(1, 2, 3, 4)) == net("1.2.3.0/24"));
  CHECK(p.subnet_of(ipv4(1, 2, 3, 4)).prefix_len == 96 + 24);
  // Ten connections from ten /64s of one /48 fill it; another /48 is unaffected.
  for (int i = 0; i < 10; ++i) {
    auto a = ip("2001:db8:1:" + std::to_string(i) + "::1");
    CHECK(p.admit_inbound(a, t0) == admission::accept);
    p.connection_opened(a);
  }
  CHECK(p.admit_inbound(ip("2001:db8:1:aaaa::1"), t0) == admission::refuse_per_subnet);
  CHECK(p.admit_inbound(ip("2001:db8:2::1"), t0) == admission::accept);
}

TEST_CASE("security policy: a manual subnet ban covers its addresses until lifted or expired") {
  policy p;
  CHECK(p.ban(net("203.0.113.0/24"), std::nullopt, "scanner", t0));
  CHECK(p.standing(ipv4(203, 0, 113, 77), t0) == verdict::ban_forever);
  CHECK(p.standing(ipv4(203, 0, 114, 1), t0) == verdict::none);
  CHECK(p.admit_inbound(ipv4(203, 0, 113, 1), t0) == admission::refuse_banned);
  CHECK(p.unban(net("203.0.113.0/24")));
  CHECK_FALSE(p.unban(net("203.0.113.0/24")));
  CHECK(p.standing(ipv4(203, 0, 113, 77), t0) == verdict::none);

  CHECK(p.ban(net("2001:db8::/32"), t0 + 1h, "until the fix", t0));
  CHECK(p.standing(ip("2001:db8:ffff::1"), t0 + 59min) == verdict::ban);
  CHECK(p.standing(ip("2001:db9::1"), t0) == verdict::none);
  CHECK(p.standing(ip("2001:db8:ffff::1"), t0 + 1h) == verdict::none); // expired
  CHECK_FALSE(p.ban(net("192.0.2.1"), t0, "already over", t0));
  // The operator's word replaces an earlier ban of the same subnet, shorter or not.
  CHECK(p.ban(net("192.0.2.1"), std::nullopt, "first", t0));
  CHECK(p.ban(net("192.0.2.1"), t0 + 2h, "second", t0));
  CHECK(p.standing(ipv4(192, 0, 2, 1), t0 + 3h) == verdict::none);

  CHECK(p.ban(net("198.51.100.0/24"), std::nullopt, "a\nb", t0));
  p.record(ipv4(192, 0, 2, 99), offence::invalid_block, t0);
  auto bans = p.list_bans(t0);
  REQUIRE(bans.size() == 4);
  CHECK(bans[0].net == net("192.0.2.1"));
  CHECK(bans[0].reason == "second");
  CHECK(bans[1].net == net("192.0.2.99"));
  CHECK_FALSE(bans[1].manual);
  CHECK(bans[1].reason == "invalid-block");
  CHECK(bans[1].offences == 1);
  CHECK(*bans[1].until == t0 + 24h);
  CHECK(bans[2].net == net("198.51.100.0/24"));
  CHECK(bans[2].manual);
  CHECK(bans[2].reason == "a b"); // no line breaks in the file
  CHECK_FALSE(bans[2].until);
  CHECK(bans[2].created == t0);
  CHECK(bans[3].net == net("2001:db8::/32"));
  p.clear_bans();
  CHECK(p.list_bans(t0).empty());
  CHECK(p.standing(ipv4(198, 51, 100, 1), t0) == verdict::none);
  CHECK(p.standing(ipv4(192, 0, 2, 99), t0) == verdict::none);
}

TEST_CASE("security policy: eight automatically banned addresses in a /24 ban the /24 instead") {
  policy p;
  p.ban(net("198.51.100.250"), std::nullopt, "the operator's", t0);
  for (std::uint8_t d = 1; d <= 7; ++d) {
    auto o = p.record(ipv4(198, 51, 100, d), offence::invalid_block, t0 + d * 1s);
    CHECK(o.newly_banned);
    CHECK_FALSE(o.subnet_banned);
  }
  CHECK(p.ban_count() == 8);
  auto o = p.record(ipv4(198, 51, 100, 8), offence::invalid_block, t0 + 8s);
  CHECK(o.subnet_banned);
  auto bans = p.list_bans(t0 + 8s);
  REQUIRE(bans.size() == 2); // the subnet, and the operator's own ban, which stays
  CHECK(bans[0].net == net("198.51.100.0/24"));
  CHECK_FALSE(bans[0].manual);
  CHECK(bans[0].offences == 8);
  CHECK(*bans[0].until == t0 + 8s + 24h); // as long as the longest it replaced
  CHECK(bans[1].net == net("198.51.100.250"));
  CHECK(p.standing(ipv4(198, 51, 100, 200), t0 + 9s) == verdict::ban); // never offended
  CHECK(p.standing(ipv4(198, 51, 101, 1), t0 + 9s) == verdict::none);
  // An address of the subnet offending again is covered: no new entry.
  o = p.record(ipv4(198, 51, 100, 9), offence::invalid_block, t0 + 10s);
  CHECK(o.v == verdict::ban);
  CHECK_FALSE(o.newly_banned);
  CHECK(p.ban_count() == 2);
  auto s = p.statistics(t0 + 10s);
  CHECK(s.subnet_bans == 1);
  CHECK(s.address_bans == 0);
  CHECK(s.manual_bans == 1);

  // IPv6: eight addresses in different /64s of one /48.
  for (int i = 0; i < 8; ++i)
    o = p.record(ip("2001:db8:7:" + std::to_string(i) + "::1"), offence::invalid_block, t0);
  CHECK(o.subnet_banned);
  CHECK(p.standing(ip("2001:db8:7:ffff::5"), t0) == verdict::ban);
}

TEST_CASE("security policy: the reputation table evicts the lowest decayed score, oldest first, "
          "and keeps ban histories longest") {
  policy::config cfg;
  cfg.max_tracked_addresses = 3;
  policy p(cfg);
  auto a = ipv4(192, 0, 2, 1), b = ipv4(192, 0, 2, 2), c = ipv4(192, 0, 2, 3);
  p.record(a, offence::protocol_violation, t0); // 50
  p.record(b, offence::bad_checksum, t0);       // 10, older
  p.record(c, offence::bad_checksum, t0 + 1s);  // 10, newer (and so higher once decayed)
  p.record(ipv4(192, 0, 2, 4), offence::bad_checksum, t0 + 2s);
  CHECK(p.tracked() == 3);
  CHECK(p.score(b, t0 + 2s) == 0);
  CHECK(p.score(a, t0 + 2s) > 0);
  CHECK(p.score(c, t0 + 2s) > 0);

  cfg.max_tracked_addresses = 2;
  policy q(cfg);
  auto banned = ipv4(192, 0, 2, 10);
  q.record(banned, offence::invalid_block, t0); // score 0, one ban in its history
  q.record(a, offence::protocol_violation, t0 + 1s);
  q.record(b, offence::protocol_violation, t0 + 2s); // evicts a, not the banned address
  CHECK(q.score(a, t0 + 2s) == 0);
  // The history survived: its next ban is the second of the streak.
  auto o = q.record(banned, offence::invalid_block, t0 + 25h);
  CHECK(*o.ban_until == t0 + 25h + 48h);
}

TEST_CASE("security policy: prune drops expired bans and dead entries, and nothing else") {
  policy p;
  auto light = ipv4(192, 0, 2, 1);
  auto heavy = ipv4(192, 0, 2, 2);
  auto banned = ipv4(192, 0, 2, 3);
  p.record(light, offence::bad_checksum, t0);
  p.record(heavy, offence::protocol_violation, t0);
  p.record(banned, offence::invalid_block, t0);
  p.ban(net("203.0.113.0/24"), t0 + 1h, "", t0);
  p.prune(t0 + 4h); // light: 10/16 < 1; heavy: 50/16 ≥ 1; the manual ban is over
  CHECK(p.tracked() == 2);
  CHECK(p.score(light, t0 + 4h) == 0);
  CHECK(p.ban_count() == 1);
  p.prune(t0 + 25h); // the automatic ban is over, its history is not
  CHECK(p.ban_count() == 0);
  CHECK(p.tracked() == 1);
  p.prune(t0 + 24h * 31); // the window has passed
  CHECK(p.tracked() == 0);
  CHECK(*p.record(banned, offence::invalid_block, t0 + 24h * 31).ban_until
        == t0 + 24h * 32); // a first ban again
}

TEST_CASE("security policy: a full ban table keeps the longest bans and never drops the "
          "operator's") {
  policy::config cfg;
  cfg.max_bans = 3;
  cfg.prefix_ban_after = 0;
  policy p(cfg);
  CHECK(p.ban(net("203.0.113.0/24"), t0 + 1h, "short but manual", t0));
  auto a = ipv4(192, 0, 2, 1), b = ipv4(192, 0, 2, 2), c = ipv4(192, 0, 2, 3);
  p.record(a, offence::invalid_block, t0);
  p.record(b, offence::invalid_block, t0 + 1s);
  CHECK(p.record(c, offence::invalid_block, t0 + 2s).newly_banned); // a ends soonest: dropped
  CHECK(p.ban_count() == 3);
  CHECK(p.standing(a, t0 + 3s) == verdict::none);
  CHECK(p.standing(b, t0 + 3s) == verdict::ban);
  CHECK(p.standing(c, t0 + 3s) == verdict::ban);
  CHECK(p.standing(ipv4(203, 0, 113, 1), t0 + 3s) == verdict::ban);
  // A manual ban outranks the automatic ones.
  CHECK(p.ban(net("198.51.100.0/24"), std::nullopt, "", t0 + 3s));
  CHECK(p.standing(b, t0 + 3s) == verdict::none);
  // Two manual bans and one automatic: a new manual ban takes the automatic one's place, and
  // with only manual bans left the table refuses.
  CHECK(p.ban(net("198.51.101.0/24"), std::nullopt, "", t0 + 3s));
  CHECK(p.standing(c, t0 + 3s) == verdict::none);
  CHECK_FALSE(p.ban(net("198.51.102.0/24"), std::nullopt, "", t0 + 3s));
  auto o = p.record(ipv4(192, 0, 2, 4), offence::invalid_block, t0 + 4s);
  CHECK(o.v == verdict::ban); // the peer still goes
  CHECK_FALSE(o.newly_banned);
  CHECK(p.ban_count() == 3);
  // An expired manual ban makes room.
  CHECK(p.record(ipv4(192, 0, 2, 5), offence::invalid_block, t0 + 2h).newly_banned);
  CHECK(p.standing(ipv4(203, 0, 113, 1), t0 + 2h) == verdict::none);
}

TEST_CASE("security policy: 100,000 attacking addresses stay within the bounds, clusters are "
          "aggregated and the newest offenders stay banned") {
  // 70,000 scattered addresses (one per /24 or /48), then 750 clusters of 40 (500 IPv4 /24s, 250
  // IPv6 /48s): every address reaches a ban. One millisecond between offences.
  policy p;
  const auto& cfg = p.settings();
  auto [scattered, clustered, cluster_nets] = attack_plan(p);
  auto now = t0;
  std::size_t subnet_banned = 0, not_banned = 0, over_bounds = 0;
  for (const auto& a : scattered) {
    now += 1ms;
    not_banned += p.record(a, offence::invalid_block, now).v != verdict::ban;
  }
  for (const auto& a : clustered) {
    now += 1ms;
    auto o = p.record(a, offence::invalid_block, now);
    not_banned += o.v != verdict::ban;
    subnet_banned += o.subnet_banned ? 1 : 0;
    over_bounds += p.tracked() > cfg.max_tracked_addresses || p.ban_count() > cfg.max_bans;
  }
  CHECK(not_banned == 0);
  CHECK(over_bounds == 0);
  CHECK(p.tracked() == cfg.max_tracked_addresses);
  CHECK(p.ban_count() <= cfg.max_bans);
  CHECK(subnet_banned == 750);
  auto s = p.statistics(now);
  CHECK(s.subnet_bans == 750);
  CHECK(s.tracked == cfg.max_tracked_addresses);
  // Every cluster is banned whole, addresses that never offended included.
  std::size_t cluster_unbanned = 0;
  for (const auto& a : clustered)
    cluster_unbanned += p.standing(a, now) != verdict::ban;
  for (const auto& n : cluster_nets)
    cluster_unbanned += p.standing(last_address(n), now) != verdict::ban;
  CHECK(cluster_unbanned == 0);
  // The scattered bans that were dropped are the oldest: the banned ones are a suffix, as long as
  // the table minus the subnet bans (and the few slots of an aggregation under way).
  std::size_t kept = 0;
  bool gap = false;
  for (const auto& a : scattered) {
    bool banned = p.standing(a, now) == verdict::ban;
    kept += banned ? 1 : 0;
    gap |= kept > 0 && !banned;
  }
  CHECK_FALSE(gap);
  CHECK(kept == s.address_bans);
  CHECK(kept >= cfg.max_bans - 750 - cfg.prefix_ban_after);
  CHECK(p.standing(scattered.front(), now) == verdict::none);
  CHECK(p.standing(scattered.back(), now) == verdict::ban);
  // Queries still answer for everybody else.
  CHECK(p.standing(ipv4(192, 0, 2, 1), now) == verdict::none);
  CHECK(p.admit_inbound(ipv4(192, 0, 2, 1), now) == admission::accept);
  CHECK(p.admit_inbound(scattered.back(), now) == admission::refuse_banned);
  CHECK_FALSE(p.may_dial(clustered.back(), now));
}

TEST_CASE("security policy: the ban list survives a restart, times converted through Unix time") {
  policy p;
  auto repeat = ipv4(198, 51, 100, 7);
  p.record(repeat, offence::invalid_block, t0);       // first ban, 24 h
  p.record(repeat, offence::invalid_block, t0 + 25h); // second, 48 h
  auto now1 = t0 + 26h;
  auto noisy = ipv4(192, 0, 2, 9);
  p.record(noisy, offence::protocol_violation, now1);
  p.record(noisy, offence::bad_checksum, now1);                     // 60: throttled
  p.record(ipv4(192, 0, 2, 10), offence::bad_checksum, now1 - 10h); // decayed to nothing
  REQUIRE(p.ban(net("2001:db8:5::/48"), now1 + 24h * 7, "spam from here", now1));
  REQUIRE(p.ban(net("203.0.113.1"), std::nullopt, "", now1));
  for (std::uint8_t d = 1; d <= 8; ++d) { // an aggregated subnet
    p.record(ipv4(198, 51, 101, d), offence::addr_flood, now1);
    p.record(ipv4(198, 51, 101, d), offence::invalid_header, now1);
  }
  auto text = p.save(now1, unix0);
  CHECK(text.starts_with("qtc-banlist 1\n"));
  CHECK(text.find("192.0.2.10") == std::string::npos); // nothing worth keeping

  // The node restarts ten minutes later; its steady clock starts over at a different epoch.
  const policy::time_point now2{2h};
  const std::int64_t unix2 = unix0 + 600;
  auto moved = [&](policy::time_point t1) { return now2 + (t1 - now1) - 600s; };
  auto loaded = policy::load(text, now2, unix2, policy::config{});
  REQUIRE_MESSAGE(loaded.policy, loaded.error);
  CHECK(loaded.expired_bans == 0);
  auto& q = *loaded.policy;
  auto before = p.list_bans(now1);
  auto after = q.list_bans(now2);
  REQUIRE(before.size() == 4);
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    auto e = before[i];
    e.created = moved(e.created);
    if (e.until)
      e.until = moved(*e.until);
    CHECK(after[i] == e);
  }
  CHECK(q.standing(repeat, moved(t0 + 25h + 48h) - 1s) == verdict::ban);
  CHECK(q.standing(repeat, moved(t0 + 25h + 48h)) == verdict::none);
  CHECK(q.score(noisy, now2) == doctest::Approx(p.score(noisy, now1 + 600s)));
  CHECK(q.standing(noisy, now2) == verdict::throttle);
  CHECK(q.standing(ipv4(198, 51, 101, 200), now2) == verdict::ban);
  CHECK(q.standing(ip("2001:db8:5:1::1"), now2) == verdict::ban);
  CHECK(q.standing(ipv4(203, 0, 113, 1), now2) == verdict::ban_forever);
  // The escalation history came along: the next ban of `repeat` is its third, forever.
  auto t3 = moved(t0 + 25h + 48h);
  CHECK(q.record(repeat, offence::invalid_block, t3).v == verdict::ban_forever);
  // Saving again says the same (bar the one ban just added).
  auto p_again = p;
  p_again.record(repeat, offence::invalid_block, t0 + 25h + 48h);
  CHECK(q.save(t3, unix0 + (t0 + 25h + 48h - now1) / 1s)
        == p_again.save(t0 + 25h + 48h, unix0 + (t0 + 25h + 48h - now1) / 1s));
}

TEST_CASE("security policy: bans that ran out while the node was down are dropped at load") {
  policy p;
  p.record(ipv4(192, 0, 2, 1), offence::invalid_block, t0);
  p.ban(net("203.0.113.0/24"), std::nullopt, "for good", t0);
  auto text = p.save(t0, unix0);
  auto loaded = policy::load(text, policy::time_point{1h}, unix0 + 2 * 86400, {});
  REQUIRE_MESSAGE(loaded.policy, loaded.error);
  CHECK(loaded.expired_bans == 1);
  CHECK(loaded.policy->ban_count() == 1);
  CHECK(loaded.policy->standing(ipv4(192, 0, 2, 1), policy::time_point{1h}) == verdict::none);
  CHECK(loaded.policy->standing(ipv4(203, 0, 113, 9), policy::time_point{1h})
        == verdict::ban_forever);
}

TEST_CASE("security policy: a damaged ban list is rejected whole, naming the line") {
  policy p;
  p.record(ipv4(192, 0, 2, 1), offence::invalid_block, t0);
  p.record(ipv4(192, 0, 2, 2), offence::protocol_violation, t0);
  p.ban(net("203.0.113.0/24"), std::nullopt, "for good", t0);
  auto text = p.save(t0, unix0);
  REQUIRE(policy::load(text, t0, unix0, {}).policy);
  auto error_of = [](std::string_view t, policy::config cfg = {}) {
    auto r = policy::load(t, t0, unix0, cfg);
    CHECK_FALSE(r.policy);
    return r.error;
  };
  // Lines: 1 magic, 2-3 bans, 4-5 reputations, 6 checksum.
  auto flipped = text;
  flipped[20] ^= 0x01;
  CHECK(error_of(flipped).starts_with("line 6: checksum does not match"));
  CHECK(error_of(text.substr(0, text.size() / 2)).find("truncated") != std::string::npos);
  auto cut = text.substr(0, text.rfind("sha256d"));
  CHECK(error_of(cut) == "line 5: not the checksum line (truncated file)");
  CHECK(error_of("") == "line 1: empty file");
  CHECK(
      error_of("qtc-banlist 2\n" + text.substr(14)).starts_with("line 1: unsupported version '2'"));
  CHECK(error_of("{\"banned\": []}\n").starts_with("line 1: not a qtc ban list"));
  auto absurd = text;
  absurd.insert(14, std::string(100'000, 'x') + "\n");
  CHECK(error_of(absurd) == "line 2: longer than 512 bytes");
  policy::config small;
  small.max_bans = 1;
  small.max_tracked_addresses = 1;
  CHECK(error_of(text, small) == "line 5: more lines than the bounds allow (4)");
  // Records that are wrong although the checksum fits.
  auto head = std::string{"qtc-banlist 1\n"};
  CHECK(error_of(sign(head + "ban 1.2.3.0/33 auto 1700000000 forever 1 invalid-block\n"))
        == "line 2: not a subnet: '1.2.3.0/33'");
  CHECK(error_of(sign(head + "rep ::1 5 1700000000 1 bad-checksum 0 -\n"
                      + "ban 1.2.3.0/24 auto 1700000000 forever 1 no-such-thing\n"))
        == "line 3: not an offence: 'no-such-thing'");
  CHECK(error_of(sign(head + "ban 1.2.3.4 auto 99999999999999 forever 1 invalid-block\n"))
        == "line 2: a time is not Unix seconds within 200 years of now");
  CHECK(error_of(sign(head + "rep ::1 nan 1700000000 1 bad-checksum 0 -\n"))
        == "line 2: the score is not a number from 0 to 1e9");
  CHECK(error_of(sign(head + "rep ::1 5 1700000000 1 bad-checksum 2 -\n"))
        == "line 2: the ban streak is not a count with its start");
  CHECK(error_of(sign(head + "rep ::1 5 1700000000 1 bad-checksum 0 -\n"
                      + "rep ::1 6 1700000000 1 bad-checksum 0 -\n"))
        == "line 3: a second reputation of ::1");
  CHECK(error_of(sign(head + "hello\n")) == "line 2: not a record ('ban' or 'rep')");
  // An empty list is a list.
  CHECK(policy::load(sign(head), t0, unix0, {}).policy);
}

TEST_CASE("security policy: subnets parse, validate and print in their family's notation") {
  CHECK(net("1.2.3.0/24").format() == "1.2.3.0/24");
  CHECK(net("1.2.3.0/24").prefix_len == 120);
  CHECK(net("1.2.3.4/24") == net("1.2.3.0/24")); // host bits cleared
  CHECK(net("1.2.3.4").format() == "1.2.3.4");
  CHECK(net("1.2.3.4").is_host());
  CHECK(net("1.2.3.4/32") == net("1.2.3.4"));
  CHECK(net("0.0.0.0/0").format() == "0.0.0.0/0");
  CHECK(net("::1").format() == "::1");
  CHECK(net("2001:db8::/32").format() == "2001:db8::/32");
  CHECK(net("2001:db8:1:2::/48").format() == "2001:db8:1::/48");
  CHECK(net("::ffff:1.2.3.0/120") == net("1.2.3.0/24"));
  CHECK(net("::/0").contains(ipv4(1, 2, 3, 4)));
  CHECK_FALSE(net("0.0.0.0/0").contains(ip("2001:db8::1"))); // IPv4 never covers IPv6
  CHECK(net("1.2.3.0/24").contains(ipv4(1, 2, 3, 255)));
  CHECK_FALSE(net("1.2.3.0/24").contains(ipv4(1, 2, 4, 0)));
  CHECK(net("1.2.3.0/23").contains(ipv4(1, 2, 2, 7)));
  for (auto bad :
       {"", "/24", "1.2.3.0/", "1.2.3.0/33", "::/129", "1.2.3.0/-1", "1.2.3.0/+8", "1.2.3.0/24/1",
        "1.2.3.0/2a", "1.2.3.0/0024", "1.2.3", "example.com/8", "1.2.3.0 /24", "[::1]/128"}) {
    CAPTURE(bad);
    CHECK_FALSE(subnet::parse(bad));
  }
  for (auto text : {"10.0.0.0/8", "192.0.2.0/25", "2001:db8::/33", "fe80::/10", "::/0"})
    CHECK(net(net(text).format()) == net(text));
}

TEST_CASE("security policy: statistics count bans by kind and bucket the scores") {
  policy p;
  p.record(ipv4(192, 0, 2, 1), offence::invalid_block, t0);
  p.ban(net("203.0.113.0/24"), std::nullopt, "", t0);
  p.ban(net("2001:db8::/32"), t0 + 1h, "", t0);
  for (std::uint8_t d = 1; d <= 8; ++d)
    p.record(ipv4(198, 51, 100, d), offence::invalid_block, t0);
  p.record(ipv4(192, 0, 2, 2), offence::unknown_message, t0);    // bucket [1, 10)
  p.record(ipv4(192, 0, 2, 3), offence::malformed_message, t0);  // [20, 50)
  p.record(ipv4(192, 0, 2, 4), offence::protocol_violation, t0); // [50, 75): throttled
  p.record(ipv4(192, 0, 2, 5), offence::protocol_violation, t0);
  p.record(ipv4(192, 0, 2, 5), offence::malformed_message, t0);
  p.record(ipv4(192, 0, 2, 5), offence::bad_checksum, t0); // 80: [75, 100), discouraged
  auto s = p.statistics(t0);
  CHECK(s.address_bans == 1);
  CHECK(s.subnet_bans == 1);
  CHECK(s.manual_bans == 2);
  CHECK(s.forever_bans == 1);
  CHECK(s.tracked == 13);
  CHECK(s.throttled == 1);
  CHECK(s.discouraged == 1);
  // The nine banned addresses are at 0.
  CHECK(s.histogram == std::array<std::size_t, 7>{9, 1, 0, 1, 1, 1, 0});
  s = p.statistics(t0 + 2h); // the IPv6 ban ran out, scores quartered
  CHECK(s.manual_bans == 1);
  CHECK(s.discouraged == 0);
  CHECK(s.throttled == 0);
}

TEST_SUITE_END();

// Attack pattern detectors (runtime/net/attack_detectors): what feeds each, thresholds, sliding
// windows, rate-limited alerts, shared identities, names, and bounded memory under a flood.
#include "runtime/net/attack_detectors.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using time_point = attack_detectors::time_point;

TEST_SUITE_BEGIN("security");

const time_point t0{1h}; // a multiple of every default bucket width (10 s, 100 s)

/// The offences documented to feed each detector (connection_churn and shared_identity are
/// fed by their own calls).
const std::map<detector, std::vector<offence>> feeders{
    {detector::handshake_failures, {offence::handshake_failure}},
    {detector::slowloris, {offence::slow_handshake, offence::silent_peer}},
    {detector::addr_flood, {offence::addr_flood}},
    {detector::inv_flood, {offence::inv_flood}},
    {detector::getdata_flood, {offence::getdata_flood}},
    {detector::amplification, {offence::getdata_amplification}},
    {detector::header_spam, {offence::header_spam}},
    {detector::malformed,
     {offence::bad_checksum, offence::malformed_message, offence::oversized_message,
      offence::unknown_message}},
    {detector::ping_flood, {offence::ping_flood}},
};

/// The detectors counted per subnet (all but shared_identity).
std::vector<detector> subnet_detectors() {
  std::vector<detector> out;
  for (std::size_t i = 0; i < detector_count; ++i)
    if (static_cast<detector>(i) != detector::shared_identity)
      out.push_back(static_cast<detector>(i));
  return out;
}

/// The `i`th event for `d` from `ip` (taking turns among the offences that feed it).
std::vector<detection> feed(attack_detectors& a, detector d, const ip_bytes& ip, time_point now,
                            std::size_t i = 0) {
  if (d == detector::connection_churn)
    return a.observe_connection(ip, now);
  const auto& kinds = feeders.at(d);
  return a.observe(kinds[i % kinds.size()], ip, now);
}

identity_key key(std::uint32_t n) {
  identity_key k{};
  for (std::size_t i = 0; i < 4; ++i)
    k[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return k;
}

} // namespace

TEST_CASE("attack detectors: names are kebab-case, distinct, and parse back") {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < detector_count; ++i) {
    auto d = static_cast<detector>(i);
    auto n = name(d);
    CAPTURE(n);
    CHECK(seen.insert(n).second);
    CHECK(parse_detector(n) == d);
    CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string_view::npos);
  }
  CHECK(name(detector::shared_identity) == "shared-identity");
  CHECK(name(detector::connection_churn) == "connection-churn");
  CHECK_FALSE(parse_detector("shared_identity"));
  CHECK_FALSE(parse_detector(""));
}

TEST_CASE("attack detectors: offences feed the documented detectors, the rest none") {
  std::set<offence> fed;
  for (const auto& [d, kinds] : feeders)
    for (auto k : kinds) {
      CHECK(detector_for(k) == d);
      fed.insert(k);
    }
  for (std::size_t i = 0; i < offence_count; ++i) {
    auto k = static_cast<offence>(i);
    if (!fed.contains(k))
      CHECK_MESSAGE(!detector_for(k), to_string(k));
  }
  // The detectors' own conclusions are not counted again, however many are reported.
  attack_detectors a;
  for (int i = 0; i < 1000; ++i) {
    CHECK(a.observe(offence::connection_churn, ipv4(203, 0, 113, 7), t0).empty());
    CHECK(a.observe(offence::invalid_block, ipv4(203, 0, 113, 7), t0).empty());
  }
  CHECK(a.tracked_subnets(detector::connection_churn) == 0);
}

TEST_CASE("attack detectors: each detector fires at its subnet threshold and not one below") {
  for (auto d : subnet_detectors()) {
    CAPTURE(name(d));
    attack_detectors a;
    auto threshold = attack_detectors::default_thresholds(d).subnet;
    REQUIRE(threshold > 1);
    // Distinct addresses of one /24: the subnet is what counts.
    for (std::uint32_t i = 0; i + 1 < threshold; ++i)
      CHECK(feed(a, d, ipv4(198, 51, 100, static_cast<std::uint8_t>(i + 1)), t0, i).empty());
    auto ip = ipv4(198, 51, 100, 200);
    auto out = feed(a, d, ip, t0, threshold - 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].which == d);
    CHECK(out[0].fired);
    CHECK_FALSE(out[0].alert);
    CHECK(out[0].count == threshold);
    CHECK(out[0].node_count == threshold);
    CHECK(out[0].ip == ip);
    CHECK(out[0].subnet == ipv4(198, 51, 100, 0));
    CHECK(out[0].prefix == 24);
    // Another subnet has its own count; the firing subnet keeps firing.
    CHECK(feed(a, d, ipv4(198, 51, 101, 1), t0).empty());
    out = feed(a, d, ip, t0);
    REQUIRE(out.size() == 1);
    CHECK(out[0].count == threshold + 1);
    CHECK(a.stats(d).fired == 2);
  }
}

TEST_CASE("attack detectors: IPv4 subnets are /24 and IPv6 subnets /48 by default") {
  CHECK(subnet_of(ipv4(203, 0, 113, 77), 24, 48).base == ipv4(203, 0, 113, 0));
  CHECK(subnet_of(ipv4(203, 0, 113, 77), 20, 48).base == ipv4(203, 0, 112, 0));
  CHECK(subnet_of(*parse_ip("2001:db8:1:2::1"), 24, 48).base == *parse_ip("2001:db8:1::"));
  CHECK(subnet_of(*parse_ip("2001:db8:1:2ff::1"), 24, 56).base == *parse_ip("2001:db8:1:200::"));
  attack_detectors::config c;
  c[detector::connection_churn].subnet = 2;
  attack_detectors a{c};
  CHECK(a.observe_connection(*parse_ip("2001:db8:1:2::1"), t0).empty());
  CHECK(a.observe_connection(*parse_ip("2001:db8:2::1"), t0).empty()); // another /48
  auto out = a.observe_connection(*parse_ip("2001:db8:1:3::1"), t0);   // another /64
  REQUIRE(out.size() == 1);
  CHECK(out[0].subnet == *parse_ip("2001:db8:1::"));
  CHECK(out[0].prefix == 48);
}

TEST_CASE("attack detectors: windows slide: events older than the window fall out") {
  for (auto d : subnet_detectors()) {
    CAPTURE(name(d));
    attack_detectors a;
    auto threshold = attack_detectors::default_thresholds(d).subnet;
    // Events late in the window's first bucket (6 buckets of 10 s) still count 59 s after its
    // start, and no longer from the start of the seventh.
    for (std::uint32_t i = 0; i + 1 < threshold; ++i)
      feed(a, d, ipv4(198, 51, 100, 1), t0 + 9s, i);
    auto within = a;
    auto out = feed(within, d, ipv4(198, 51, 100, 1), t0 + 59s);
    REQUIRE(out.size() == 1);
    CHECK(out[0].count == threshold);
    auto after = a;
    CHECK(feed(after, d, ipv4(198, 51, 100, 1), t0 + 60s).empty());
    CHECK(feed(after, d, ipv4(198, 51, 100, 1), t0 + 60s).empty()); // counts 2, not 1 + old
    CHECK(a.stats(d).fired == 0);
  }
}

TEST_CASE("attack detectors: alerts are node-wide, one per interval, with the count held back") {
  attack_detectors::config c;
  c[detector::connection_churn] = {60s, 0, 3}; // subnets never fire: a distributed attack
  attack_detectors a{c};
  auto from = [](int n) { return ipv4(198, 51, static_cast<std::uint8_t>(n), 1); };
  CHECK(a.observe_connection(from(0), t0).empty());
  CHECK(a.observe_connection(from(1), t0 + 10s).empty());
  auto out = a.observe_connection(from(2), t0 + 20s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].alert);
  CHECK_FALSE(out[0].fired);
  CHECK(out[0].node_count == 3);
  CHECK(out[0].suppressed == 0);
  for (int i = 3; i <= 7; ++i) // t0 + 30 s ... t0 + 70 s: within the interval
    CHECK(a.observe_connection(from(i), t0 + std::chrono::seconds{10 * i}).empty());
  out = a.observe_connection(from(8), t0 + 80s); // 60 s after the last alert
  REQUIRE(out.size() == 1);
  CHECK(out[0].alert);
  CHECK(out[0].suppressed == 5);
  CHECK(out[0].node_count == 6); // t0 + 30 s ... t0 + 80 s
  auto s = a.stats(detector::connection_churn);
  CHECK(s.alerts == 2);
  CHECK(s.suppressed == 5);
  CHECK(s.fired == 0);
  // Quiet again: one connection is no alert, whenever it comes.
  CHECK(a.observe_connection(from(9), t0 + 300s).empty());
  CHECK(a.stats(detector::inv_flood).alerts == 0);
}

TEST_CASE("attack detectors: shared identity counts a key's distinct addresses in the window") {
  attack_detectors a;
  auto k = key(1);
  auto ip = [](int n) { return ipv4(198, 51, 100, static_cast<std::uint8_t>(n)); };
  for (int i = 0; i < 10; ++i) // the same address again and again is one address
    CHECK(a.identity_seen(k, ip(1), t0).empty());
  CHECK(a.identity_seen(k, ip(2), t0).empty());
  CHECK(a.identity_seen(k, ip(3), t0).empty());
  for (int n = 1; n <= 3; ++n) // other keys do not add up with it
    CHECK(a.identity_seen(key(2), ip(n), t0).empty());
  auto out = a.identity_seen(k, ip(4), t0 + 1s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].which == detector::shared_identity);
  CHECK(out[0].fired);
  CHECK(out[0].count == 4);
  CHECK(out[0].alert); // the first firing is worth a line
  out = a.identity_seen(k, ip(4), t0 + 2s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].fired);
  CHECK_FALSE(out[0].alert); // held back for alert_interval
  // Ten minutes later the sightings at t0 have aged out; ip(4) (at t0 + 2 s) has not.
  CHECK(a.identity_seen(k, ip(5), t0 + 600s).empty());
  CHECK(a.identity_seen(k, ip(6), t0 + 600s).empty());
  out = a.identity_seen(k, ip(7), t0 + 600s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].count == 4);
  CHECK(a.stats(detector::shared_identity).fired == 3);
  // One key on a thousand addresses: at most 64 remembered.
  for (int n = 0; n < 1000; ++n)
    out = a.identity_seen(
        key(3), ipv4(10, 0, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)), t0);
  REQUIRE(out.size() == 1);
  CHECK(out[0].count == attack_detectors::max_addresses_per_identity);
}

TEST_CASE("attack detectors: memory stays bounded under 100,000 attacking subnets") {
  attack_detectors a;
  auto attacker = ipv4(203, 0, 113, 7);
  std::size_t attacker_fired = 0;
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    auto now = t0 + std::chrono::microseconds{i * 500}; // 50 s in all: one window
    auto ip = ipv4(static_cast<std::uint8_t>(20 + (i >> 16)), static_cast<std::uint8_t>(i >> 8),
                   static_cast<std::uint8_t>(i), 1);
    for (auto d : subnet_detectors())
      feed(a, d, ip, now, i);
    a.identity_seen(key(i), ip, now);
    auto v6 = *parse_ip("2001:db8::1");
    v6[3] = static_cast<std::uint8_t>(i >> 16);
    v6[4] = static_cast<std::uint8_t>(i >> 8);
    v6[5] = static_cast<std::uint8_t>(i);
    a.observe_connection(v6, now);
    // A subnet that keeps attacking stays counted: fewer than max_subnets others between
    // its events.
    if (i % 1000 == 0)
      for (const auto& x : a.observe(offence::inv_flood, attacker, now))
        attacker_fired += x.fired ? 1 : 0;
  }
  for (auto d : subnet_detectors()) {
    CAPTURE(name(d));
    CHECK(a.tracked_subnets(d) == 4096);
  }
  CHECK(a.tracked_identities() == 4096);
  CHECK(attacker_fired == 100 - 4); // from its 5th event on
  // The node-wide counts saw everything, and alerts stayed one per interval.
  auto s = a.stats(detector::addr_flood);
  CHECK(s.alerts == 1);
  CHECK(s.suppressed > 99'000);
}

TEST_CASE("attack detectors: operator settings name:subnet:alert[:window], and their errors") {
  attack_detectors::config c;
  CHECK_FALSE(apply_detector_setting("connection-churn:40:400", c));
  CHECK(c[detector::connection_churn].subnet == 40);
  CHECK(c[detector::connection_churn].alert == 400);
  CHECK(c[detector::connection_churn].window == std::chrono::seconds{60});
  CHECK_FALSE(apply_detector_setting("slowloris:0:50:120", c));
  CHECK(c[detector::slowloris].subnet == 0); // off for subnets, still alerts
  CHECK(c[detector::slowloris].window == std::chrono::seconds{120});
  CHECK(apply_detector_setting("churn:1:2", c)
            ->rfind("unknown detector \"churn\" (connection-churn, ", 0)
        == 0);
  CHECK(*apply_detector_setting("ping-flood:5", c)
        == "expected name:subnet:alert[:window_seconds]");
  CHECK(*apply_detector_setting("ping-flood:x:5", c)
        == "thresholds must be whole numbers: subnet 0 (off) to 1000000, alert 0 (off) to 1000000");
  CHECK(*apply_detector_setting("shared-identity:65:1", c)
        == "thresholds must be whole numbers: subnet 0 (off) to 64, alert 0 (off) to 1000000");
  CHECK(*apply_detector_setting("ping-flood:5:50:5", c) == "the window must be 6 to 86400 seconds");
  // A detector set to fire at 2 does, with the new threshold.
  attack_detectors d{c};
  auto t = attack_detectors::time_point{std::chrono::hours{1}};
  auto ip = *parse_ip("192.0.2.1");
  for (int i = 0; i < 39; ++i)
    CHECK(d.observe_connection(ip, t).empty());
  auto fired = d.observe_connection(ip, t);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].fired);
}

TEST_SUITE_END();

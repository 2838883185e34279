// What the node advertises as its own address: peers' votes on the address they see us at
// (runtime/nat/address_votes), the decision from the probe, the port mapping and those votes
// (runtime/nat/advertisement, one test per numbered rule), and the classic NAT names.
#include "runtime/nat/address_votes.hpp"
#include "runtime/nat/advertisement.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace qtc;
using namespace qtc::nat;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("nat");

namespace {

using time_point = address_votes::time_point;
const time_point t0 = time_point{} + 1000h;

const ip_bytes seen_a = ipv4(44, 0, 0, 1);
const ip_bytes seen_b = ipv4(44, 0, 0, 2);
const ip_bytes local_ip = ipv4(192, 168, 1, 10);
const ip_bytes stun_ip = ipv4(44, 0, 0, 7);
const ip_bytes mapped_ip = ipv4(44, 0, 0, 9);
constexpr std::uint16_t listen_port = 8333;

ip_bytes peer(std::uint32_t n) {
  return ipv4(50, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
              static_cast<std::uint8_t>(n));
}

probe_result probed(nat_behaviour mapping, nat_behaviour filtering, const ip_bytes& ip = stun_ip) {
  probe_result r;
  r.mapped = stun::endpoint{ip, 50000};
  r.mapping = mapping;
  r.filtering = filtering;
  r.server = "stun.example:3478";
  r.servers_tried = 1;
  return r;
}

port_mapping mapped_by(port_mapping_method method, const ip_bytes& ip, std::uint16_t port) {
  port_mapping m;
  m.method = method;
  m.external_ip = ip;
  m.external_port = port;
  m.lease = 1200s;
  return m;
}

std::string where(const self_advertisement& a) {
  return format_endpoint(a.ip, a.port);
}

} // namespace

// ---- address votes ----------------------------------------------------------------------------

TEST_CASE("address votes: each observer counts once, with its latest report") {
  address_votes v;
  CHECK_FALSE(v.leader(t0));
  v.add(seen_a, peer(1), t0);
  v.add(seen_a, peer(1), t0 + 1s);
  v.add(seen_a, peer(1), t0 + 2s);
  CHECK(v.observers() == 1);
  CHECK(v.agreeing(seen_a, t0 + 2s) == 1);
  auto l = v.leader(t0 + 2s);
  REQUIRE(l);
  CHECK(l->first == seen_a);
  CHECK(l->second == 1);

  // It changes its mind: the latest report wins, the earlier one no longer counts.
  v.add(seen_b, peer(1), t0 + 3s);
  CHECK(v.observers() == 1);
  CHECK(v.agreeing(seen_a, t0 + 3s) == 0);
  CHECK(v.agreeing(seen_b, t0 + 3s) == 1);
  CHECK(v.leader(t0 + 3s)->first == seen_b);
}

TEST_CASE("address votes: the IP most peers agree on leads, confirmed needs the threshold") {
  address_votes v;
  v.add(seen_a, peer(1), t0);
  v.add(seen_b, peer(2), t0);
  v.add(seen_a, peer(3), t0);
  auto l = v.leader(t0);
  REQUIRE(l);
  CHECK(l->first == seen_a);
  CHECK(l->second == 2);
  CHECK(v.agreeing(seen_b, t0) == 1);
  CHECK(v.confirmed(2, t0) == seen_a);
  CHECK_FALSE(v.confirmed(3, t0));
  v.add(seen_a, peer(4), t0);
  CHECK(v.confirmed(3, t0) == seen_a);
  // The threshold counts the leader's agreeing peers, not all reports.
  v.add(seen_b, peer(5), t0);
  v.add(seen_b, peer(6), t0);
  CHECK_FALSE(v.confirmed(4, t0)); // 3 against 3
  CHECK(v.observers() == 6);
}

TEST_CASE("address votes: reports expire") {
  address_votes v{1h};
  v.add(seen_a, peer(1), t0);
  v.add(seen_a, peer(2), t0 + 30min);
  CHECK(v.agreeing(seen_a, t0 + 1h - 1s) == 2);
  CHECK(v.agreeing(seen_a, t0 + 1h) == 1); // the first is an hour old
  CHECK(v.leader(t0 + 1h)->second == 1);
  CHECK_FALSE(v.confirmed(2, t0 + 1h));
  CHECK_FALSE(v.leader(t0 + 90min));
  CHECK_FALSE(v.confirmed(1, t0 + 90min));
  // A fresh report counts again.
  v.add(seen_a, peer(1), t0 + 2h);
  CHECK(v.agreeing(seen_a, t0 + 2h) == 1);
  CHECK(v.confirmed(1, t0 + 2h) == seen_a);

  address_votes daily; // the default: a day
  daily.add(seen_a, peer(1), t0);
  CHECK(daily.agreeing(seen_a, t0 + 24h - 1s) == 1);
  CHECK(daily.agreeing(seen_a, t0 + 24h) == 0);
}

TEST_CASE("address votes: a tie goes to the smaller address, whatever the order of reports") {
  for (bool b_first : {false, true}) {
    CAPTURE(b_first);
    address_votes v;
    if (b_first) {
      v.add(seen_b, peer(1), t0);
      v.add(seen_b, peer(2), t0);
      v.add(seen_a, peer(3), t0);
      v.add(seen_a, peer(4), t0);
    } else {
      v.add(seen_a, peer(4), t0);
      v.add(seen_a, peer(3), t0);
      v.add(seen_b, peer(2), t0);
      v.add(seen_b, peer(1), t0);
    }
    auto l = v.leader(t0);
    REQUIRE(l);
    CHECK(l->first == seen_a); // 44.0.0.1 < 44.0.0.2
    CHECK(l->second == 2);
    CHECK(v.confirmed(2, t0) == seen_a);
  }
}

TEST_CASE("address votes: at most 256 observers, the oldest report making room") {
  address_votes v;
  // Observer 0 first, then 255 others a second apart: 256, all kept.
  v.add(seen_b, peer(0), t0);
  for (std::uint32_t i = 1; i < address_votes::max_observers; ++i)
    v.add(seen_a, peer(i), t0 + std::chrono::seconds{i});
  CHECK(v.observers() == 256);
  const auto later = t0 + 1000s;
  CHECK(v.agreeing(seen_b, later) == 1);
  CHECK(v.agreeing(seen_a, later) == 255);

  // Observer 0 reports again: it is no longer the oldest, and no one is evicted for it.
  v.add(seen_b, peer(0), t0 + 500s);
  CHECK(v.observers() == 256);

  // A new observer: the oldest report now is observer 1's, which goes.
  v.add(seen_b, peer(1000), t0 + 501s);
  CHECK(v.observers() == 256);
  CHECK(v.agreeing(seen_b, later) == 2);
  CHECK(v.agreeing(seen_a, later) == 254);
  // Observer 1 comes back as a new observer: observer 2 (now the oldest) goes.
  v.add(seen_b, peer(1), t0 + 502s);
  CHECK(v.observers() == 256);
  CHECK(v.agreeing(seen_b, later) == 3);
  CHECK(v.agreeing(seen_a, later) == 253);
}

// ---- the advertisement ------------------------------------------------------------------------

TEST_CASE("advertisement rule 1: a mapped port is advertised at the mapping's address, whatever "
          "the NAT") {
  const auto symmetric =
      probed(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent);
  for (auto method :
       {port_mapping_method::pcp, port_mapping_method::natpmp, port_mapping_method::upnp}) {
    CAPTURE(to_string(method));
    const auto m = mapped_by(method, mapped_ip, 61000);
    advertisement_inputs in;
    in.probe = &symmetric;
    in.mapping = &m;
    in.peers_confirmed = seen_a;
    in.local = {local_ip};
    in.listen_port = listen_port;
    in.mapping_given_up = false;
    auto a = decide_advertisement(in);
    CHECK(a.known);
    CHECK(a.reachable);
    CHECK(where(a) == "44.0.0.9:61000");
    CHECK(a.source == to_string(method));
  }
}

TEST_CASE("advertisement rule 1: a mapping without an external address takes STUN's, else the "
          "peers'") {
  const auto cone = probed(nat_behaviour::endpoint_independent, nat_behaviour::address_dependent);
  for (const auto& zero : {ipv4(0, 0, 0, 0), ip_bytes{}}) {
    CAPTURE(format_ip(zero));
    const auto m = mapped_by(port_mapping_method::upnp, zero, 61000);
    advertisement_inputs in;
    in.mapping = &m;
    in.listen_port = listen_port;
    in.peers_confirmed = seen_a;

    in.probe = &cone;
    auto a = decide_advertisement(in);
    CHECK(a.reachable);
    CHECK(where(a) == "44.0.0.7:61000");
    CHECK(a.source == "upnp");

    in.probe = nullptr; // no STUN answer: the address peers agree on
    a = decide_advertisement(in);
    CHECK(a.reachable);
    CHECK(where(a) == "44.0.0.1:61000");
    CHECK(a.source == "upnp");

    probe_result unanswered; // a probe that ended without an answer: the same
    in.probe = &unanswered;
    a = decide_advertisement(in);
    CHECK(where(a) == "44.0.0.1:61000");

    in.peers_confirmed.reset(); // no address from anywhere: the mapping cannot be advertised
    a = decide_advertisement(in);
    CHECK_FALSE(a.reachable);
    CHECK_FALSE(a.known);
  }
}

TEST_CASE("advertisement rule 2: no NAT: our own address with the listening port") {
  SUBCASE("STUN's mapped address is ours") {
    const auto none = probed(nat_behaviour::no_nat, nat_behaviour::no_nat, local_ip);
    advertisement_inputs in;
    in.probe = &none;
    in.local = {local_ip};
    in.listen_port = listen_port;
    in.mapping_given_up = true;
    auto a = decide_advertisement(in);
    CHECK(a.known);
    CHECK(a.reachable);
    CHECK(where(a) == "192.168.1.10:8333");
    CHECK(a.source == "no-nat");
  }
  SUBCASE("the address peers agree on is ours (no STUN)") {
    advertisement_inputs in;
    in.peers_confirmed = local_ip;
    in.local = {ipv4(10, 1, 1, 1), local_ip};
    in.listen_port = listen_port;
    auto a = decide_advertisement(in);
    CHECK(a.known);
    CHECK(a.reachable);
    CHECK(where(a) == "192.168.1.10:8333");
    CHECK(a.source == "peers");
  }
  SUBCASE("the address peers agree on is not ours: it says nothing on its own") {
    advertisement_inputs in;
    in.peers_confirmed = seen_a;
    in.local = {local_ip};
    in.listen_port = listen_port;
    in.mapping_given_up = true;
    auto a = decide_advertisement(in);
    CHECK_FALSE(a.known);
    CHECK_FALSE(a.reachable);
  }
}

TEST_CASE("advertisement rule 3: a full-cone NAT: STUN's address with the listening port") {
  const auto full_cone =
      probed(nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent);
  advertisement_inputs in;
  in.probe = &full_cone;
  in.local = {local_ip};
  in.listen_port = listen_port;
  in.mapping_given_up = true;
  auto a = decide_advertisement(in);
  CHECK(a.known);
  CHECK(a.reachable);
  CHECK(where(a) == "44.0.0.7:8333");
  CHECK(a.source == "full-cone");
  in.mapping_given_up = false;
  CHECK(decide_advertisement(in) == a);
}

TEST_CASE("advertisement rule 4: any other NAT STUN saw, once mapping gave up: known "
          "unreachable") {
  const probe_result cases[] = {
      probed(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent),
      probed(nat_behaviour::address_dependent, nat_behaviour::endpoint_independent),
      probed(nat_behaviour::endpoint_independent, nat_behaviour::address_dependent),
      probed(nat_behaviour::endpoint_independent, nat_behaviour::address_and_port_dependent),
      probed(nat_behaviour::endpoint_independent, nat_behaviour::unknown),
      probed(nat_behaviour::unknown, nat_behaviour::unknown),
  };
  for (const auto& p : cases) {
    CAPTURE(nat_type_name(p.mapping, p.filtering));
    advertisement_inputs in;
    in.probe = &p;
    in.local = {local_ip};
    in.listen_port = listen_port;
    in.peers_confirmed = stun_ip; // peers agreeing on a NAT's address does not make it reachable
    in.mapping_given_up = true;
    auto a = decide_advertisement(in);
    CHECK(a.known);
    CHECK_FALSE(a.reachable);
    CHECK(a.port == 0);
    CHECK(a.source.empty());
    // While a mapping may still come, nothing is decided.
    in.mapping_given_up = false;
    a = decide_advertisement(in);
    CHECK_FALSE(a.known);
    CHECK_FALSE(a.reachable);
  }
}

TEST_CASE("advertisement rule 5: nothing answered: unknown") {
  advertisement_inputs in;
  in.local = {local_ip};
  in.listen_port = listen_port;
  CHECK(decide_advertisement(in) == self_advertisement{});
  in.mapping_given_up = true;
  CHECK(decide_advertisement(in) == self_advertisement{});
  probe_result unanswered;
  unanswered.servers_tried = 3;
  in.probe = &unanswered;
  CHECK(decide_advertisement(in) == self_advertisement{});
}

TEST_CASE("nat type names") {
  using b = nat_behaviour;
  CHECK(nat_type_name(b::no_nat, b::no_nat) == "none");
  CHECK(nat_type_name(b::endpoint_independent, b::endpoint_independent) == "full-cone");
  CHECK(nat_type_name(b::endpoint_independent, b::address_dependent) == "restricted-cone");
  CHECK(nat_type_name(b::endpoint_independent, b::address_and_port_dependent)
        == "port-restricted-cone");
  CHECK(nat_type_name(b::endpoint_independent, b::unknown) == "cone");
  for (auto f :
       {b::unknown, b::endpoint_independent, b::address_dependent, b::address_and_port_dependent}) {
    CAPTURE(to_string(f));
    CHECK(nat_type_name(b::address_dependent, f) == "symmetric");
    CHECK(nat_type_name(b::address_and_port_dependent, f) == "symmetric");
    CHECK(nat_type_name(b::unknown, f) == "unknown");
  }
  CHECK(to_string(b::address_and_port_dependent) == "address-and-port-dependent");
  CHECK(to_string(b::no_nat) == "no-nat");
  CHECK(to_string(port_mapping_method::natpmp) == "natpmp");
}

TEST_SUITE_END();

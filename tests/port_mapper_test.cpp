// The port mapper (runtime/nat/port_mapper) in explicit time, against an in-test gateway that
// answers PCP (RFC 6887) and/or NAT-PMP (RFC 6886), or answers PCP as a NAT-PMP-only gateway
// does, or nothing: the method order, the fallback to UPnP, the failure said once and retried,
// renewal at half the granted lease, the gateway's epoch, removal at exit, and what is ignored.
#include "runtime/nat/natpmp_message.hpp"
#include "runtime/nat/pcp_message.hpp"
#include "runtime/nat/port_mapper.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

using namespace qtc;
using namespace qtc::nat;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("nat");

namespace {

using time_point = port_mapper::time_point;

const ip_bytes gateway_ip = ipv4(10, 0, 0, 1);
const ip_bytes local_ip = ipv4(10, 0, 0, 2);
const ip_bytes public_ip = ipv4(44, 0, 0, 1);
const stun::endpoint gateway_ep{gateway_ip, gateway_port};
constexpr std::uint16_t p2p_port = 8333; // 0x208d
constexpr std::uint16_t granted_port = 61000;

template <std::size_t N>
std::array<std::uint8_t, N> slice(const bytes& d, std::size_t at) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(d.begin() + static_cast<std::ptrdiff_t>(at), N, out.begin());
  return out;
}

/// A PCP MAP response as RFC 6887 lays it out: the 24-byte header (version 2, R bit and opcode
/// MAP, reserved, result, lifetime, epoch, 96 reserved bits), then the 36-byte MAP body (nonce,
/// protocol, 24 reserved bits, internal port, assigned external port and address).
bytes pcp_answer(std::uint8_t result, std::uint32_t lifetime, std::uint32_t epoch,
                 const pcp_nonce& nonce, std::uint8_t protocol, std::uint16_t internal_port,
                 std::uint16_t external_port, const ip_bytes& external_ip) {
  bytes out{2, 0x81, 0, result};
  append_be32(out, lifetime);
  append_be32(out, epoch);
  out.insert(out.end(), 12, 0);
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.push_back(protocol);
  out.insert(out.end(), 3, 0);
  append_be16(out, internal_port);
  append_be16(out, external_port);
  out.insert(out.end(), external_ip.begin(), external_ip.end());
  return out;
}

/// A NAT-PMP external address response (RFC 6886 3.2): 12 bytes.
bytes natpmp_address_answer(std::uint16_t result, std::uint32_t epoch, const ip_bytes& ip) {
  bytes out{0, 0x80};
  append_be16(out, result);
  append_be32(out, epoch);
  out.insert(out.end(), ip.begin() + 12, ip.end());
  return out;
}

/// A NAT-PMP mapping response (RFC 6886 3.3): 16 bytes.
bytes natpmp_map_answer(std::uint8_t opcode, std::uint16_t result, std::uint32_t epoch,
                        std::uint16_t internal_port, std::uint16_t mapped_port,
                        std::uint32_t lifetime) {
  bytes out{0, static_cast<std::uint8_t>(0x80 | opcode)};
  append_be16(out, result);
  append_be32(out, epoch);
  append_be16(out, internal_port);
  append_be16(out, mapped_port);
  append_be32(out, lifetime);
  return out;
}

/// The gateway: answers PCP and/or NAT-PMP requests as the RFCs say. Without PCP but with
/// NAT-PMP it answers a PCP request with NAT-PMP's UNSUPPORTED_VERSION (version 0, opcode 0x81,
/// result 1: Bitcoin Core's downgrade vector). Its epoch counts the seconds since it booted.
struct gateway_model {
  bool pcp = true;
  bool natpmp = true;
  bool silent = false;
  std::uint8_t pcp_result_code = 0;
  std::uint32_t max_lifetime = 86400;
  time_point booted{};
  std::uint32_t epoch_at_boot = 1000;

  std::uint32_t epoch(time_point now) const {
    return epoch_at_boot
           + static_cast<std::uint32_t>(
               std::chrono::duration_cast<std::chrono::seconds>(now - booted).count());
  }

  /// Forgets its mappings: the epoch starts again from 0.
  void restart(time_point now) {
    booted = now;
    epoch_at_boot = 0;
  }

  std::optional<bytes> answer(const bytes& request, time_point now) const {
    if (silent || request.size() < 2)
      return std::nullopt;
    if (request[0] == 2) {
      REQUIRE(request.size() == 60);
      REQUIRE(request[1] == 1);
      if (!pcp) {
        if (!natpmp)
          return std::nullopt;
        bytes out{0, 0x81};
        append_be16(out, 1);
        append_be32(out, epoch(now));
        return out;
      }
      const auto lifetime = std::min(load_be32(request, 4), max_lifetime);
      return pcp_answer(pcp_result_code, lifetime, epoch(now), slice<12>(request, 24), request[36],
                        load_be16(request, 40), granted_port, public_ip);
    }
    REQUIRE(request[0] == 0);
    if (!natpmp)
      return std::nullopt;
    if (request[1] == 0) {
      REQUIRE(request.size() == 2);
      return natpmp_address_answer(0, epoch(now), public_ip);
    }
    REQUIRE(request.size() == 12);
    const auto lifetime = std::min(load_be32(request, 8), max_lifetime);
    return natpmp_map_answer(request[1], 0, epoch(now), load_be16(request, 4), granted_port,
                             lifetime);
  }
};

pcp_nonce nonce_number(std::uint8_t n) {
  pcp_nonce x{};
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<std::uint8_t>(0xa0 + i);
  x[0] = n;
  return x;
}

struct sent_datagram {
  time_point at;
  outgoing_datagram d;
};

/// The mapper on a LAN with the gateway model; logs what it sends and says.
struct lan {
  gateway_model gw;
  port_mapping_config config;
  std::optional<ip_bytes> gateway = gateway_ip;
  std::optional<port_mapper> mapper;
  std::vector<sent_datagram> sent;
  std::vector<probe_event> events;
  std::vector<upnp_mapping_request> upnp;
  int nonces = 0;
  time_point now{};

  void start() {
    mapper.emplace(config, gateway, local_ip, p2p_port,
                   [this] { return nonce_number(static_cast<std::uint8_t>(++nonces)); });
    mapper->start(now);
    deliver();
  }

  /// Sends what is due, feeds back the gateway's answers, and collects the rest.
  void deliver() {
    for (int rounds = 0; rounds < 100; ++rounds) {
      auto out = mapper->take_outgoing();
      if (out.empty())
        break;
      for (const auto& d : out) {
        sent.push_back({now, d});
        REQUIRE(d.to == gateway_ep);
        if (auto a = gw.answer(d.payload, now))
          mapper->on_datagram(gateway_ep, *a, now);
      }
    }
    if (auto r = mapper->take_upnp_request())
      upnp.push_back(*r);
    auto e = mapper->take_events();
    events.insert(events.end(), e.begin(), e.end());
  }

  /// Lets time pass up to `t`, waking the mapper when it asks.
  void advance_to(time_point t) {
    for (int steps = 0; steps < 1000; ++steps) {
      auto wake = mapper->next_wakeup();
      if (!wake || *wake > t)
        break;
      REQUIRE(*wake >= now);
      now = *wake;
      mapper->on_time(now);
      deliver();
    }
    now = t;
    mapper->on_time(now);
    deliver();
  }

  void upnp_answers(bool ok, std::uint32_t lease = 1200) {
    upnp_mapping_result r;
    r.ok = ok;
    r.error = ok ? "" : "AddPortMapping: 718 ConflictInMappingEntry";
    r.external_ip = public_ip;
    r.external_port = p2p_port;
    r.lease_seconds = lease;
    mapper->on_upnp_result(r, now);
    deliver();
  }

  std::vector<probe_event> warnings() const {
    std::vector<probe_event> out;
    std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                 [](const probe_event& e) { return e.warning; });
    return out;
  }

  std::vector<std::string> whats() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      out.push_back(e.what);
    return out;
  }
};

time_point at_ms(std::int64_t ms) {
  return time_point{} + std::chrono::milliseconds{ms};
}

/// The PCP MAP request the mapper must send, byte for byte (RFC 6887 7.1 and 11.1).
bytes expected_pcp_request(std::uint32_t lifetime, const pcp_nonce& nonce) {
  bytes out{2, 1, 0, 0};
  append_be32(out, lifetime);
  out.insert(out.end(), local_ip.begin(), local_ip.end()); // client address
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.push_back(6); // TCP
  out.insert(out.end(), 3, 0);
  append_be16(out, p2p_port);         // internal port
  append_be16(out, p2p_port);         // suggested external port
  const auto any4 = ipv4(0, 0, 0, 0); // suggested external address: "no preference"
  out.insert(out.end(), any4.begin(), any4.end());
  return out;
}

const bytes natpmp_address_request{0, 0};

bytes natpmp_tcp_request(std::uint16_t suggested, std::uint32_t lifetime) {
  bytes out{0, 2, 0, 0};
  append_be16(out, p2p_port);
  append_be16(out, suggested);
  append_be32(out, lifetime);
  return out;
}

} // namespace

TEST_CASE("port mapper: PCP first: a PCP gateway maps the port with one request") {
  lan w;
  w.start();
  REQUIRE(w.sent.size() == 1);
  CHECK(w.sent[0].d.payload == expected_pcp_request(1200, nonce_number(1)));
  CHECK(w.sent[0].d.to == gateway_ep);
  REQUIRE(w.mapper->mapping());
  const auto& m = *w.mapper->mapping();
  CHECK(m.method == port_mapping_method::pcp);
  CHECK(m.external_ip == public_ip);
  CHECK(m.external_port == granted_port);
  CHECK(m.lease == 1200s);
  CHECK(m.obtained == time_point{});
  CHECK(m.renew_at == time_point{} + 600s);
  CHECK(w.mapper->trying() == port_mapping_method::none);
  CHECK_FALSE(w.mapper->failed());
  CHECK(w.mapper->next_wakeup() == time_point{} + 600s);
  CHECK(w.upnp.empty());
  REQUIRE(w.events.size() == 1);
  CHECK_FALSE(w.events[0].warning);
  CHECK(w.events[0].what == "port mapping created");
  CHECK(w.events[0].method == "pcp");
  CHECK(w.events[0].mapping_result == "created");
  CHECK(w.events[0].detail == "pcp 44.0.0.1:61000 lease 1200 s");
}

TEST_CASE("port mapper: a NAT-PMP-only gateway: PCP, then NAT-PMP's address and map requests") {
  lan w;
  w.gw.pcp = false;
  w.start();
  REQUIRE(w.sent.size() == 3);
  CHECK(w.sent[0].d.payload == expected_pcp_request(1200, nonce_number(1)));
  CHECK(w.sent[1].d.payload == natpmp_address_request);
  CHECK(w.sent[2].d.payload == natpmp_tcp_request(p2p_port, 1200));
  REQUIRE(w.mapper->mapping());
  const auto& m = *w.mapper->mapping();
  CHECK(m.method == port_mapping_method::natpmp);
  CHECK(m.external_ip == public_ip); // from the external address answer
  CHECK(m.external_port == granted_port);
  CHECK(m.lease == 1200s);
  CHECK(m.renew_at == time_point{} + 600s);
  REQUIRE(w.events.size() == 2);
  CHECK(w.events[0].what == "pcp did not map the port");
  CHECK(w.events[0].detail == "the gateway speaks NAT-PMP, not PCP");
  CHECK(w.events[0].method == "pcp");
  CHECK(w.events[0].mapping_result == "failed");
  CHECK_FALSE(w.events[0].warning);
  CHECK(w.events[1].what == "port mapping created");
  CHECK(w.events[1].method == "natpmp");
  CHECK(w.warnings().empty());
}

TEST_CASE("port mapper: RFC 6886's own UNSUPPORTED_VERSION form (opcode 0) also means NAT-PMP") {
  lan w;
  w.gw.silent = true;
  w.start();
  REQUIRE(w.sent.size() == 1);
  bytes unsupported{0, 0, 0, 1};
  append_be32(unsupported, 12345);
  w.mapper->on_datagram(gateway_ep, unsupported, w.now);
  CHECK(w.mapper->trying() == port_mapping_method::natpmp);
  auto out = w.mapper->take_outgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload == natpmp_address_request);
}

TEST_CASE("port mapper: a PCP error result moves on to NAT-PMP") {
  lan w;
  w.gw.pcp_result_code = 2; // NOT_AUTHORIZED
  w.start();
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
  REQUIRE(!w.events.empty());
  CHECK(w.events[0].detail == "the gateway answered NOT_AUTHORIZED");
}

TEST_CASE("port mapper: no gateway answers: PCP and NAT-PMP time out, then UPnP maps the port") {
  lan w;
  w.gw.silent = true;
  w.start();
  w.advance_to(time_point{} + 10s);
  // 250 ms, doubling, 4 sends, then 8 RTOs: each method is given up after 3.75 s.
  const std::int64_t times[] = {0, 250, 750, 1750, 3750, 4000, 4500, 5500};
  REQUIRE(w.sent.size() == std::size(times));
  for (std::size_t i = 0; i < std::size(times); ++i) {
    CAPTURE(i);
    CHECK(w.sent[i].at == at_ms(times[i]));
    CHECK(w.sent[i].d.payload
          == (i < 4 ? expected_pcp_request(1200, nonce_number(1)) : natpmp_address_request));
  }
  REQUIRE(w.upnp.size() == 1);
  CHECK(w.upnp[0].external_port == p2p_port);
  CHECK(w.upnp[0].internal_ip == local_ip);
  CHECK(w.upnp[0].internal_port == p2p_port);
  CHECK(w.upnp[0].lease_seconds == 1200);
  CHECK_FALSE(w.mapper->take_upnp_request()); // asked once
  CHECK(w.mapper->trying() == port_mapping_method::upnp);
  CHECK_FALSE(w.mapper->next_wakeup()); // the worker's answer is awaited
  REQUIRE(w.events.size() == 2);
  CHECK(w.events[0].what == "pcp did not map the port");
  CHECK(w.events[0].detail == "the gateway did not answer 4 requests");
  CHECK(w.events[1].what == "natpmp did not map the port");
  CHECK(w.events[1].detail == "the gateway did not answer 4 requests");

  w.now = at_ms(7500) + 200ms;
  w.upnp_answers(true, 1000);
  REQUIRE(w.mapper->mapping());
  const auto& m = *w.mapper->mapping();
  CHECK(m.method == port_mapping_method::upnp);
  CHECK(m.external_ip == public_ip);
  CHECK(m.external_port == p2p_port);
  CHECK(m.lease == 1000s);
  CHECK(m.renew_at == w.now + 500s);
  CHECK(w.mapper->trying() == port_mapping_method::none);
  CHECK(w.events.back().what == "port mapping created");
  CHECK(w.events.back().method == "upnp");
  CHECK(w.warnings().empty());
}

TEST_CASE("port mapper: the PCP deadline is exact") {
  lan w;
  w.gw.silent = true;
  w.start();
  w.advance_to(at_ms(3749));
  CHECK(w.mapper->trying() == port_mapping_method::pcp);
  CHECK(w.sent.size() == 4);
  w.advance_to(at_ms(3750));
  CHECK(w.mapper->trying() == port_mapping_method::natpmp);
  CHECK(w.sent.size() == 5);
}

TEST_CASE("port mapper: a permanent UPnP mapping is never renewed") {
  lan w;
  w.config.pcp = w.config.natpmp = false;
  w.start();
  REQUIRE(w.upnp.size() == 1);
  w.upnp_answers(true, 0);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->lease == 0s);
  CHECK(w.events.back().detail == "upnp 44.0.0.1:8333 lease permanent");
  CHECK_FALSE(w.mapper->next_wakeup());
  w.advance_to(time_point{} + 100h);
  CHECK(w.upnp.size() == 1);
  CHECK(w.sent.empty());
}

TEST_CASE("port mapper: every method failing: failed(), said once across rounds, retried after "
          "retry_after") {
  lan w;
  w.gw.silent = true;
  w.start();
  w.advance_to(at_ms(7500));
  REQUIRE(w.upnp.size() == 1);
  w.upnp_answers(false);
  CHECK(w.mapper->failed());
  CHECK_FALSE(w.mapper->mapping());
  CHECK(w.mapper->trying() == port_mapping_method::none);
  CHECK(w.mapper->next_wakeup() == at_ms(7500) + 300s);
  auto warnings = w.warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].what == "no gateway mapped the P2P port; relying on STUN alone");
  CHECK(warnings[0].detail == "trying again in 300 s");
  CHECK(w.events[w.events.size() - 2].what == "upnp did not map the port");
  CHECK(w.events[w.events.size() - 2].detail == "AddPortMapping: 718 ConflictInMappingEntry");

  // Nothing until the retry, then the round starts over with PCP (the same nonce).
  w.advance_to(at_ms(7500) + 300s - 1ms);
  CHECK(w.sent.size() == 8);
  w.advance_to(at_ms(7500) + 300s);
  REQUIRE(w.sent.size() == 9);
  CHECK(w.sent[8].d.payload == expected_pcp_request(1200, nonce_number(1)));
  CHECK_FALSE(w.mapper->failed());
  CHECK(w.mapper->trying() == port_mapping_method::pcp);
  w.advance_to(at_ms(7500) + 300s + 7500ms);
  REQUIRE(w.upnp.size() == 2);
  w.upnp_answers(false);
  CHECK(w.mapper->failed());
  CHECK(w.warnings().size() == 1); // not said again
  CHECK(w.nonces == 1);

  // A success in between: the next failure is said again.
  w.advance_to(w.now + 300s);
  w.advance_to(w.now + 7500ms);
  REQUIRE(w.upnp.size() == 3);
  w.upnp_answers(true, 1200);
  REQUIRE(w.mapper->mapping());
  w.advance_to(w.now + 600s + 7500ms);
  REQUIRE(w.upnp.size() == 4);
  w.upnp_answers(false);
  CHECK(w.mapper->failed());
  CHECK(w.warnings().size() == 2);
}

TEST_CASE("port mapper: a lost mapping is tried again after 5 s, then 10, up to retry_after") {
  lan w;
  w.config.retry_after = 12s;
  w.start();
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::pcp);
  // The gateway goes away (a router restarting): the renewal at half the lease fails through
  // every method.
  w.gw.silent = true;
  auto renew = *w.mapper->next_wakeup();
  w.advance_to(renew + 7500ms);
  REQUIRE(w.upnp.size() == 1);
  w.upnp_answers(false);
  REQUIRE(w.mapper->failed());
  CHECK(w.mapper->next_wakeup() == w.now + 5s);
  CHECK(w.warnings().back().detail == "trying again in 5 s");
  w.advance_to(w.now + 5s + 7500ms);
  REQUIRE(w.upnp.size() == 2);
  w.upnp_answers(false);
  CHECK(w.mapper->next_wakeup() == w.now + 10s);
  w.advance_to(w.now + 10s + 7500ms);
  REQUIRE(w.upnp.size() == 3);
  w.upnp_answers(false);
  CHECK(w.mapper->next_wakeup() == w.now + 12s); // capped
  // It comes back: mapped again, and the next loss starts at 5 s again.
  w.gw.silent = false;
  w.advance_to(w.now + 12s);
  REQUIRE(w.mapper->mapping());
  w.gw.silent = true;
  w.advance_to(*w.mapper->next_wakeup() + 7500ms);
  REQUIRE(w.upnp.size() == 4);
  w.upnp_answers(false);
  CHECK(w.mapper->next_wakeup() == w.now + 5s);
}

TEST_CASE("port mapper: methods switched off are skipped") {
  SUBCASE("PCP off: NAT-PMP first") {
    lan w;
    w.config.pcp = false;
    w.start();
    REQUIRE(w.sent.size() == 2);
    CHECK(w.sent[0].d.payload == natpmp_address_request);
    REQUIRE(w.mapper->mapping());
    CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
    CHECK(w.events.size() == 1); // no word about PCP
  }
  SUBCASE("PCP and NAT-PMP off: straight to UPnP") {
    lan w;
    w.config.pcp = w.config.natpmp = false;
    w.start();
    CHECK(w.sent.empty());
    REQUIRE(w.upnp.size() == 1);
    CHECK(w.mapper->trying() == port_mapping_method::upnp);
    CHECK(w.events.empty());
  }
  SUBCASE("UPnP off: NAT-PMP's failure ends the round") {
    lan w;
    w.config.upnp = false;
    w.gw.silent = true;
    w.start();
    w.advance_to(at_ms(7500));
    CHECK(w.upnp.empty());
    CHECK(w.mapper->failed());
    CHECK(w.warnings().size() == 1);
  }
  SUBCASE("all off: failed at once, nothing sent") {
    lan w;
    w.config.pcp = w.config.natpmp = w.config.upnp = false;
    w.start();
    CHECK(w.sent.empty());
    CHECK(w.upnp.empty());
    CHECK(w.mapper->failed());
    REQUIRE(w.events.size() == 1);
    CHECK(w.events[0].warning);
  }
}

TEST_CASE("port mapper: no gateway address: PCP and NAT-PMP skipped, UPnP asked at once") {
  lan w;
  w.gateway = std::nullopt;
  w.start();
  CHECK(w.sent.empty());
  REQUIRE(w.upnp.size() == 1);
  CHECK(w.mapper->trying() == port_mapping_method::upnp);
  REQUIRE(w.events.size() == 2);
  CHECK(w.events[0].what == "pcp did not map the port");
  CHECK(w.events[0].detail == "no default gateway");
  CHECK(w.events[1].what == "natpmp did not map the port");
  CHECK(w.events[1].detail == "no default gateway");
  // Nothing is taken from anyone.
  w.mapper->on_datagram(gateway_ep,
                        pcp_answer(0, 1200, 5, nonce_number(1), 6, p2p_port, 1, public_ip), w.now);
  CHECK_FALSE(w.mapper->mapping());
  w.upnp_answers(true);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::upnp);
  CHECK(w.mapper->removal().empty()); // the UPnP worker removes its own mapping
  CHECK_FALSE(w.mapper->mapping());
}

TEST_CASE("port mapper: renewal at exactly half the granted lifetime, with the same nonce") {
  lan w;
  w.gw.max_lifetime = 600; // asked for 1200, granted 600
  w.start();
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->lease == 600s);
  CHECK(w.mapper->next_wakeup() == time_point{} + 300s);
  w.advance_to(time_point{} + 300s - 1ms);
  CHECK(w.sent.size() == 1);
  w.advance_to(time_point{} + 300s);
  REQUIRE(w.sent.size() == 2);
  CHECK(w.sent[1].at == time_point{} + 300s);
  CHECK(w.sent[1].d.payload == w.sent[0].d.payload); // same nonce, same lifetime asked
  CHECK(w.nonces == 1);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->obtained == time_point{} + 300s);
  CHECK(w.mapper->mapping()->renew_at == time_point{} + 600s);
  CHECK(w.events.back().what == "port mapping renewed");
  CHECK(w.events.back().mapping_result == "renewed");
  CHECK(w.events.back().method == "pcp");
  w.advance_to(time_point{} + 600s);
  CHECK(w.sent.size() == 3);
  CHECK(w.warnings().empty());
}

TEST_CASE("port mapper: a NAT-PMP mapping is renewed with NAT-PMP at half its lease") {
  lan w;
  w.gw.pcp = false;
  w.gw.max_lifetime = 100;
  w.start();
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
  w.advance_to(time_point{} + 50s);
  REQUIRE(w.sent.size() == 5);
  CHECK(w.sent[3].d.payload == natpmp_address_request); // no PCP on renewal
  CHECK(w.sent[4].d.payload == natpmp_tcp_request(p2p_port, 1200));
  CHECK(w.events.back().what == "port mapping renewed");
}

TEST_CASE("port mapper: a renewal the gateway does not answer moves on, and the mapping is "
          "dropped when every method failed") {
  lan w;
  w.start();
  REQUIRE(w.mapper->mapping());
  w.gw.silent = true;
  w.advance_to(time_point{} + 600s + 3749ms);
  CHECK(w.mapper->trying() == port_mapping_method::pcp);
  CHECK(w.sent.size() == 5);
  w.advance_to(time_point{} + 600s + 3750ms);
  CHECK(w.mapper->trying() == port_mapping_method::natpmp);
  w.advance_to(time_point{} + 600s + 7500ms);
  REQUIRE(w.upnp.size() == 1);
  // Still mapped (the lease runs until 1200 s) while the next methods are tried.
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::pcp);
  w.upnp_answers(false);
  CHECK_FALSE(w.mapper->mapping());
  CHECK(w.mapper->failed());
  CHECK(w.whats()
        == std::vector<std::string>{"port mapping created", "pcp did not map the port",
                                    "natpmp did not map the port", "upnp did not map the port",
                                    "no gateway mapped the P2P port; relying on STUN alone"});
}

TEST_CASE("port mapper: a renewal that falls back to UPnP says renewed") {
  lan w;
  w.start();
  w.gw.silent = true;
  w.advance_to(time_point{} + 607500ms);
  REQUIRE(w.upnp.size() == 1);
  w.upnp_answers(true);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::upnp);
  CHECK(w.events.back().what == "port mapping renewed");
}

TEST_CASE("port mapper: the gateway's epoch going back says it restarted") {
  SUBCASE("PCP") {
    lan w;
    w.start();
    w.gw.restart(time_point{} + 100s);
    w.advance_to(time_point{} + 600s);
    auto warnings = w.warnings();
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].what == "gateway restarted (its epoch went back); mapping renewed");
    // 1000 at 0 s; 600 s later at least 1000 + 7/8 * 600 = 1525 was due, 500 came.
    CHECK(warnings[0].detail == "epoch 500, expected about 1525");
    REQUIRE(w.mapper->mapping());
    CHECK(w.events.back().what == "port mapping renewed");
  }
  SUBCASE("NAT-PMP") {
    lan w;
    w.gw.pcp = false;
    w.start();
    w.gw.restart(time_point{} + 590s);
    w.advance_to(time_point{} + 600s);
    auto warnings = w.warnings();
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].detail == "epoch 10, expected about 1525");
  }
  SUBCASE("an epoch that advances with time, or lags by no more than the slack, is fine") {
    // 1600 at 600 s; at 1200 s at least 1600 + 7/8 * 600 - 2 = 2123 is due.
    for (std::uint32_t lag : {0u, 77u, 78u}) {
      CAPTURE(lag);
      lan w;
      w.start();
      w.advance_to(time_point{} + 600s);
      CHECK(w.warnings().empty());
      w.gw.epoch_at_boot -= lag; // at 1200 s: 2200 - lag
      w.advance_to(time_point{} + 1200s);
      CHECK(w.warnings().size() == (lag > 77 ? 1 : 0));
    }
  }
}

TEST_CASE("port mapper: removal sends lifetime-0 requests and forgets the mapping") {
  SUBCASE("PCP: the request again, with lifetime 0") {
    lan w;
    w.start();
    REQUIRE(w.mapper->mapping());
    auto out = w.mapper->removal();
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == gateway_ep);
    CHECK(out[0].payload == expected_pcp_request(0, nonce_number(1)));
    CHECK_FALSE(w.mapper->mapping());
    CHECK_FALSE(w.mapper->next_wakeup());
    CHECK(w.mapper->removal().empty());
    w.advance_to(time_point{} + 1h);
    CHECK(w.sent.size() == 1); // never renewed
  }
  SUBCASE("NAT-PMP: internal port, suggested port 0, lifetime 0") {
    lan w;
    w.gw.pcp = false;
    w.start();
    REQUIRE(w.mapper->mapping());
    auto out = w.mapper->removal();
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == gateway_ep);
    CHECK(out[0].payload == bytes{0, 2, 0, 0, 0x20, 0x8d, 0, 0, 0, 0, 0, 0});
    CHECK_FALSE(w.mapper->mapping());
    CHECK_FALSE(w.mapper->next_wakeup());
  }
  SUBCASE("nothing mapped: nothing to remove") {
    lan w;
    w.gw.silent = true;
    w.start();
    CHECK(w.mapper->removal().empty());
  }
}

TEST_CASE("port mapper: datagrams from anyone but the gateway's port 5351 are ignored") {
  lan w;
  w.gw.silent = true;
  w.start();
  const auto good = pcp_answer(0, 1200, 7, nonce_number(1), 6, p2p_port, 4242, public_ip);
  w.mapper->on_datagram({ipv4(10, 0, 0, 99), gateway_port}, good, w.now);
  w.mapper->on_datagram({gateway_ip, 5350}, good, w.now);
  w.mapper->on_datagram({ipv4(10, 0, 0, 99), gateway_port}, bytes{1, 2, 3}, w.now);
  CHECK_FALSE(w.mapper->mapping());
  CHECK(w.mapper->trying() == port_mapping_method::pcp);
  CHECK(w.mapper->take_events().empty());
  CHECK(w.mapper->take_outgoing().empty());
  w.mapper->on_datagram(gateway_ep, good, w.now);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->external_port == 4242);
}

TEST_CASE("port mapper: a PCP answer with another nonce, protocol or port is not ours") {
  lan w;
  w.gw.silent = true;
  w.start();
  w.mapper->on_datagram(
      gateway_ep, pcp_answer(0, 1200, 7, nonce_number(9), 6, p2p_port, 4242, public_ip), w.now);
  w.mapper->on_datagram(
      gateway_ep, pcp_answer(0, 1200, 7, nonce_number(1), 17, p2p_port, 4242, public_ip), w.now);
  w.mapper->on_datagram(gateway_ep,
                        pcp_answer(0, 1200, 7, nonce_number(1), 6, 8334, 4242, public_ip), w.now);
  // An error result for someone else's request does not end PCP either.
  w.mapper->on_datagram(gateway_ep,
                        pcp_answer(2, 0, 7, nonce_number(9), 6, p2p_port, 0, ip_bytes{}), w.now);
  CHECK_FALSE(w.mapper->mapping());
  CHECK(w.mapper->trying() == port_mapping_method::pcp);
  CHECK(w.mapper->take_events().empty());
  w.mapper->on_datagram(
      gateway_ep, pcp_answer(0, 1200, 7, nonce_number(1), 6, p2p_port, 4242, public_ip), w.now);
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::pcp);
}

TEST_CASE("port mapper: duplicated answers to retransmitted requests do not derail NAT-PMP") {
  SUBCASE("a second UNSUPPORTED_VERSION answer to PCP while NAT-PMP asks for the address") {
    lan w;
    w.gw.pcp = false;
    w.gw.silent = true;
    w.start();
    w.advance_to(at_ms(250)); // PCP sent twice; the slow gateway answers both
    REQUIRE(w.sent.size() == 2);
    const bytes unsupported{0, 0x81, 0, 1, 0, 0, 0x03, 0xe8};
    w.mapper->on_datagram(gateway_ep, unsupported, w.now);
    CHECK(w.mapper->trying() == port_mapping_method::natpmp);
    w.mapper->on_datagram(gateway_ep, unsupported, w.now);
    CHECK(w.mapper->trying() == port_mapping_method::natpmp);
    w.gw.silent = false;
    w.deliver();
    REQUIRE(w.mapper->mapping());
    CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
  }
  SUBCASE("a second external address answer while NAT-PMP asks for the mapping") {
    lan w;
    w.gw.pcp = false;
    w.start();
    REQUIRE(w.mapper->mapping());
    w.gw.silent = true;
    w.advance_to(time_point{} + 600s + 250ms); // the renewal's address request, sent twice
    REQUIRE(w.sent.size() == 5);
    const auto address = natpmp_address_answer(0, 1600, public_ip);
    w.mapper->on_datagram(gateway_ep, address, w.now);
    CHECK(w.mapper->trying() == port_mapping_method::natpmp);
    w.mapper->on_datagram(gateway_ep, address, w.now); // the duplicate
    CHECK(w.mapper->trying() == port_mapping_method::natpmp);
    w.gw.silent = false;
    w.deliver();
    CHECK(w.mapper->trying() == port_mapping_method::none);
    REQUIRE(w.mapper->mapping());
    CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
    CHECK(w.events.back().what == "port mapping renewed");
  }
}

TEST_CASE("port mapper: a late PCP answer does not end NAT-PMP") {
  // PCP refused at once (an error result), then the gateway's answer to the retransmitted PCP
  // request arrives while NAT-PMP asks: it is not NAT-PMP's answer.
  lan w;
  w.gw.silent = true;
  w.start();
  w.advance_to(at_ms(250));
  REQUIRE(w.sent.size() == 2);
  w.mapper->on_datagram(gateway_ep,
                        pcp_answer(8, 30, 1000, nonce_number(1), 6, p2p_port, 0, ip_bytes{}),
                        w.now); // NO_RESOURCES
  CHECK(w.mapper->trying() == port_mapping_method::natpmp);
  w.mapper->on_datagram(
      gateway_ep, pcp_answer(0, 1200, 1000, nonce_number(1), 6, p2p_port, 4242, public_ip), w.now);
  CHECK(w.mapper->trying() == port_mapping_method::natpmp);
  w.gw.silent = false;
  w.deliver();
  REQUIRE(w.mapper->mapping());
  CHECK(w.mapper->mapping()->method == port_mapping_method::natpmp);
  CHECK(w.events.front().detail == "the gateway answered NO_RESOURCES");
}

TEST_SUITE_END();

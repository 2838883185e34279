// The NAT behaviour probe (runtime/nat/nat_probe) in explicit time, against an in-test model of
// RFC 5780 STUN servers behind a NAT of each RFC 4787 behaviour: the classification of every
// mapping and filtering combination, the fallback to a second server when the first has no
// OTHER-ADDRESS, RFC 8489's retransmission schedule, and failover from servers that are silent,
// unreadable, answer another transaction or with an error.
#include "runtime/nat/nat_probe.hpp"

#include <doctest/doctest.h>

#include <algorithm>
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

using time_point = nat_probe::time_point;

const ip_bytes local_ip = ipv4(192, 168, 1, 10);
const ip_bytes public_ip = ipv4(44, 0, 0, 1);
/// The local ports of the probe's two sockets (outgoing_datagram::socket 0 and 1).
constexpr std::uint16_t local_ports[2] = {40000, 40001};

const stun::endpoint server_a_primary{ipv4(45, 0, 0, 1), 3478};
const stun::endpoint server_a_other{ipv4(45, 0, 0, 2), 3479};
const stun::endpoint server_b_primary{ipv4(46, 0, 0, 1), 3478};
const stun::endpoint server_b_other{ipv4(46, 0, 0, 2), 3479};
const stun::endpoint stranger{ipv4(99, 9, 9, 9), 1234};

/// What a modelled STUN server does with a request.
enum class server_does {
  answer,   ///< a Binding success response (with OTHER-ADDRESS if rfc5780)
  silent,   ///< nothing
  garbage,  ///< bytes that are not STUN
  wrong_id, ///< a success response to another transaction
  error,    ///< a Binding error response (500 Server Error)
};

struct server_model {
  std::string name;
  stun::endpoint primary;
  stun::endpoint other; ///< different IP and port; reachable only if rfc5780
  bool rfc5780 = true;
  server_does does = server_does::answer;
};

/// A NAT between the probe's sockets and the internet, with RFC 4787's mapping and filtering
/// behaviours; mapping no_nat: nothing translates (the sockets' own addresses are seen).
struct nat_model {
  nat_behaviour mapping = nat_behaviour::endpoint_independent;
  nat_behaviour filtering = nat_behaviour::endpoint_independent;

  struct binding {
    std::uint8_t socket = 0;
    stun::endpoint key;     ///< the destination part that selects the mapping
    std::uint16_t port = 0; ///< the external port
    std::vector<stun::endpoint> sent_to;
  };
  std::vector<binding> bindings;
  std::uint16_t next_port = 50000;

  /// The mapping a datagram from `socket` to `to` goes out on (created if new).
  binding& outbound(std::uint8_t socket, const stun::endpoint& to) {
    stun::endpoint key{};
    if (mapping == nat_behaviour::address_dependent)
      key.ip = to.ip;
    else if (mapping == nat_behaviour::address_and_port_dependent)
      key = to;
    auto it = std::find_if(bindings.begin(), bindings.end(),
                           [&](const binding& b) { return b.socket == socket && b.key == key; });
    if (it == bindings.end()) {
      bindings.push_back({socket, key, next_port++, {}});
      it = bindings.end() - 1;
    }
    if (std::find(it->sent_to.begin(), it->sent_to.end(), to) == it->sent_to.end())
      it->sent_to.push_back(to);
    return *it;
  }

  stun::endpoint external(const binding& b, std::uint8_t socket) const {
    if (mapping == nat_behaviour::no_nat)
      return {local_ip, local_ports[socket]};
    return {public_ip, b.port};
  }

  /// Whether the NAT lets a datagram from `from` in through `b`.
  bool lets_in(const binding& b, const stun::endpoint& from) const {
    if (mapping == nat_behaviour::no_nat || filtering == nat_behaviour::endpoint_independent)
      return true;
    if (filtering == nat_behaviour::address_dependent)
      return std::any_of(b.sent_to.begin(), b.sent_to.end(),
                         [&](const stun::endpoint& e) { return e.ip == from.ip; });
    return std::find(b.sent_to.begin(), b.sent_to.end(), from) != b.sent_to.end();
  }
};

struct answer {
  stun::endpoint from;
  bytes payload;
};

bytes error_response(const stun::transaction_id& id) {
  // Binding error response (0x0111), ERROR-CODE 500 "Server Error" (12 bytes of reason).
  bytes out{0x01, 0x11, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42};
  out.insert(out.end(), id.begin(), id.end());
  out.insert(out.end(), {0x00, 0x09, 0x00, 0x10, 0x00, 0x00, 0x05, 0x00});
  const std::string reason = "Server Error";
  out.insert(out.end(), reason.begin(), reason.end());
  return out;
}

/// The STUN server model: what the client sees in answer to `d` (nothing when no server listens
/// there, the server stays silent or the NAT filters the answer). A CHANGE-REQUEST is honoured
/// by answering from the other IP and/or port; the answer reports the NAT's external endpoint.
std::optional<answer> serve(nat_model& nat, const std::vector<server_model>& servers,
                            const outgoing_datagram& d) {
  auto& binding = nat.outbound(d.socket, d.to);
  auto decoded = stun::decode(d.payload);
  REQUIRE_MESSAGE(decoded.msg, decoded.error);
  const auto& request = *decoded.msg;
  REQUIRE(request.cls == stun::message_class::request);
  REQUIRE(request.method == stun::binding);

  for (const auto& s : servers) {
    const bool at_primary_ip = d.to.ip == s.primary.ip;
    const bool at_other_ip = s.rfc5780 && d.to.ip == s.other.ip;
    const bool at_primary_port = d.to.port == s.primary.port;
    const bool at_other_port = s.rfc5780 && d.to.port == s.other.port;
    if (!(at_primary_ip || at_other_ip) || !(at_primary_port || at_other_port))
      continue;
    // An RFC 5389 server does not know CHANGE-REQUEST (comprehension-required): 420.
    REQUIRE((s.rfc5780 || (!request.change_ip && !request.change_port)));
    stun::endpoint from = d.to;
    if (request.change_ip)
      from.ip = at_primary_ip ? s.other.ip : s.primary.ip;
    if (request.change_port)
      from.port = at_primary_port ? s.other.port : s.primary.port;
    bytes payload;
    switch (s.does) {
    case server_does::answer:
      payload =
          stun::encode_binding_success(request.id, nat.external(binding, d.socket),
                                       s.rfc5780 ? std::optional{s.other} : std::nullopt, from);
      break;
    case server_does::silent:
      return std::nullopt;
    case server_does::garbage:
      payload = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
      break;
    case server_does::wrong_id: {
      auto id = request.id;
      id[0] ^= 0xff;
      payload = stun::encode_binding_success(id, nat.external(binding, d.socket), std::nullopt,
                                             std::nullopt);
      break;
    }
    case server_does::error:
      payload = error_response(request.id);
      break;
    }
    if (!nat.lets_in(binding, from))
      return std::nullopt;
    return answer{from, payload};
  }
  return std::nullopt;
}

stun::transaction_id counter_id(std::uint8_t n) {
  stun::transaction_id id{};
  id[11] = n;
  return id;
}

/// Transaction ids 1, 2, 3, ... (in the last byte).
struct id_counter {
  std::uint8_t next = 0;
  stun::transaction_id operator()() {
    return counter_id(++next);
  }
};

struct sent_datagram {
  time_point at;
  outgoing_datagram d;
};

/// The probe, the modelled internet, and a log of everything it sent.
struct world {
  nat_model nat;
  std::vector<server_model> servers;
  std::vector<ip_bytes> local{local_ip};
  std::vector<sent_datagram> sent;
  std::vector<probe_event> events;
  time_point now{};
  std::optional<nat_probe> probe;

  void make(retransmission_timing timing = {}) {
    std::vector<stun_server> configured;
    for (const auto& s : servers)
      configured.push_back({s.name, s.primary});
    probe.emplace(configured, local, timing, id_counter{});
  }

  /// Sends what the probe wants sent and feeds it the answers, at the current time.
  void deliver() {
    for (int rounds = 0; rounds < 100; ++rounds) {
      auto out = probe->take_outgoing();
      if (out.empty())
        break;
      for (const auto& d : out) {
        sent.push_back({now, d});
        if (auto a = serve(nat, servers, d))
          probe->on_datagram(a->from, a->payload, now);
      }
    }
    auto e = probe->take_events();
    events.insert(events.end(), e.begin(), e.end());
  }

  /// Runs the probe from the start to its end, jumping from wakeup to wakeup.
  void run() {
    if (!probe)
      make();
    probe->start(now);
    deliver();
    for (int steps = 0; steps < 1000 && !probe->done(); ++steps) {
      auto wake = probe->next_wakeup();
      REQUIRE(wake);
      REQUIRE(*wake >= now);
      now = *wake;
      probe->on_time(now);
      deliver();
    }
    REQUIRE(probe->done());
    CHECK_FALSE(probe->next_wakeup());
  }

  std::vector<probe_event> warnings() const {
    std::vector<probe_event> out;
    std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                 [](const probe_event& e) { return e.warning; });
    return out;
  }
};

server_model server_a(server_does does = server_does::answer, bool rfc5780 = true) {
  return {"stun-a.example:3478", server_a_primary, server_a_other, rfc5780, does};
}

server_model server_b(server_does does = server_does::answer, bool rfc5780 = true) {
  return {"stun-b.example:3478", server_b_primary, server_b_other, rfc5780, does};
}

stun::message decoded_request(const outgoing_datagram& d) {
  auto decoded = stun::decode(d.payload);
  REQUIRE_MESSAGE(decoded.msg, decoded.error);
  return *decoded.msg;
}

time_point at_ms(std::int64_t ms) {
  return time_point{} + std::chrono::milliseconds{ms};
}

} // namespace

TEST_CASE("nat probe: the mapped address is one of ours: no NAT, one request") {
  world w;
  w.nat.mapping = nat_behaviour::no_nat;
  w.servers = {server_a()};
  w.run();
  const auto& r = w.probe->result();
  REQUIRE(r.mapped);
  CHECK(*r.mapped == stun::endpoint{local_ip, local_ports[0]});
  CHECK(r.mapping == nat_behaviour::no_nat);
  CHECK(r.filtering == nat_behaviour::no_nat);
  CHECK(r.server == "stun-a.example:3478");
  CHECK(r.servers_tried == 1);
  CHECK(w.sent.size() == 1);
  CHECK(w.now == time_point{});
  CHECK(w.warnings().empty());
  REQUIRE(w.events.size() == 1);
  CHECK(w.events[0].what == "NAT behaviour found");
  CHECK(w.events[0].detail == "mapped 192.168.1.10:40000, mapping no-nat, filtering no-nat");
}

TEST_CASE("nat probe: our own address not among `local` is not taken for no NAT") {
  world w;
  w.nat.mapping = nat_behaviour::no_nat; // the server sees 192.168.1.10 ...
  w.local = {ipv4(192, 168, 1, 11)};     // ... which is not ours
  w.servers = {server_a()};
  w.run();
  CHECK(w.probe->result().mapping == nat_behaviour::endpoint_independent);
}

TEST_CASE("nat probe: every mapping and filtering behaviour is classified exactly") {
  const nat_behaviour behaviours[] = {nat_behaviour::endpoint_independent,
                                      nat_behaviour::address_dependent,
                                      nat_behaviour::address_and_port_dependent};
  for (auto mapping : behaviours)
    for (auto filtering : behaviours) {
      CAPTURE(to_string(mapping));
      CAPTURE(to_string(filtering));
      world w;
      w.nat.mapping = mapping;
      w.nat.filtering = filtering;
      w.servers = {server_a()};
      w.run();
      const auto& r = w.probe->result();
      CHECK(r.mapping == mapping);
      CHECK(r.filtering == filtering);
      REQUIRE(r.mapped);
      CHECK(r.mapped->ip == public_ip);
      CHECK(r.mapped->port == 50000); // the first mapping the NAT made
      CHECK(r.server == "stun-a.example:3478");
      CHECK(w.warnings().empty());
      REQUIRE(!w.events.empty());
      CHECK(w.events.back().what == "NAT behaviour found");
      // Filtering waits for unanswered requests: none for EIF, one for ADF, two for APDF.
      const auto waits = filtering == nat_behaviour::endpoint_independent ? 0
                         : filtering == nat_behaviour::address_dependent  ? 1
                                                                          : 2;
      CHECK(w.now == time_point{} + waits * 39500ms);
    }
}

TEST_CASE("nat probe: the classic NATs by name") {
  struct named {
    nat_behaviour mapping, filtering;
    const char* name;
  };
  const named cases[] = {
      {nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent, "full cone"},
      {nat_behaviour::endpoint_independent, nat_behaviour::address_dependent, "restricted"},
      {nat_behaviour::endpoint_independent, nat_behaviour::address_and_port_dependent,
       "port restricted"},
      {nat_behaviour::address_dependent, nat_behaviour::address_dependent,
       "symmetric, address-dependent"},
      {nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent,
       "symmetric, address-and-port-dependent"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    world w;
    w.nat.mapping = c.mapping;
    w.nat.filtering = c.filtering;
    w.servers = {server_a()};
    w.run();
    CHECK(w.probe->result().mapping == c.mapping);
    CHECK(w.probe->result().filtering == c.filtering);
    CHECK(w.events.back().detail
          == "mapped 44.0.0.1:50000, mapping " + to_string(c.mapping) + ", filtering "
                 + to_string(c.filtering));
  }
}

TEST_CASE("nat probe: the requests of RFC 5780 4.3 and 4.4 go where they must, from the right "
          "socket, with fresh transaction ids") {
  // Symmetric (address-and-port-dependent) both ways: every test is needed.
  world w;
  w.nat.mapping = nat_behaviour::address_and_port_dependent;
  w.nat.filtering = nat_behaviour::address_and_port_dependent;
  w.servers = {server_a()};
  w.run();

  struct expected {
    stun::endpoint to;
    std::uint8_t socket;
    bool change_ip, change_port;
    std::size_t sends;
  };
  const expected tests[] = {
      {server_a_primary, 0, false, false, 1},                           // mapping I
      {{server_a_other.ip, server_a_primary.port}, 0, false, false, 1}, // mapping II
      {server_a_other, 0, false, false, 1},                             // mapping III
      {server_a_primary, 1, true, true, 7},                             // filtering II
      {server_a_primary, 1, false, true, 7},                            // filtering III
  };
  std::size_t at = 0;
  std::uint8_t id = 0;
  for (const auto& t : tests) {
    CAPTURE(at);
    ++id;
    for (std::size_t i = 0; i < t.sends; ++i, ++at) {
      REQUIRE(at < w.sent.size());
      const auto& d = w.sent[at].d;
      CHECK(d.to == t.to);
      CHECK(d.socket == t.socket);
      auto m = decoded_request(d);
      CHECK(m.id == counter_id(id)); // a new id per test, the same one when retransmitted
      CHECK(m.change_ip == t.change_ip);
      CHECK(m.change_port == t.change_port);
      CHECK(d.payload == w.sent[at - i].d.payload); // retransmissions are byte for byte the same
    }
  }
  CHECK(at == w.sent.size());
}

TEST_CASE("nat probe: a server without OTHER-ADDRESS and a second server at another address "
          "give the mapping by comparison, the filtering unknown") {
  struct expectation {
    nat_behaviour nat, found;
  };
  const expectation cases[] = {
      {nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent},
      // The two dependent mappings cannot be told apart: the stricter one is reported.
      {nat_behaviour::address_dependent, nat_behaviour::address_and_port_dependent},
      {nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent},
  };
  for (const auto& c : cases) {
    CAPTURE(to_string(c.nat));
    world w;
    w.nat.mapping = c.nat;
    w.nat.filtering = nat_behaviour::address_and_port_dependent;
    w.servers = {server_a(server_does::answer, false), server_b(server_does::answer, false)};
    w.run();
    const auto& r = w.probe->result();
    CHECK(r.mapping == c.found);
    CHECK(r.filtering == nat_behaviour::unknown);
    REQUIRE(r.mapped);
    CHECK(*r.mapped == stun::endpoint{public_ip, 50000});
    CHECK(r.server == "stun-a.example:3478");
    REQUIRE(w.sent.size() == 2);
    CHECK(w.sent[1].d.to == server_b_primary);
    CHECK(w.sent[1].d.socket == 0);
    CHECK_FALSE(decoded_request(w.sent[1].d).change_ip);
    CHECK(w.now == time_point{});
    CHECK(w.warnings().empty());
  }
}

TEST_CASE("nat probe: one server without OTHER-ADDRESS: mapping and filtering unknown, and an "
          "event says why") {
  world w;
  w.nat.mapping = nat_behaviour::endpoint_independent;
  w.servers = {server_a(server_does::answer, false)};
  w.run();
  const auto& r = w.probe->result();
  REQUIRE(r.mapped);
  CHECK(*r.mapped == stun::endpoint{public_ip, 50000});
  CHECK(r.mapping == nat_behaviour::unknown);
  CHECK(r.filtering == nat_behaviour::unknown);
  CHECK(w.sent.size() == 1);
  REQUIRE(w.events.size() == 2);
  CHECK(w.events[0].what == "NAT behaviour not determined");
  CHECK(w.events[0].server == "stun-a.example:3478");
  CHECK(w.events[0].detail.find("OTHER-ADDRESS") != std::string::npos);
  CHECK_FALSE(w.events[0].warning);
  CHECK(w.events[1].what == "NAT behaviour found");
}

TEST_CASE("nat probe: a second server at the same IP cannot stand in for OTHER-ADDRESS") {
  world w;
  w.nat.mapping = nat_behaviour::address_and_port_dependent;
  auto same_ip = server_b(server_does::answer, false);
  same_ip.primary = {server_a_primary.ip, 3479};
  w.servers = {server_a(server_does::answer, false), same_ip};
  w.run();
  CHECK(w.probe->result().mapping == nat_behaviour::unknown);
  CHECK(w.sent.size() == 1);
}

TEST_CASE("nat probe: retransmissions follow RFC 8489: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, "
          "given up at 39.5 s") {
  world w;
  w.servers = {server_a(server_does::silent)};
  w.make();
  w.probe->start(w.now);
  w.deliver();
  const std::int64_t sends[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
  for (std::size_t i = 0; i < std::size(sends); ++i) {
    CAPTURE(i);
    REQUIRE(w.sent.size() == i + 1);
    CHECK(w.sent[i].at == at_ms(sends[i]));
    CHECK(w.sent[i].d.payload == w.sent[0].d.payload);
    const auto next = i + 1 < std::size(sends) ? sends[i + 1] : 39500;
    REQUIRE(w.probe->next_wakeup());
    CHECK(*w.probe->next_wakeup() == at_ms(next));
    // A millisecond early nothing happens.
    w.now = at_ms(next - 1);
    w.probe->on_time(w.now);
    w.deliver();
    CHECK(w.sent.size() == i + 1);
    CHECK_FALSE(w.probe->done());
    w.now = at_ms(next);
    w.probe->on_time(w.now);
    w.deliver();
  }
  CHECK(w.sent.size() == 7);
  CHECK(w.probe->done());
  CHECK_FALSE(w.probe->result().mapped);
  REQUIRE(w.events.size() == 2);
  CHECK(w.events[0].warning);
  CHECK(w.events[0].what == "STUN server did not answer");
  CHECK(w.events[0].cause == "no-answer");
  CHECK(w.events[0].detail == "7 requests went unanswered");
  CHECK(w.events[1].what == "no STUN server answered");
  CHECK(w.events[1].detail == "1 servers tried");
}

TEST_CASE("nat probe: the retransmission schedule itself, with STUN's and other timings") {
  retransmission r{{}, time_point{}};
  std::vector<std::int64_t> sent;
  for (std::int64_t ms = 0; ms <= 40000; ms += 250) {
    if (r.send_due(at_ms(ms)))
      sent.push_back(ms);
    CHECK(r.expired(at_ms(ms)) == (ms >= 39500));
  }
  CHECK(sent == std::vector<std::int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500});
  CHECK(r.sends() == 7);

  // Three sends at 100 ms doubling, then 4 RTOs: given up at 100 + 200 + 400 = 700 ms.
  retransmission short_one{{100ms, 3, 4}, at_ms(1000)};
  CHECK(short_one.next_event() == at_ms(1000));
  CHECK(short_one.send_due(at_ms(1000)));
  CHECK_FALSE(short_one.send_due(at_ms(1099)));
  CHECK(short_one.send_due(at_ms(1100)));
  CHECK(short_one.next_event() == at_ms(1300));
  CHECK(short_one.send_due(at_ms(1300)));
  CHECK(short_one.next_event() == at_ms(1700));
  CHECK_FALSE(short_one.expired(at_ms(1699)));
  CHECK(short_one.expired(at_ms(1700)));
  CHECK_FALSE(short_one.send_due(at_ms(5000)));
}

TEST_CASE("nat probe: a silent server is given up after its retransmissions and the next one "
          "asked") {
  world w;
  w.servers = {server_a(server_does::silent), server_b()};
  w.run();
  const auto& r = w.probe->result();
  CHECK(r.server == "stun-b.example:3478");
  CHECK(r.servers_tried == 2);
  CHECK(r.mapping == nat_behaviour::endpoint_independent);
  CHECK(r.filtering == nat_behaviour::endpoint_independent);
  REQUIRE(w.sent.size() > 7);
  CHECK(w.sent[6].d.to == server_a_primary);
  CHECK(w.sent[7].d.to == server_b_primary);
  CHECK(w.sent[7].at == at_ms(39500));
  CHECK(decoded_request(w.sent[7].d).id == counter_id(2));
  auto warnings = w.warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].what == "STUN server did not answer");
  CHECK(warnings[0].server == "stun-a.example:3478");
  CHECK(warnings[0].cause == "no-answer");
}

TEST_CASE("nat probe: a server that answers badly is given up at once, with the cause") {
  struct bad {
    server_does does;
    const char* cause;
    const char* what;
  };
  const bad cases[] = {
      {server_does::garbage, "unreadable", "STUN server sent an unreadable answer"},
      {server_does::wrong_id, "wrong-transaction", "STUN server answered another transaction"},
      {server_does::error, "error", "STUN server answered with an error"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cause);
    world w;
    w.servers = {server_a(c.does), server_b()};
    w.run();
    CHECK(w.probe->result().server == "stun-b.example:3478");
    CHECK(w.probe->result().servers_tried == 2);
    CHECK(w.probe->result().mapping == nat_behaviour::endpoint_independent);
    REQUIRE(w.sent.size() >= 2);
    CHECK(w.sent[0].d.to == server_a_primary);
    CHECK(w.sent[1].d.to == server_b_primary);
    CHECK(w.sent[1].at == time_point{}); // no waiting
    auto warnings = w.warnings();
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].cause == c.cause);
    CHECK(warnings[0].what == c.what);
    CHECK(warnings[0].server == "stun-a.example:3478");
    CHECK_FALSE(warnings[0].detail.empty());
    if (c.does == server_does::error)
      CHECK(warnings[0].detail == "error 500 Server Error");
    CHECK(w.probe->ignored() == 0);
  }
}

TEST_CASE("nat probe: garbage from an address not asked is ignored and counted") {
  world w;
  w.servers = {server_a()};
  w.make();
  w.probe->start(w.now);
  auto out = w.probe->take_outgoing();
  REQUIRE(out.size() == 1);
  // Noise from a stranger: not STUN, then a well-formed answer to another transaction.
  w.probe->on_datagram(stranger, bytes{1, 2, 3, 4}, w.now);
  w.probe->on_datagram(
      stranger,
      stun::encode_binding_success(counter_id(77), {public_ip, 1}, std::nullopt, std::nullopt),
      w.now);
  CHECK(w.probe->ignored() == 2);
  CHECK(w.probe->take_events().empty());
  CHECK(w.probe->take_outgoing().empty());
  CHECK_FALSE(w.probe->done());
  // The server asked still answers and is believed.
  auto a = serve(w.nat, w.servers, out[0]);
  REQUIRE(a);
  w.probe->on_datagram(a->from, a->payload, w.now);
  w.deliver();
  CHECK(w.probe->done());
  CHECK(w.probe->result().server == "stun-a.example:3478");
  CHECK(w.probe->result().servers_tried == 1);
  CHECK(w.warnings().empty());
  CHECK(w.probe->ignored() == 2);
}

TEST_CASE("nat probe: every server failing ends the probe with no result") {
  world w;
  w.servers = {server_a(server_does::silent), server_b(server_does::garbage)};
  w.run();
  const auto& r = w.probe->result();
  CHECK_FALSE(r.mapped);
  CHECK(r.server.empty());
  CHECK(r.mapping == nat_behaviour::unknown);
  CHECK(r.filtering == nat_behaviour::unknown);
  CHECK(r.servers_tried == 2);
  CHECK(w.now == at_ms(39500)); // the garbage fails server B at once
  auto warnings = w.warnings();
  REQUIRE(warnings.size() == 3);
  CHECK(warnings[0].cause == "no-answer");
  CHECK(warnings[1].cause == "unreadable");
  CHECK(warnings[2].what == "no STUN server answered");
  CHECK(warnings[2].detail == "2 servers tried");
  CHECK(warnings[2].server.empty());
  // Late datagrams after the end are ignored.
  w.probe->on_datagram(server_a_primary, bytes{1, 2}, w.now);
  CHECK(w.probe->ignored() == 1);
  CHECK(w.probe->take_outgoing().empty());
}

TEST_CASE("nat probe: no server configured") {
  world w;
  w.run();
  CHECK(w.sent.empty());
  REQUIRE(w.events.size() == 1);
  CHECK(w.events[0].warning);
  CHECK(w.events[0].what == "no STUN server to ask");
}

TEST_CASE("nat probe: transaction ids come from the id source, in order") {
  world w;
  w.nat.mapping = nat_behaviour::address_dependent;
  w.nat.filtering = nat_behaviour::endpoint_independent;
  w.servers = {server_a()};
  w.run();
  // mapping I, II, III, filtering II: four requests, ids 1 to 4, each sent once.
  REQUIRE(w.sent.size() == 4);
  for (std::uint8_t i = 0; i < 4; ++i)
    CHECK(decoded_request(w.sent[i].d).id == counter_id(static_cast<std::uint8_t>(i + 1)));
}

TEST_CASE("nat probe: the other address not answering leaves the mapping unknown, and the "
          "filtering is still tested") {
  // A server that advertises an OTHER-ADDRESS nobody answers at: mapping II goes unanswered.
  world w;
  w.nat.mapping = nat_behaviour::endpoint_independent;
  w.nat.filtering = nat_behaviour::endpoint_independent;
  auto s = server_a();
  w.servers = {s};
  w.make();
  w.probe->start(w.now);
  auto first = w.probe->take_outgoing();
  REQUIRE(first.size() == 1);
  auto a = serve(w.nat, w.servers, first[0]);
  REQUIRE(a);
  w.servers[0].rfc5780 = false; // the other address goes dark; the answer still names it
  w.probe->on_datagram(a->from, a->payload, w.now);
  auto second = w.probe->take_outgoing();
  REQUIRE(second.size() == 1);
  CHECK(second[0].to == stun::endpoint{server_a_other.ip, server_a_primary.port});
  for (int i = 0; i < 6; ++i) { // the retransmissions
    w.now = *w.probe->next_wakeup();
    w.probe->on_time(w.now);
  }
  CHECK(w.probe->take_outgoing().size() == 6);
  CHECK(w.probe->take_events().empty());
  w.now = *w.probe->next_wakeup();
  CHECK(w.now == at_ms(39500));
  w.probe->on_time(w.now);
  auto events = w.probe->take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].warning);
  CHECK(events[0].what == "STUN server's other address did not answer");
  CHECK(w.probe->result().mapping == nat_behaviour::unknown);
  // Filtering II is next, from the second socket.
  auto filtering = w.probe->take_outgoing();
  REQUIRE(filtering.size() == 1);
  CHECK(filtering[0].socket == 1);
  CHECK(filtering[0].to == server_a_primary);
}

TEST_SUITE_END();

// The NAT mapper actor in the simulation harness, on virtual time: the production actor on the
// simulator's UDP internet (actors/simulation/udp_network: a NAT with RFC 4787 behaviours, an
// RFC 5780 STUN server, a PCP/NAT-PMP gateway) and a UPnP worker that answers from a table.
// What runs here is the actor's logic end to end — method order, renewal at half the lease,
// re-creation after a gateway restart, removal at exit, confirmation by peers, what the peer
// manager is told to advertise; tests/nat_e2e_test.cpp runs the same against real NATs.
#include "actors/nat_mapper.hpp"
#include "actors/simulation/udp_network.hpp"
#include "support/simulation.hpp"

#include <caf/stateful_actor.hpp>

#include <memory>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

const ip_bytes lan_ip = ipv4(10, 0, 0, 2);
const ip_bytes gateway_ip = ipv4(10, 0, 0, 1);
const ip_bytes public_ip = ipv4(44, 0, 0, 1);
const sim::endpoint stun_primary{ipv4(45, 0, 0, 1), 3478};
const sim::endpoint stun_alternate{ipv4(45, 0, 0, 2), 3479};
constexpr std::uint16_t p2p_port = 18444;

/// Collects what the NAT mapper tells its subscriber.
struct collector_state {
  std::shared_ptr<std::vector<self_advertisement>> seen;
};

advertisement_subscriber_actor::behavior_type
collector(advertisement_subscriber_actor::stateful_pointer<collector_state> self,
          std::shared_ptr<std::vector<self_advertisement>> seen) {
  self->state.seen = std::move(seen);
  return {[self](advertise_atom, const self_advertisement& a) { self->state.seen->push_back(a); }};
}

/// A UPnP worker that maps whatever it is asked (the gateway's side is the e2e test's).
struct table_upnp_state {
  std::shared_ptr<std::vector<upnp_mapping_request>> asked;
};

upnp_worker_actor::behavior_type
table_upnp(upnp_worker_actor::stateful_pointer<table_upnp_state> self,
           std::shared_ptr<std::vector<upnp_mapping_request>> asked) {
  self->state.asked = std::move(asked);
  return {
      [self](map_atom, const upnp_mapping_request& r) {
        self->state.asked->push_back(r);
        upnp_mapping_result result;
        result.ok = true;
        result.external_ip = public_ip;
        result.external_port = r.external_port;
        result.lease_seconds = r.lease_seconds;
        return result;
      },
      [](delete_atom, std::uint16_t) { return true; },
  };
}

struct nat_fixture : test::simulation {
  std::shared_ptr<sim::udp_network> net;
  std::shared_ptr<sim::gateway_model> gateway;
  std::shared_ptr<std::vector<self_advertisement>> seen =
      std::make_shared<std::vector<self_advertisement>>();
  std::shared_ptr<std::vector<upnp_mapping_request>> upnp_asked =
      std::make_shared<std::vector<upnp_mapping_request>>();
  nat_mapper_config config;
  bool with_gateway = true;
  std::shared_ptr<dns_resolver> resolver_override; ///< for STUN server names

  void network(nat_behaviour mapping, nat_behaviour filtering, bool rfc5780 = true) {
    net = std::make_shared<sim::udp_network>(
        sim::udp_network::nat_model{mapping, filtering, public_ip});
    sim::add_stun_server(*net, stun_primary, stun_alternate, rfc5780);
    config.settings.enabled = true;
    config.settings.stun_servers = {"45.0.0.1:3478"};
    config.settings.pcp = config.settings.natpmp = config.settings.upnp = false;
    config.settings.lease_time = 120s;
    config.settings.stun_timeout = 100ms;
    config.settings.stun_sends = 3;
    config.listen_port = p2p_port;
    config.seed = 7;
  }

  void gateway_speaks(bool pcp, bool natpmp, std::uint32_t max_lifetime = 3600) {
    gateway =
        std::make_shared<sim::gateway_model>(gateway_ip, public_ip, pcp, natpmp, max_lifetime,
                                             [clock = &sched.clock()] { return clock->now(); });
    net->add_service({gateway_ip, 5351}, gateway->service(), true);
  }

  nat_environment environment(bool no_nat = false) {
    nat_environment env;
    env.open_port = [n = net, no_nat](std::string&) {
      return n->open(no_nat ? public_ip : lan_ip);
    };
    env.gateway = [this]() -> std::optional<ip_bytes> {
      if (!with_gateway)
        return std::nullopt;
      return gateway_ip;
    };
    env.local_toward = [no_nat](const ip_bytes&) { return no_nat ? public_ip : lan_ip; };
    env.local_addresses = [no_nat] { return std::vector{no_nat ? public_ip : lan_ip}; };
    env.resolver = resolver_override;
    env.start_upnp = [asked = upnp_asked](caf::local_actor* self) {
      return self->spawn<caf::linked>(table_upnp, asked);
    };
    return env;
  }

  nat_actor start(bool no_nat = false) {
    auto nat = own(sys.spawn(nat_mapper, config, environment(no_nat)));
    auto who = own(sys.spawn(collector, seen));
    self->send(nat, subscribe_atom::value, advertisement_subscriber_actor{who});
    run();
    return nat;
  }

  status_report status(const nat_actor& nat) {
    return *request<status_report>(nat, status_atom::value, status_verbosity::info);
  }

  std::string field(const nat_actor& nat, const char* key) {
    return caf::get_or(status(nat), key, std::string{});
  }
};

std::string endpoint_text(const self_advertisement& a) {
  return format_endpoint(a.ip, a.port);
}

} // namespace

TEST_SUITE_BEGIN("nat");

TEST_CASE_FIXTURE(nat_fixture, "a full-cone NAT is classified and its listening port advertised") {
  network(nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent);
  auto nat = start();
  advance_in_steps(3s, 10ms);
  CHECK(field(nat, "type") == "full-cone");
  CHECK(field(nat, "mapping") == "endpoint-independent");
  CHECK(field(nat, "filtering") == "endpoint-independent");
  REQUIRE(!seen->empty());
  CHECK(seen->back().reachable);
  CHECK(seen->back().source == "full-cone");
  CHECK(endpoint_text(seen->back()) == "44.0.0.1:18444");
}

TEST_CASE_FIXTURE(nat_fixture, "every RFC 4787 NAT is classified as RFC 5780 says") {
  struct row {
    nat_behaviour mapping, filtering;
    const char* type;
  };
  using b = nat_behaviour;
  for (auto r :
       {row{b::endpoint_independent, b::address_dependent, "restricted-cone"},
        row{b::endpoint_independent, b::address_and_port_dependent, "port-restricted-cone"},
        row{b::address_dependent, b::address_and_port_dependent, "symmetric"},
        row{b::address_and_port_dependent, b::address_and_port_dependent, "symmetric"}}) {
    CAPTURE(r.type);
    network(r.mapping, r.filtering);
    auto nat = start();
    advance_in_steps(5s, 10ms);
    CHECK(field(nat, "type") == r.type);
    CHECK(field(nat, "mapping") == to_string(r.mapping));
    CHECK(field(nat, "filtering") == to_string(r.filtering));
    // Behind a NAT that does not let peers in, with no gateway to map the port: not advertised.
    REQUIRE(!seen->empty());
    CHECK(seen->back().known);
    CHECK_FALSE(seen->back().reachable);
    caf::anon_send_exit(nat, caf::exit_reason::user_shutdown);
    run();
    seen->clear();
  }
}

TEST_CASE_FIXTURE(nat_fixture, "no NAT: the mapped address is our own") {
  network(nat_behaviour::no_nat, nat_behaviour::endpoint_independent);
  auto nat = start(true);
  advance_in_steps(2s, 10ms);
  CHECK(field(nat, "type") == "none");
  REQUIRE(!seen->empty());
  CHECK(seen->back().source == "no-nat");
  CHECK(endpoint_text(seen->back()) == "44.0.0.1:18444");
}

TEST_CASE_FIXTURE(nat_fixture, "PCP maps the port, renews at half the lease, and re-creates it "
                               "after the gateway restarts") {
  network(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent);
  config.settings.pcp = config.settings.natpmp = config.settings.upnp = true;
  gateway_speaks(true, true, 60); // grants at most 60 s of the 120 asked
  auto nat = start();
  advance_in_steps(3s, 10ms);
  CHECK(field(nat, "port-mapping") == "pcp");
  CHECK(gateway->pcp_requests == 1);
  CHECK(gateway->mappings().count(p2p_port) == 1);
  REQUIRE(!seen->empty());
  CHECK(seen->back().source == "pcp");
  CHECK(endpoint_text(seen->back()) == "44.0.0.1:18444");
  // Renewal at half the granted 60 s, not the 120 asked: one more request by 31 s, not before 29.
  advance_in_steps(25s, 100ms);
  CHECK(gateway->pcp_requests == 1);
  advance_in_steps(4s, 100ms);
  CHECK(gateway->pcp_requests == 2);
  // The router restarts and forgets the mapping; the next renewal brings it back.
  gateway->restart();
  CHECK(gateway->mappings().empty());
  advance_in_steps(31s, 100ms);
  CHECK(gateway->pcp_requests == 3);
  CHECK(gateway->mappings().count(p2p_port) == 1);
  CHECK(field(nat, "port-mapping") == "pcp");
  // A clean stop removes it (a lifetime-0 request).
  caf::anon_send_exit(nat, caf::exit_reason::user_shutdown);
  run();
  CHECK(gateway->deletions == 1);
  CHECK(gateway->mappings().empty());
}

TEST_CASE_FIXTURE(nat_fixture, "a NAT-PMP-only gateway: PCP first, then NAT-PMP") {
  network(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent);
  config.settings.pcp = config.settings.natpmp = config.settings.upnp = true;
  gateway_speaks(false, true);
  auto nat = start();
  advance_in_steps(3s, 10ms);
  CHECK(field(nat, "port-mapping") == "natpmp");
  CHECK(gateway->natpmp_requests == 2); // external address, then the mapping
  CHECK(upnp_asked->empty());
  REQUIRE(!seen->empty());
  CHECK(seen->back().source == "natpmp");
}

TEST_CASE_FIXTURE(nat_fixture, "no PCP or NAT-PMP gateway: UPnP maps the port") {
  network(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent);
  config.settings.pcp = config.settings.natpmp = config.settings.upnp = true;
  auto nat = start(); // nothing answers on the gateway's port 5351
  advance_in_steps(10s, 10ms);
  CHECK(field(nat, "port-mapping") == "upnp");
  REQUIRE(upnp_asked->size() == 1);
  CHECK(upnp_asked->front().internal_port == p2p_port);
  CHECK(upnp_asked->front().internal_ip == lan_ip);
  CHECK(upnp_asked->front().lease_seconds == 120);
  REQUIRE(!seen->empty());
  CHECK(seen->back().source == "upnp");
  // Renewed at half the lease.
  advance_in_steps(61s, 100ms);
  CHECK(upnp_asked->size() == 2);
}

TEST_CASE_FIXTURE(nat_fixture, "no gateway at all: STUN alone, and the node keeps running") {
  network(nat_behaviour::endpoint_independent, nat_behaviour::address_and_port_dependent);
  config.settings.pcp = config.settings.natpmp = true;
  with_gateway = false;
  auto nat = start();
  advance_in_steps(5s, 10ms);
  CHECK(field(nat, "port-mapping") == "none");
  CHECK(field(nat, "type") == "port-restricted-cone");
  REQUIRE(!seen->empty());
  CHECK(seen->back().known);
  CHECK_FALSE(seen->back().reachable);
}

TEST_CASE_FIXTURE(nat_fixture, "an address is confirmed when enough distinct peers agree") {
  network(nat_behaviour::address_and_port_dependent, nat_behaviour::address_and_port_dependent);
  config.settings.confirmations = 3;
  auto nat = start();
  advance_in_steps(2s, 10ms);
  auto observe = [&](ip_bytes seen_ip, ip_bytes peer) {
    self->send(nat, observed_atom::value, seen_ip, std::uint16_t{50000}, peer);
    run();
  };
  observe(public_ip, ipv4(50, 0, 0, 1));
  observe(public_ip, ipv4(50, 0, 0, 1)); // the same peer twice counts once
  observe(public_ip, ipv4(51, 0, 0, 1));
  CHECK_FALSE(caf::get_or(status(nat), "confirmed", false));
  observe(ipv4(60, 0, 0, 1), ipv4(52, 0, 0, 1)); // a dissenting peer
  observe(public_ip, ipv4(53, 0, 0, 1));
  CHECK(caf::get_or(status(nat), "confirmed", false));
  CHECK(caf::get_or(status(nat), "peers-agreeing", std::int64_t{0}) == 3);
  CHECK(field(nat, "peers-see") == "44.0.0.1");
}

TEST_CASE_FIXTURE(nat_fixture, "peers agreeing on one of our own addresses make it reachable "
                               "when STUN is off") {
  network(nat_behaviour::no_nat, nat_behaviour::endpoint_independent);
  config.settings.stun = false;
  auto nat = start(true);
  for (std::uint8_t i = 1; i <= 3; ++i)
    self->send(nat, observed_atom::value, public_ip, std::uint16_t{50000}, ipv4(50, 0, i, 1));
  run();
  REQUIRE(!seen->empty());
  CHECK(seen->back().reachable);
  CHECK(seen->back().source == "peers");
  CHECK(endpoint_text(seen->back()) == "44.0.0.1:18444");
}

TEST_CASE_FIXTURE(nat_fixture, "STUN server names are resolved again for every round") {
  network(nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent);
  config.settings.stun_servers = {"stun.sim.test:3478"};
  config.settings.probe_interval = 60s;
  auto resolver = std::make_shared<table_resolver>(10ms);
  resolver_override = resolver;
  auto nat = start(); // the name does not resolve yet (NXDOMAIN): nothing to ask
  advance_in_steps(2s, 10ms);
  CHECK(net->received(stun_primary) == 0);
  CHECK(field(nat, "type") == "unknown");
  table_resolver::entry a;
  a.records.push_back(dns_record{stun_primary.ip, "", 0, ""});
  resolver->set("stun.sim.test", dns_type::a, a);
  advance_in_steps(61s, 100ms); // the next round resolves it and asks
  CHECK(net->received(stun_primary) >= 1);
  CHECK(field(nat, "type") == "full-cone");
  CHECK(resolver->queries() == 2);
}

TEST_CASE_FIXTURE(nat_fixture, "the NAT mapper off: nothing is probed, nothing advertised") {
  network(nat_behaviour::endpoint_independent, nat_behaviour::endpoint_independent);
  config.settings.enabled = false;
  auto nat = start();
  advance_in_steps(3s, 10ms);
  CHECK(net->received(stun_primary) == 0);
  CHECK(field(nat, "state") == "off");
  REQUIRE(seen->size() == 1);
  CHECK_FALSE(seen->front().known);
}

TEST_SUITE_END();

#include "actors/nat_mapper.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "actors/upnp_worker.hpp"
#include "messages/errors.hpp"
#include "runtime/nat/advertisement.hpp"

#include <caf/actor_cast.hpp>

namespace qtc {

namespace {

using clock_type = std::chrono::steady_clock;

void on_tick(nat_mapper_pointer self);

bool probing_on(const nat_mapper_state& st) {
  return st.config.settings.enabled && st.config.settings.stun;
}

bool mapping_on(const nat_mapper_state& st) {
  const auto& s = st.config.settings;
  return s.enabled && (s.pcp || s.natpmp || s.upnp) && st.config.listen_port != 0;
}

/// Logs what the probe or the mapper has to say, and counts it.
void report_events(nat_mapper_pointer self, const std::vector<nat::probe_event>& events) {
  auto& st = self->state;
  for (const auto& e : events) {
    log_fields fields;
    if (!e.server.empty())
      fields.emplace_back("server", e.server);
    if (!e.detail.empty())
      fields.emplace_back("detail", e.detail);
    st.log.log(e.warning ? log_level::warning : log_level::info, e.what, std::move(fields));
    if (!e.cause.empty())
      st.metrics.count(metric_names::nat_stun_failures_total, {{"cause", e.cause}});
    if (!e.mapping_result.empty())
      st.metrics.count(metric_names::nat_port_mappings_total,
                       {{"method", e.method}, {"result", e.mapping_result}});
  }
}

/// Sets quantumcoin_nat_info to 1 on the current behaviour and 0 on the series it replaces.
void update_info_metric(nat_mapper_pointer self) {
  auto& st = self->state;
  auto mapping = st.last_probe ? st.last_probe->mapping : nat_behaviour::unknown;
  auto filtering = st.last_probe ? st.last_probe->filtering : nat_behaviour::unknown;
  auto method =
      st.mapper && st.mapper->mapping() ? st.mapper->mapping()->method : port_mapping_method::none;
  metric_labels now{{"mapping", to_string(mapping)},
                    {"filtering", to_string(filtering)},
                    {"type", nat::nat_type_name(mapping, filtering)},
                    {"method", to_string(method)}};
  if (now == st.info_labels)
    return;
  if (!st.info_labels.empty())
    st.metrics.gauge(metric_names::nat_info, st.info_labels, 0);
  st.info_labels = now;
  st.metrics.gauge(metric_names::nat_info, now, 1);
}

/// Sets one of the unlabelled NAT gauges when its value changed (this runs on every tick).
void set_gauge(nat_mapper_pointer self, std::size_t slot, const char* family, double value) {
  auto& sent = self->state.gauges_sent[slot];
  if (sent == value)
    return;
  sent = value;
  self->state.metrics.gauge(family, {}, value);
}

std::int64_t unix_seconds_at(nat_mapper_pointer self, clock_type::time_point at) {
  auto left = at - self->clock().now();
  auto unix_now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::seconds>(unix_now + left).count();
}

/// Decides what to advertise; tells the subscriber when it changed.
void update_advertisement(nat_mapper_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  nat::advertisement_inputs in;
  in.probe = st.last_probe ? &*st.last_probe : nullptr;
  const auto* mapping = st.mapper ? &st.mapper->mapping() : nullptr;
  in.mapping = mapping && *mapping ? &**mapping : nullptr;
  in.peers_confirmed = st.votes.confirmed(st.config.settings.confirmations, now);
  in.local = st.local;
  in.listen_port = st.config.listen_port;
  in.mapping_given_up = !st.mapper || st.mapper->failed();
  auto adv = st.config.settings.enabled ? nat::decide_advertisement(in) : self_advertisement{};
  update_info_metric(self);
  set_gauge(self, 0, metric_names::nat_reachable, adv.reachable ? 1 : 0);
  set_gauge(self, 1, metric_names::nat_mapping_expiry,
            in.mapping && in.mapping->lease.count() > 0 ? static_cast<double>(
                unix_seconds_at(self, in.mapping->obtained + in.mapping->lease))
                                                        : 0.0);
  set_gauge(self, 2, metric_names::nat_address_confirmations,
            adv.reachable ? static_cast<double>(st.votes.agreeing(adv.ip, now)) : 0.0);
  if (adv == st.advertised)
    return;
  st.advertised = adv;
  if (!adv.known)
    st.log.info("external address unknown; the listening address is advertised if usable");
  else if (!adv.reachable)
    st.log.warning("not reachable from outside; not advertising this node",
                   {{"nat", st.last_probe ? nat::nat_type_name(st.last_probe->mapping,
                                                               st.last_probe->filtering)
                                          : "unknown"}});
  else
    st.log.info("advertising external address",
                {{"address", format_endpoint(adv.ip, adv.port)}, {"source", adv.source}});
  if (st.subscriber)
    self->send(st.subscriber, advertise_atom::value, adv);
}

/// Sends each datagram from `ports[d.socket]`.
void send_all(std::initializer_list<udp_port*> ports, std::vector<nat::outgoing_datagram> out,
              const logger& log) {
  for (auto& d : out) {
    std::string error;
    auto* port = d.socket < ports.size() ? ports.begin()[d.socket] : nullptr;
    if (port == nullptr || !port->send(d.to.ip, d.to.port, d.payload, error))
      log.debug("datagram not sent",
                {{"to", format_endpoint(d.to.ip, d.to.port)}, {"reason", error}});
  }
}

/// Hands a UPnP mapping request to the worker (started on first use) and feeds back its answer.
void ask_upnp(nat_mapper_pointer self, upnp_mapping_request request) {
  auto& st = self->state;
  if (!st.upnp)
    st.upnp = st.env.start_upnp(self);
  // The worker bounds each miniupnpc step; this covers discovery plus a few SOAP calls.
  self->request(st.upnp, std::chrono::seconds{60}, map_atom::value, request)
      .then(
          [self](const upnp_mapping_result& r) {
            self->state.mapper->on_upnp_result(r, self->clock().now());
            on_tick(self);
          },
          [self](const caf::error& err) {
            upnp_mapping_result r;
            r.error = "the UPnP worker did not answer: " + render_error(err);
            self->state.mapper->on_upnp_result(r, self->clock().now());
            on_tick(self);
          });
}

void start_probe(nat_mapper_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.next_probe = now + st.config.settings.probe_interval;
  std::vector<nat::stun_server> servers;
  for (const auto& s : st.servers)
    servers.push_back(s);
  nat::retransmission_timing timing{st.config.settings.stun_timeout, st.config.settings.stun_sends,
                                    16};
  st.local = st.env.local_addresses();
  st.probe.emplace(std::move(servers), st.local, timing, [self] {
    stun::transaction_id id;
    for (auto& b : id)
      b = static_cast<std::uint8_t>(self->state.rng());
    return id;
  });
  ++st.rounds;
  st.probe->start(now);
}

/// Resolves the configured STUN servers (literal addresses at once, names through the
/// resolver); the probe starts when every name has an answer.
void resolve_servers(nat_mapper_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (const auto& text : st.config.settings.stun_servers) {
    std::string error;
    auto entry = parse_address_entry(text, error); // checked when the chain spec was read
    if (!entry)
      continue;
    if (auto ip = parse_ip(entry->host)) {
      st.servers.push_back({text, {*ip, entry->port}});
      continue;
    }
    if (!st.env.resolver) {
      st.log.warning("STUN server name not resolved",
                     {{"server", text}, {"reason", "no resolver"}});
      continue;
    }
    st.resolving[st.env.resolver->query(entry->host, dns_type::a, now)] = text;
  }
}

/// Takes the resolver's answers, in the configured order once all are in.
void poll_resolver(nat_mapper_pointer self) {
  auto& st = self->state;
  if (st.resolving.empty() || !st.env.resolver)
    return;
  for (const auto& a : st.env.resolver->poll(self->clock().now())) {
    auto i = st.resolving.find(a.id);
    if (i == st.resolving.end())
      continue;
    auto text = i->second;
    st.resolving.erase(i);
    if (a.failure != dns_failure::none || a.records.empty()) {
      st.log.warning("STUN server name not resolved",
                     {{"server", text}, {"reason", to_string(a.failure)}, {"detail", a.detail}});
      continue;
    }
    std::string error;
    auto entry = parse_address_entry(text, error);
    st.servers.push_back({text, {a.records.front().ip, entry->port}});
  }
  if (!st.resolving.empty())
    return;
  // Back in the configured order (names resolve in any order).
  const auto& order = st.config.settings.stun_servers;
  std::stable_sort(st.servers.begin(), st.servers.end(), [&](const auto& a, const auto& b) {
    return std::find(order.begin(), order.end(), a.name)
           < std::find(order.begin(), order.end(), b.name);
  });
}

void poll_sockets(nat_mapper_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto* port : {st.stun_port.get(), st.filter_port.get()})
    if (port != nullptr)
      for (auto& d : port->poll())
        if (st.probe)
          st.probe->on_datagram({d.from_ip, d.from_port}, d.payload, now);
  if (st.gateway_port)
    for (auto& d : st.gateway_port->poll())
      if (st.mapper)
        st.mapper->on_datagram({d.from_ip, d.from_port}, d.payload, now);
}

/// The probe round ended: keep its result, unless no server answered and an earlier round did
/// (a passing outage should not make a reachable node stop advertising itself).
void finish_probe(nat_mapper_pointer self) {
  auto& st = self->state;
  const auto& r = st.probe->result();
  if (r.mapped || !st.last_probe)
    st.last_probe = r;
  st.probe.reset();
}

void schedule_tick(nat_mapper_pointer self) {
  auto& st = self->state;
  if (st.ticking)
    return;
  auto now = self->clock().now();
  bool busy = !st.resolving.empty() || (st.probe && !st.probe->done())
              || (st.mapper && st.mapper->next_wakeup()
                  && *st.mapper->next_wakeup() <= now + st.config.idle_tick);
  st.ticking = true;
  self->delayed_send(self,
                     busy ? clock_type::duration{st.config.poll_interval}
                          : clock_type::duration{st.config.idle_tick},
                     tick_atom::value);
}

void on_tick(nat_mapper_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  poll_resolver(self);
  poll_sockets(self);
  if (probing_on(st) && !st.probe && now >= st.next_probe) {
    // Each round resolves the server names again (their addresses change; a name that did not
    // resolve at start, with the network not up yet, gets another chance).
    if (!st.resolved_for_round) {
      st.servers.clear();
      resolve_servers(self);
      st.resolved_for_round = true;
    }
    if (st.resolving.empty()) {
      st.resolved_for_round = false;
      start_probe(self);
    }
  }
  if (st.probe) {
    st.probe->on_time(now);
    send_all({st.stun_port.get(), st.filter_port.get()}, st.probe->take_outgoing(), st.log);
    report_events(self, st.probe->take_events());
    if (st.probe->done())
      finish_probe(self);
  }
  if (st.mapper) {
    st.mapper->on_time(now);
    send_all({st.gateway_port.get()}, st.mapper->take_outgoing(), st.log);
    if (auto request = st.mapper->take_upnp_request())
      ask_upnp(self, *request);
    report_events(self, st.mapper->take_events());
  }
  update_advertisement(self);
}

/// Opens the sockets and starts resolving and mapping.
void start(nat_mapper_pointer self) {
  auto& st = self->state;
  st.local = st.env.local_addresses();
  auto open = [&](const char* what) -> std::shared_ptr<udp_port> {
    std::string error;
    auto port = st.env.open_port(error);
    if (!port)
      st.log.error("cannot open a UDP socket", {{"for", what}, {"reason", error}});
    return std::shared_ptr<udp_port>(std::move(port));
  };
  if (probing_on(st)) {
    st.stun_port = open("STUN");
    st.filter_port = open("STUN filtering tests");
  }
  if (!mapping_on(st))
    return;
  st.gateway_port = open("PCP and NAT-PMP");
  auto gateway = st.env.gateway();
  auto local = st.env.local_toward(gateway ? *gateway : ipv4(192, 0, 2, 1));
  nat::port_mapping_config pm;
  pm.pcp = st.config.settings.pcp;
  pm.natpmp = st.config.settings.natpmp;
  pm.upnp = st.config.settings.upnp;
  pm.lease = st.config.settings.lease_time;
  pm.retry_after = st.config.settings.mapping_retry;
  st.log.info("mapping the P2P port", {{"port", std::to_string(st.config.listen_port)},
                                       {"gateway", gateway ? format_ip(*gateway) : "none"},
                                       {"local", local ? format_ip(*local) : "unknown"}});
  st.mapper = std::make_shared<nat::port_mapper>(
      pm, gateway, local.value_or(ip_bytes{}), st.config.listen_port, [self] {
        nat::pcp_nonce nonce;
        for (auto& b : nonce)
          b = static_cast<std::uint8_t>(self->state.rng());
        return nonce;
      });
  st.mapper->start(self->clock().now());
}

/// Asked to stop (the node shutting down): a UPnP mapping is removed by the worker first — the
/// supervisor waits for us up to the child's shutdown timeout, longer than the request's — and a
/// PCP or NAT-PMP one by the hook below. The worker failing is not our end: it is started again
/// when the mapper next needs it, and the mapping attempt it held fails.
void on_exit_message(nat_mapper_pointer self, caf::exit_msg& msg) {
  auto& st = self->state;
  if (st.upnp && msg.source == st.upnp.address()) {
    st.log.warning("UPnP worker stopped", {{"reason", render_error(msg.reason)}});
    st.upnp = nullptr;
    if (st.mapper)
      st.mapper->on_upnp_result({false, "the UPnP worker stopped", {}, 0, 0}, self->clock().now());
    return;
  }
  const auto* held = st.mapper ? &st.mapper->mapping() : nullptr;
  if (!st.upnp || !held || !*held || (*held)->method != port_mapping_method::upnp) {
    self->quit(msg.reason);
    return;
  }
  self->request(st.upnp, nat_upnp_removal_timeout, delete_atom::value, (*held)->external_port)
      .then([self, reason = msg.reason](bool) mutable { self->quit(std::move(reason)); },
            [self, reason = msg.reason](const caf::error&) mutable {
              self->quit(std::move(reason));
            });
}

/// On the way out: the gateway forgets our PCP or NAT-PMP mapping (the UPnP worker removes its
/// own). One datagram, not waited for: a stopping node cannot wait for a gateway.
void remove_mapping_on_exit(nat_mapper_pointer self) {
  self->attach_functor(
      [mapper = self->state.mapper, port = self->state.gateway_port, log = self->state.log] {
        if (!mapper || !mapper->mapping())
          return;
        auto held = *mapper->mapping();
        auto out = mapper->removal();
        if (out.empty())
          return;
        send_all({port.get()}, std::move(out), log);
        log.info("port mapping removed", {{"method", to_string(held.method)},
                                          {"external_port", std::to_string(held.external_port)}});
      });
}

status_report nat_status(nat_mapper_pointer self, status_verbosity v) {
  auto& st = self->state;
  auto now = self->clock().now();
  status_report r;
  report(r, "name", "nat");
  const auto& s = st.config.settings;
  report(r, "state", !s.enabled ? "off" : st.advertised.known ? "ready" : "probing");
  if (st.last_probe) {
    const auto& p = *st.last_probe;
    report(r, "mapping", to_string(p.mapping));
    report(r, "filtering", to_string(p.filtering));
    report(r, "type", nat::nat_type_name(p.mapping, p.filtering));
    report(r, "stun-server", p.server);
    if (p.mapped)
      report(r, "stun-address", format_endpoint(p.mapped->ip, p.mapped->port));
  }
  report(r, "probe-rounds", st.rounds);
  if (st.mapper) {
    report(r, "port-mapping-trying", to_string(st.mapper->trying()));
    if (const auto& m = st.mapper->mapping()) {
      report(r, "port-mapping", to_string(m->method));
      report(r, "port-mapping-external", format_endpoint(m->external_ip, m->external_port));
      report(r, "port-mapping-lease-seconds", m->lease.count());
      if (m->lease.count() > 0)
        report(
            r, "port-mapping-expires-in-seconds",
            std::chrono::duration_cast<std::chrono::seconds>(m->obtained + m->lease - now).count());
    } else {
      report(r, "port-mapping", "none");
    }
  }
  report(r, "advertised",
         st.advertised.reachable
             ? format_endpoint(st.advertised.ip, st.advertised.port)
             : std::string{st.advertised.known ? "none (unreachable)" : "unknown"});
  report(r, "advertised-source", st.advertised.source);
  if (auto l = st.votes.leader(now)) {
    report(r, "peers-see", format_ip(l->first));
    report(r, "peers-agreeing", l->second);
    report(r, "confirmed", l->second >= s.confirmations);
  }
  report(r, "peers-reporting", st.votes.observers());
  if (v != status_verbosity::info) {
    caf::config_value::list servers;
    for (const auto& srv : st.servers)
      servers.emplace_back(srv.name + " = " + format_endpoint(srv.address.ip, srv.address.port));
    report(r, "stun-servers", std::move(servers));
  }
  return r;
}

} // namespace

nat_actor::behavior_type nat_mapper(nat_mapper_pointer self, nat_mapper_config config,
                                    nat_environment env) {
  auto& st = self->state;
  st.log = logger{self->system(), "nat"};
  st.metrics = metrics_client{self->system()};
  st.config = std::move(config);
  st.env = std::move(env);
  st.rng.seed(st.config.seed != 0 ? st.config.seed : std::random_device{}());
  if (!st.config.settings.enabled) {
    st.log.info("NAT mapper off (chain spec nat.enabled = false); counting what peers see");
  } else {
    if (st.config.listen_port == 0)
      st.log.warning("P2P port not known; no port mapping");
    start(self);
    remove_mapping_on_exit(self);
    self->set_exit_handler([self](caf::exit_msg& msg) { on_exit_message(self, msg); });
    st.ticking = true;
    self->send(self, tick_atom::value);
  }
  return {
      [self](status_atom, status_verbosity v) { return nat_status(self, v); },
      [self](subscribe_atom, advertisement_subscriber_actor who) {
        self->state.subscriber = who;
        self->send(who, advertise_atom::value, self->state.advertised);
      },
      [self](observed_atom, const std::array<std::uint8_t, 16>& seen, std::uint16_t,
             const std::array<std::uint8_t, 16>& peer) {
        auto& st = self->state;
        if (!usable_peer_address(seen, st.config.allow_private))
          return; // a peer naming loopback or nonsense says nothing about our address
        st.votes.add(seen, peer, self->clock().now());
        if (st.config.settings.enabled)
          update_advertisement(self);
      },
      [self](tick_atom) {
        self->state.ticking = false;
        on_tick(self);
        schedule_tick(self);
      },
  };
}

nat_environment host_nat_environment(std::shared_ptr<dns_resolver> resolver) {
  nat_environment env;
  env.open_port = [](std::string& error) { return open_udp_port(ipv4(0, 0, 0, 0), 0, error); };
  env.gateway = [] { return default_gateway_v4(); };
  env.local_toward = [](const ip_bytes& dest) { return local_address_toward(dest); };
  env.local_addresses = [] { return local_interface_addresses(); };
  env.resolver = std::move(resolver);
  env.start_upnp = [](caf::local_actor* self) {
    return self->spawn<caf::detached + caf::linked>(upnp_worker, upnp_worker_options{});
  };
  return env;
}

} // namespace qtc

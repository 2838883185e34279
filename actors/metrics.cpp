#include "actors/metrics.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/service_entry.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "messages/transport_error.hpp"

#include <caf/actor_registry.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>

namespace qtc {

metrics_state::~metrics_state() {
  http.reset(); // stop the HTTP threads before the registry they read goes away
}

namespace {

std::map<std::string, std::string> to_map(const metric_labels& labels) {
  return {labels.begin(), labels.end()};
}

/// The buckets of every histogram: handling times from 10 µs (a small headers message) to 1 s (a
/// stalled actor), in seconds.
prometheus::Histogram::BucketBoundaries handling_buckets() {
  return {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0};
}

/// Series of bounded label sets start at zero, so that a scrape (and `rate()`, and a dashboard
/// built against a scrape) sees them before the first event: every offence kind and verdict,
/// every seed record type and result, both connection results, the post-quantum outcomes.
void initialize_label_sets(metrics_state& st) {
  namespace m = metric_names;
  for (std::size_t k = 0; k < offence_count; ++k) {
    auto kind = to_string(static_cast<offence>(k));
    st.counters[m::security_offences_total]->Add({{"kind", kind}});
    st.counters[m::security_bans_total]->Add({{"offence", kind}});
  }
  for (auto v :
       {verdict::warn, verdict::throttle, verdict::discourage, verdict::ban, verdict::ban_forever})
    st.counters[m::security_verdicts_total]->Add({{"verdict", to_string(v)}});
  for (const char* type : {"A", "AAAA", "SRV", "TXT"})
    for (const char* result : {"answered", "failed"})
      st.counters[m::dns_queries_total]->Add({{"type", type}, {"result", result}});
  for (const char* result : {"connected", "failed"})
    st.counters[m::connection_attempts_total]->Add({{"result", result}});
  for (const char* direction : {"inbound", "outbound"})
    for (const char* transport : {"noise", "tls"})
      st.gauges[m::peers]->Add({{"direction", direction}, {"transport", transport}});
  for (std::size_t r = 1; r < close_reason_count; ++r)
    st.counters[m::handshake_failures_total]->Add(
        {{"reason", to_string(static_cast<close_reason>(r))}});
  st.counters[m::security_bans_total]->Add({{"offence", "manual"}});
  for (const char* request : {"read", "action"})
    st.counters[m::inspector_refusals_total]->Add({{"request", request}});
  for (std::size_t c = 0; c < command_label_count; ++c)
    for (const char* direction : {"sent", "received"}) {
      std::map<std::string, std::string> labels{{"direction", direction},
                                                {"command", std::string{command_label(c)}}};
      st.counters[m::messages_total]->Add(labels);
      st.counters[m::message_bytes_total]->Add(labels);
    }
  for (auto e : {transport_error::peer_not_post_quantum,
                 transport_error::peer_requires_post_quantum, transport_error::downgrade_detected})
    st.counters[m::pq_refusals_total]->Add({{"reason", to_string(e)}});
  st.counters[m::quantumproofs_total]->Add({{"result", "verified"}});
  for (auto r : {close_reason::quantumproof_missing, close_reason::quantumproof_timeout,
                 close_reason::quantumproof_malformed, close_reason::quantumproof_invalid,
                 close_reason::pin_mismatch})
    st.counters[m::quantumproofs_total]->Add({{"result", to_string(r)}});
}

/// Registers families in the registry and in the state's tables, by kind.
struct family_builder {
  metrics_state& st;

  /// `series`: the unlabelled series exists (at zero) from the start.
  void counter(const char* name, const char* help, bool series = false) {
    auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(*st.registry);
    if (series)
      family.Add({});
    st.counters[name] = &family;
  }
  void gauge(const char* name, const char* help, bool series = true) {
    auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*st.registry);
    if (series)
      family.Add({});
    st.gauges[name] = &family;
  }
  void histogram(const char* name, const char* help) {
    auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(*st.registry);
    family.Add({}, handling_buckets());
    st.histograms[name] = &family;
  }
};

/// The seed's seven, discovery and the supervision tree's.
void register_node_families(family_builder& b) {
  namespace m = metric_names;
  b.counter(m::connections_total, "Peer connections established since start.", true);
  b.gauge(m::connections_active, "Peer connections open now.");
  b.counter(m::bytes_sent_total, "Bytes sent to peers since start.", true);
  b.counter(m::bytes_received_total, "Bytes received from peers since start.", true);
  b.gauge(m::sync_progress, "Block download progress, 0 to 1.");
  b.gauge(m::latency_avg, "Average ping round-trip time over connected peers, in seconds.");
  b.gauge(m::bandwidth_usage, "Current traffic to and from peers, in bytes per second.");
  b.counter(m::dns_failures_total, "DNS seed queries that failed, by seed, record type and cause.");
  b.counter(m::dns_queries_total,
            "DNS seed queries answered (also with no records) or failed, by record type.");
  b.counter(m::discovered_addresses_total,
            "Usable peer addresses handed to the address manager, by source kind.");
  b.counter(m::actor_restarts_total, "Actor restarts by the supervision tree, by actor name.");
  b.counter(m::supervisor_escalations_total,
            "Supervisors that exceeded their restart intensity, by supervisor name.");
}

/// The security manager's.
void register_security_families(family_builder& b) {
  namespace m = metric_names;
  b.counter(m::security_offences_total, "Offences reported against peers, by kind.");
  b.counter(m::security_verdicts_total,
            "Verdicts of the security policy on reported offences, by verdict.");
  b.counter(m::security_bans_total,
            "Bans imposed, by the offence that crossed the threshold (manual: the operator's).");
  b.gauge(m::security_bans, "Bans in force, by type (address, subnet, manual, forever).");
  b.gauge(m::security_tracked_addresses, "Addresses with a reputation the security policy keeps.");
  b.gauge(m::security_throttled_addresses,
          "Addresses throttled now, by score (reputation) or by rate (over budget).");
  b.gauge(m::security_reputation_addresses,
          "Addresses with a reputation, by score bucket (the score is below `below`).");
  b.counter(m::security_admissions_total,
            "Inbound connections the security manager answered, by result.");
  b.counter(m::security_detections_total,
            "Attack detectors that fired for a subnet (and charged the address), by detector.");
  b.counter(m::security_alerts_total, "Security alert lines raised, by detector.");
}

/// The NAT mapper's and the post-quantum layer's.
void register_nat_and_pq_families(family_builder& b) {
  namespace m = metric_names;
  b.gauge(m::nat_info, "The NAT as the NAT mapper found it (value 1): mapping and filtering "
                       "behaviour (RFC 5780), type, and the port mapping method in use.");
  b.gauge(m::nat_reachable, "1 if the node advertises an address peers can reach, else 0.");
  b.gauge(m::nat_mapping_expiry,
          "Unix time the gateway's port mapping expires (0: none, or a permanent one).");
  b.gauge(m::nat_address_confirmations,
          "Peers that report seeing us at the address most of them agree on.");
  b.counter(m::nat_stun_failures_total, "STUN servers given up in a probe round, by cause.");
  b.counter(m::nat_port_mappings_total, "Port mapping attempts by method and result.");
  b.counter(m::quantumproofs_total,
            "Peers' QuantumProofs by result: verified, or the close reason that refused them.");
  b.counter(m::pq_refusals_total, "Transport handshakes refused by the post-quantum policy or a "
                                  "detected downgrade, by transport error.");
}

/// What an operator alerts on: health, readiness, sync, peers, traffic by command, latencies.
void register_operator_families(family_builder& b) {
  namespace m = metric_names;
  b.gauge(m::health_check_status, "1 if the health check passes, else 0 (see /health), by check.",
          false);
  b.gauge(m::ready, "1 if the node is ready to serve peers (see /ready), else 0.");
  b.gauge(m::sync_height, "Blocks in the chain store: the height of its tip.");
  b.gauge(m::sync_target_height, "The height sync aims at: the best header chain's or peers'.");
  b.gauge(m::headers_height, "The height of the best header chain known.");
  b.gauge(m::peers, "Peers connected now (handshake done), by direction and transport.", false);
  b.counter(m::connection_attempts_total, "Outbound connection attempts by result: connected "
                                          "(the version handshake completed) or failed.");
  b.counter(m::handshake_failures_total,
            "Connections that ended before the version handshake and QuantumProof completed, by "
            "close reason (both directions).");
  b.counter(m::messages_total, "P2P messages by direction (sent, received) and command (every "
                               "known command, and other).");
  b.counter(m::message_bytes_total, "Plaintext frame bytes of P2P messages (24-byte headers "
                                    "included) by direction and command.");
  b.histogram(m::headers_processing_seconds,
              "Time the sync coordinator takes to handle one headers message (validation and "
              "acceptance into the header tree), in seconds.");
  b.gauge(m::actor_mailbox_depth,
          "Messages waiting in the mailboxes of the node's actors, by actor (the sum over all "
          "actors of that kind: every peer_session under one label).",
          false);
  b.counter(m::inspector_refusals_total,
            "Inspector requests refused for a missing or wrong cookie, by request kind (read, "
            "action).");
  b.histogram(m::block_processing_seconds,
              "Time the sync coordinator takes to handle one block message (its checks and "
              "hand-over for the batched commit), in seconds.");
}

/// Registers the families every node exports, each with its unlabelled series at zero (or its
/// bounded label sets, initialize_label_sets) so that a scrape shows them before anything
/// happened.
void register_families(metrics_state& st) {
  family_builder b{st};
  register_node_families(b);
  register_security_families(b);
  register_nat_and_pq_families(b);
  register_operator_families(b);
  initialize_label_sets(st);
  auto& info = prometheus::BuildGauge()
                   .Name(metric_names::build_info)
                   .Help("Build information; the value is always 1.")
                   .Register(*st.registry);
  info.Add({{"version", QTC_VERSION}}).Set(1);
}

/// The family `name` of `families`, or null (warned about once per name: an update for a family
/// that is not registered is a bug of the sender, not a reason to fail).
template <class Metric>
prometheus::Family<Metric>*
family_named(metrics_state& st, std::map<std::string, prometheus::Family<Metric>*>& families,
             const std::string& name, const char* kind) {
  if (auto i = families.find(name); i != families.end())
    return i->second;
  if (st.unknown_reported.insert(name).second)
    st.log.warning(std::string{"update for unknown "} + kind + " family ignored",
                   {{"family", name}});
  return nullptr;
}

/// A snapshot older than this is not served: the health actor stopped judging (down, restarting
/// or stuck), and an old verdict would say the node is fine when nobody knows.
constexpr auto stale_health = std::chrono::seconds{10};

http_answer scrape(const prometheus::Registry& registry, const process_collector& process) {
  auto families = registry.Collect();
  auto more = process.Collect();
  families.insert(families.end(), more.begin(), more.end());
  return {200, "text/plain; version=0.0.4; charset=utf-8",
          prometheus::TextSerializer{}.Serialize(families)};
}

/// `/health` or `/ready` from the last snapshot; 503 when there is none or it is stale.
http_answer health_page(served_health& served, bool ready) {
  std::lock_guard<std::mutex> guard{served.mutex};
  auto age = std::chrono::steady_clock::now() - served.received;
  if (!served.snapshot || age > stale_health)
    return {503, "application/json",
            "{\"status\": \"fail\", \"checks\": {\"sampled\": {\"status\": \"fail\", "
            "\"detail\": \"no verdict of the health actor in the last 10 s\"}}}\n"};
  const auto& s = *served.snapshot;
  auto pass = ready ? s.ready : s.healthy;
  return {pass ? 200 : 503, "application/json", ready ? s.ready_body : s.health_body};
}

/// Sums the series matching each selector (see metrics_actor).
std::vector<double> query(const prometheus::Registry& registry,
                          const std::vector<metric_labels>& selectors) {
  auto families = registry.Collect();
  std::vector<double> sums(selectors.size(), 0.0);
  for (std::size_t i = 0; i < selectors.size(); ++i) {
    std::string name;
    metric_labels wanted;
    for (const auto& [key, value] : selectors[i]) {
      if (key == "__name__")
        name = value;
      else
        wanted.emplace_back(key, value);
    }
    for (const auto& family : families) {
      if (family.name != name)
        continue;
      for (const auto& metric : family.metric) {
        auto matches = std::all_of(wanted.begin(), wanted.end(), [&](const auto& want) {
          return std::any_of(metric.label.begin(), metric.label.end(), [&](const auto& have) {
            return have.name == want.first && have.value == want.second;
          });
        });
        if (matches)
          sums[i] += family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                    : metric.gauge.value;
      }
    }
  }
  return sums;
}

/// Serves /metrics, /health and /ready on `endpoint`; an error naming the address if it cannot.
std::optional<std::string> serve(metrics_state& st, const metrics_endpoint& endpoint) {
  try {
    st.http = std::make_unique<http_endpoint>(endpoint.host, endpoint.port, 2);
  } catch (const std::exception& ex) {
    return std::string{ex.what()};
  }
  st.http->add("/metrics", [registry = st.registry, process = st.process] {
    return scrape(*registry, *process);
  });
  st.http->add("/health", [health = st.health] { return health_page(*health, false); });
  st.http->add("/ready", [health = st.health] { return health_page(*health, true); });
  return std::nullopt;
}

/// One counter update, alone or from a batch: counters only go up, unknown families are ignored.
void add_to_counter(metrics_state& st, const std::string& family, const metric_labels& labels,
                    double amount) {
  if (amount < 0)
    return;
  if (auto* f = family_named(st, st.counters, family, "counter"))
    f->Add(to_map(labels)).Increment(amount);
}

/// A supervisor's event: restarts and escalations counted per actor and supervisor; a started
/// child gets its series at zero, so that a dashboard shows it before its first restart.
void count_supervision_event(metrics_state& st, const supervision_event& ev) {
  auto* restarts = family_named(st, st.counters, metric_names::actor_restarts_total, "counter");
  auto* escalations =
      family_named(st, st.counters, metric_names::supervisor_escalations_total, "counter");
  if (ev.kind == supervision_event_kind::started) {
    if (restarts)
      restarts->Add({{"actor", ev.child}});
    if (escalations)
      escalations->Add({{"supervisor", ev.supervisor}});
  } else if (ev.kind == supervision_event_kind::restarted && restarts) {
    restarts->Add({{"actor", ev.child}}).Increment();
  } else if (ev.kind == supervision_event_kind::escalated && escalations) {
    escalations->Add({{"supervisor", ev.supervisor}}).Increment();
  }
}

} // namespace

metrics_actor::behavior_type metrics(metered_pointer<metrics_actor, metrics_state> self,
                                     metrics_endpoint endpoint) {
  auto& st = self->state;
  st.log = logger{self->system(), "metrics"};
  st.registry = std::make_shared<prometheus::Registry>();
  st.process = std::make_shared<process_collector>();
  st.health = std::make_shared<served_health>();
  register_families(st);
  if (auto failed = serve(st, endpoint)) {
    auto bind = endpoint.host + ":" + std::to_string(endpoint.port);
    st.log.error("metrics endpoint failed", {{"address", bind}, {"reason", *failed}});
    self->quit(make_error(errc::bind_failed, "metrics: " + *failed));
    return metrics_actor::behavior_type::make_empty_behavior();
  }
  // Components find the metrics actor through the service host (actors/support/metrics_client).
  provide_metrics(self);
  auto port = st.http->port();
  st.listen_address = endpoint.host + ":" + std::to_string(port);
  st.log.info("serving metrics", {{"address", st.listen_address},
                                  {"path", "/metrics"},
                                  {"health", "/health"},
                                  {"ready", "/ready"},
                                  {"port", std::to_string(port)}});
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        report(result, "name", "metrics");
        report(result, "state", "serving");
        report(result, "address", self->state.listen_address);
        report(result, "families", self->state.counters.size() + self->state.gauges.size());
        return result;
      },
      [self](const supervision_event& ev) { count_supervision_event(self->state, ev); },
      [self](count_atom, const std::string& family, const metric_labels& labels, double amount) {
        add_to_counter(self->state, family, labels, amount);
      },
      [self](count_atom, const std::vector<metric_increment>& increments) {
        for (const auto& x : increments)
          add_to_counter(self->state, x.family, x.labels, x.amount);
      },
      [self](gauge_atom, const std::string& family, const metric_labels& labels, double value) {
        if (auto* f = family_named(self->state, self->state.gauges, family, "gauge"))
          f->Add(to_map(labels)).Set(value);
      },
      [self](observe_atom, const std::string& family, const metric_labels& labels, double value) {
        if (auto* f = family_named(self->state, self->state.histograms, family, "histogram"))
          f->Add(to_map(labels), handling_buckets()).Observe(value);
      },
      [self](observe_atom, const std::string& family, const metric_labels& labels,
             const std::vector<double>& values) {
        if (auto* f = family_named(self->state, self->state.histograms, family, "histogram")) {
          auto& series = f->Add(to_map(labels), handling_buckets());
          for (auto value : values)
            series.Observe(value);
        }
      },
      [self](get_atom, metric_atom, const std::vector<metric_labels>& selectors) {
        return query(*self->state.registry, selectors);
      },
      [self](put_atom, health_snapshot& snapshot) {
        auto& served = *self->state.health;
        std::lock_guard<std::mutex> guard{served.mutex};
        served.snapshot = std::move(snapshot);
        served.received = std::chrono::steady_clock::now();
      },
  };
}

} // namespace qtc

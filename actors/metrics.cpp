#include "actors/metrics.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/registry_entry.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"

#include <caf/actor_registry.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace qtc {

metrics_state::~metrics_state() {
  exposer.reset(); // stop the HTTP threads before the registry they read goes away
}

namespace {

std::map<std::string, std::string> to_map(const metric_labels& labels) {
  return {labels.begin(), labels.end()};
}

/// Registers the families every node exports, each with its unlabelled series at zero so that
/// a scrape shows them before anything happened.
void register_families(metrics_state& st) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  auto counter = [&](const char* name, const char* help, bool series) {
    auto& family = BuildCounter().Name(name).Help(help).Register(*st.registry);
    if (series)
      family.Add({});
    st.counters[name] = &family;
  };
  auto gauge = [&](const char* name, const char* help) {
    auto& family = BuildGauge().Name(name).Help(help).Register(*st.registry);
    family.Add({});
    st.gauges[name] = &family;
  };
  namespace m = metric_names;
  counter(m::connections_total, "Peer connections established since start.", true);
  gauge(m::connections_active, "Peer connections open now.");
  counter(m::bytes_sent_total, "Bytes sent to peers since start.", true);
  counter(m::bytes_received_total, "Bytes received from peers since start.", true);
  gauge(m::sync_progress, "Block download progress, 0 to 1.");
  gauge(m::latency_avg, "Average ping round-trip time over connected peers, in seconds.");
  gauge(m::bandwidth_usage, "Current traffic to and from peers, in bytes per second.");
  counter(m::dns_failures_total, "DNS seed queries that failed, by seed, record type and cause.",
          false);
  counter(m::discovered_addresses_total,
          "Usable peer addresses handed to the address manager, by source kind.", false);
  counter(m::actor_restarts_total, "Actor restarts by the supervision tree, by actor name.", false);
  counter(m::security_offences_total, "Offences reported against peers, by kind.", false);
  counter(m::security_verdicts_total,
          "Verdicts of the security policy on reported offences, by verdict.", false);
  gauge(m::security_bans, "Bans in force, by type (address, subnet, manual, forever).");
  gauge(m::security_tracked_addresses, "Addresses with a reputation the security policy keeps.");
  gauge(m::security_throttled_addresses,
        "Addresses throttled now, by score (reputation) or by rate (over budget).");
  gauge(m::security_reputation_addresses,
        "Addresses with a reputation, by score bucket (the score is below `below`).");
  counter(m::security_admissions_total,
          "Inbound connections the security manager answered, by result.", false);
  counter(m::security_detections_total,
          "Attack detectors that fired for a subnet (and charged the address), by detector.",
          false);
  counter(m::security_alerts_total, "Security alert lines raised, by detector.", false);
  gauge(m::nat_info, "The NAT as the NAT mapper found it (value 1): mapping and filtering "
                     "behaviour (RFC 5780), type, and the port mapping method in use.");
  gauge(m::nat_reachable, "1 if the node advertises an address peers can reach, else 0.");
  gauge(m::nat_mapping_expiry,
        "Unix time the gateway's port mapping expires (0: none, or a permanent one).");
  gauge(m::nat_address_confirmations,
        "Peers that report seeing us at the address most of them agree on.");
  counter(m::nat_stun_failures_total, "STUN servers given up in a probe round, by cause.", false);
  counter(m::nat_port_mappings_total, "Port mapping attempts by method and result.", false);
  counter(m::quantumproofs_total,
          "Peers' QuantumProofs by result: verified, or the close reason that refused them.",
          false);
  counter(m::pq_refusals_total,
          "Transport handshakes refused by the post-quantum policy or a detected downgrade, by "
          "transport error.",
          false);
  counter(m::supervisor_escalations_total,
          "Supervisors that exceeded their restart intensity, by supervisor name.", false);
  auto& info = BuildGauge()
                   .Name(m::build_info)
                   .Help("Build information; the value is always 1.")
                   .Register(*st.registry);
  info.Add({{"version", QTC_VERSION}}).Set(1);
}

} // namespace

metrics_actor::behavior_type metrics(metrics_actor::stateful_pointer<metrics_state> self,
                                     metrics_endpoint endpoint) {
  auto& st = self->state;
  st.log = logger{self->system(), "metrics"};
  st.registry = std::make_shared<prometheus::Registry>();
  st.process = std::make_shared<process_collector>();
  register_families(st);
  auto bind = endpoint.host.find(':') != std::string::npos
                  ? "[" + endpoint.host + "]:" + std::to_string(endpoint.port)
                  : endpoint.host + ":" + std::to_string(endpoint.port);
  try {
    st.exposer = std::make_unique<prometheus::Exposer>(bind, 2);
  } catch (const std::exception& ex) {
    auto what = "cannot listen on " + bind + ": " + ex.what();
    st.log.error("metrics endpoint failed", {{"address", bind}, {"reason", ex.what()}});
    self->quit(make_error(errc::bind_failed, "metrics: " + what));
    return metrics_actor::behavior_type::make_empty_behavior();
  }
  st.exposer->RegisterCollectable(st.registry);
  st.exposer->RegisterCollectable(st.process);
  // Components find the metrics actor through the registry (actors/support/metrics_client.hpp).
  register_as(self, metrics_registry_key);
  auto ports = st.exposer->GetListeningPorts();
  auto port = ports.empty() ? endpoint.port : ports.front();
  st.listen_address = endpoint.host + ":" + std::to_string(port);
  st.log.info(
      "serving metrics",
      {{"address", st.listen_address}, {"path", "/metrics"}, {"port", std::to_string(port)}});
  auto counter_family =
      [self](const std::string& name) -> prometheus::Family<prometheus::Counter>* {
    auto& st = self->state;
    if (auto i = st.counters.find(name); i != st.counters.end())
      return i->second;
    if (st.unknown_reported.insert(name).second)
      st.log.warning("update for unknown counter family ignored", {{"family", name}});
    return nullptr;
  };
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        report(result, "name", "metrics");
        report(result, "state", "serving");
        report(result, "address", self->state.listen_address);
        report(result, "families", self->state.counters.size() + self->state.gauges.size());
        return result;
      },
      [counter_family](const supervision_event& ev) {
        if (ev.kind == supervision_event_kind::restarted) {
          if (auto* f = counter_family(metric_names::actor_restarts_total))
            f->Add({{"actor", ev.child}}).Increment();
        } else if (ev.kind == supervision_event_kind::escalated) {
          if (auto* f = counter_family(metric_names::supervisor_escalations_total))
            f->Add({{"supervisor", ev.supervisor}}).Increment();
        }
      },
      [counter_family](count_atom, const std::string& family, const metric_labels& labels,
                       double amount) {
        if (amount < 0)
          return; // counters only go up
        if (auto* f = counter_family(family))
          f->Add(to_map(labels)).Increment(amount);
      },
      [self](gauge_atom, const std::string& family, const metric_labels& labels, double value) {
        auto& st = self->state;
        auto i = st.gauges.find(family);
        if (i == st.gauges.end()) {
          if (st.unknown_reported.insert(family).second)
            st.log.warning("update for unknown gauge family ignored", {{"family", family}});
          return;
        }
        i->second->Add(to_map(labels)).Set(value);
      },
  };
}

} // namespace qtc

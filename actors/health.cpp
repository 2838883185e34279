#include "actors/health.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/components.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>

#include <map>
#include <memory>
#include <vector>

namespace qtc {

namespace {

using health_pointer = metered_pointer<health_actor, health_state>;

/// The series a sample reads, in the order sample_from expects them.
std::vector<metric_labels> sample_selectors() {
  namespace m = metric_names;
  auto of = [](const char* family, metric_labels more = {}) {
    metric_labels l{{"__name__", family}};
    l.insert(l.end(), more.begin(), more.end());
    return l;
  };
  return {of(m::dns_queries_total, {{"result", "answered"}}),
          of(m::dns_queries_total, {{"result", "failed"}}),
          of(m::connection_attempts_total, {{"result", "connected"}}),
          of(m::connection_attempts_total, {{"result", "failed"}}),
          of(m::security_offences_total),
          of(m::sync_height),
          of(m::sync_target_height),
          of(m::connections_active)};
}

health_sample sample_from(const std::vector<double>& v, const std::vector<child_info>& children) {
  health_sample s;
  s.dns_queries_ok = v.at(0);
  s.dns_queries_failed = v.at(1);
  s.outbound_connected = v.at(2);
  s.outbound_failed = v.at(3);
  s.security_offences = v.at(4);
  s.height = static_cast<std::int64_t>(v.at(5));
  s.target = static_cast<std::int64_t>(v.at(6));
  s.peers = static_cast<std::int64_t>(v.at(7));
  for (const auto& c : children) {
    if (c.name == component<storage_actor>::name)
      s.store_open = static_cast<bool>(c.handle);
    if (c.name == component<peer_manager_actor>::name)
      s.listening = static_cast<bool>(c.handle);
  }
  if (!s.store_open)
    s.height = -1;
  return s;
}

/// A status request to each running component but this one; the round trip is its latency.
void probe(health_pointer self, const std::vector<child_info>& children) {
  auto& st = self->state;
  st.last_probe = self->clock().now();
  for (const auto& c : children) {
    if (!c.handle || c.handle == caf::actor_cast<caf::actor>(self))
      continue;
    auto sent = self->clock().now();
    auto record = [self, sent, name = c.name](bool answered) {
      auto& st = self->state;
      auto took = answered ? self->clock().now() - sent
                           : std::chrono::steady_clock::duration{st.options.probe_timeout};
      if (!st.slowest || took > *st.slowest) {
        st.slowest = took;
        st.slowest_component = answered ? name : name + ", no answer";
      }
    };
    self->request(caf::actor_cast<status_actor>(c.handle), st.options.probe_timeout,
                  status_atom::value, status_verbosity::info)
        .then([record](const status_report&) { record(true); },
              [record](const caf::error&) { record(false); });
  }
}

/// Logs the checks whose verdict changed since the last evaluation.
void log_changes(health_pointer self, const health_verdict& before, const health_verdict& now) {
  auto& st = self->state;
  for (const auto& c : now.checks) {
    auto was = std::find_if(before.checks.begin(), before.checks.end(),
                            [&](const auto& b) { return b.name == c.name; });
    auto was_pass = was == before.checks.end() || was->pass;
    if (was_pass == c.pass)
      continue;
    if (c.pass)
      st.log.info("health check passes", {{"check", c.name}, {"detail", c.detail}});
    else
      st.log.warning("health check failed", {{"check", c.name}, {"detail", c.detail}});
  }
}

/// Judges the sample and hands the verdicts to the metrics actor.
void judge(health_pointer self, const health_sample& sample) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.monitor.add(now, sample);
  ++st.samples;
  auto health = st.monitor.health(now);
  auto ready = st.monitor.readiness(now);
  log_changes(self, st.health, health);
  st.health = health;
  st.ready = ready;
  if (!st.metrics)
    return;
  const auto& metrics = st.metrics.get();
  for (const auto& c : health.checks)
    self->send(metrics, gauge_atom::value, std::string{metric_names::health_check_status},
               metric_labels{{"check", c.name}}, c.pass ? 1.0 : 0.0);
  self->send(metrics, gauge_atom::value, std::string{metric_names::ready}, metric_labels{},
             ready.pass ? 1.0 : 0.0);
  self->send(metrics, put_atom::value,
             health_snapshot{to_json(health), health.pass, to_json(ready), ready.pass});
}

/// The mailbox depth of each kind of actor (the sum over its instances), from the actor
/// system's meters; a kind that has no actor left reads 0 rather than its last value.
void report_mailboxes(health_pointer self) {
  auto& st = self->state;
  auto* source = dynamic_cast<const metered_system*>(&self->system().config());
  if (source == nullptr || !source->meters || !st.metrics)
    return;
  std::map<std::string, double> depth;
  for (const auto& name : st.mailbox_kinds)
    depth[name] = 0;
  for (const auto& a : source->meters->read(tick_clock::now()))
    depth[a.name] += static_cast<double>(a.load.mailbox);
  for (const auto& [name, n] : depth) {
    st.mailbox_kinds.insert(name);
    self->send(st.metrics.get(), gauge_atom::value, std::string{metric_names::actor_mailbox_depth},
               metric_labels{{"actor", name}}, n);
  }
}

/// One sample: the children, then the counters, then the verdict.
void take_sample(health_pointer self) {
  auto& st = self->state;
  if (st.sampling)
    return;
  if (!st.metrics) {
    st.metrics.find(
        self, st.parent, std::chrono::seconds{2},
        [self](const metrics_actor& m) { self->monitor(m); }, [](const caf::error&) {});
    return;
  }
  st.sampling = true;
  auto timeout = std::chrono::seconds{2};
  self->request(st.parent, timeout, children_atom::value)
      .then(
          [self, timeout](const std::vector<child_info>& children) {
            auto& st = self->state;
            if (self->clock().now() - st.last_probe >= st.options.probe_interval)
              probe(self, children);
            self->request(st.metrics.get(), timeout, get_atom::value, metric_atom::value,
                          sample_selectors())
                .then(
                    [self, children](const std::vector<double>& values) {
                      auto& st = self->state;
                      st.sampling = false;
                      auto sample = sample_from(values, children);
                      sample.slowest_answer = st.slowest;
                      sample.slowest_component = st.slowest_component;
                      st.slowest.reset();
                      judge(self, sample);
                      report_mailboxes(self);
                    },
                    [self](const caf::error&) { self->state.sampling = false; });
          },
          [self](const caf::error&) { self->state.sampling = false; });
}

status_report health_status(health_pointer self) {
  auto& st = self->state;
  caf::settings r;
  report(r, "name", "health");
  report(r, "state", st.samples == 0 ? "starting" : st.health.pass ? "healthy" : "unhealthy");
  report(r, "ready", st.ready.pass);
  report(r, "samples", st.samples);
  for (const auto& c : st.health.checks)
    report(r, "check " + c.name, std::string{c.pass ? "pass: " : "fail: "} + c.detail);
  return r;
}

} // namespace

health_actor::behavior_type health(metered_pointer<health_actor, health_state> self,
                                   supervisor_actor parent, health_options options) {
  auto& st = self->state;
  st.log = logger{self->system(), "health"};
  st.parent = std::move(parent);
  st.options = options;
  st.monitor = health_monitor{options.thresholds};
  self->set_down_handler([self](const caf::down_msg& down) { self->state.metrics.lost(down); });
  self->send(self, tick_atom::value);
  return {
      [self](status_atom, status_verbosity) { return health_status(self); },
      [self](tick_atom) {
        take_sample(self);
        self->delayed_send(self, self->state.options.sample_interval, tick_atom::value);
      },
  };
}

} // namespace qtc

#include "actors/dns_seeder.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "runtime/io/seed_answer.hpp"

#include <caf/actor_cast.hpp>

#include <optional>

namespace qtc {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr dns_type all_types[] = {dns_type::a, dns_type::aaaa, dns_type::srv, dns_type::txt};

std::string key_of(const std::string& seed, dns_type type) {
  return seed + "/" + to_string(type);
}

/// Polls again soon: the resolver has queries under way.
void ensure_ticking(dns_seeder_pointer self) {
  auto& st = self->state;
  if (st.ticking)
    return;
  st.ticking = true;
  self->delayed_send(self, st.options.poll_interval, tick_atom::value);
}

/// Nothing under way: wakes up when the next retry or the bootstrap fallback is due.
void schedule_wakeup(dns_seeder_pointer self) {
  auto& st = self->state;
  if (st.ticking)
    return;
  auto now = self->clock().now();
  std::optional<clock_type::time_point> at;
  for (const auto& [key, q] : st.queries)
    if (q.retry_at > now && q.fresh_until <= now)
      at = at ? std::min(*at, q.retry_at) : q.retry_at;
  if (!st.usable_found && !st.fallback_done) {
    auto fallback = st.started + st.spec->dns_fallback_after;
    at = at ? std::min(*at, fallback) : fallback;
  }
  if (!st.sink && !st.undelivered.empty())
    at = now + std::chrono::milliseconds{200};
  if (!at)
    return;
  st.ticking = true;
  self->delayed_send(self, std::max<clock_type::duration>(*at - now, st.options.poll_interval),
                     tick_atom::value);
}

void find_sink(dns_seeder_pointer self) {
  auto& st = self->state;
  if (st.sink)
    return;
  st.peers.find(
      self, st.parent, std::chrono::seconds{5},
      [self](const peer_manager_actor& peers) {
        auto& st = self->state;
        st.sink = peers;
        if (!st.undelivered.empty()) {
          self->send(st.sink, found_atom::value, std::move(st.undelivered));
          st.undelivered.clear();
        }
      },
      [self](const caf::error&) {
        schedule_wakeup(self); // it starts after us: the next tick asks again
      });
}

void deliver(dns_seeder_pointer self, std::vector<discovered_peer> peers, const char* kind) {
  auto& st = self->state;
  if (peers.empty())
    return;
  st.usable_found = true;
  st.delivered += peers.size();
  st.metrics.count(metric_names::discovered_addresses_total, {{"source", kind}},
                   static_cast<double>(peers.size()));
  st.log.info("peer addresses found",
              {{"source", peers.front().source}, {"count", std::to_string(peers.size())}});
  if (st.sink) {
    self->send(st.sink, found_atom::value, std::move(peers));
  } else {
    st.undelivered.insert(st.undelivered.end(), peers.begin(), peers.end());
    find_sink(self);
  }
}

/// Adds `ip` if the chain spec allows it as a peer address.
void take_ip(dns_seeder_pointer self, const ip_bytes& ip, const dns_pending& p,
             std::vector<discovered_peer>& out) {
  auto& st = self->state;
  if (!usable_peer_address(ip, st.spec->allow_private_addresses) || p.port == 0) {
    ++st.rejected;
    st.log.debug(
        "address rejected",
        {{"address", format_ip(ip)}, {"class", to_string(classify(ip))}, {"source", p.source}});
    return;
  }
  discovered_peer d;
  d.ip = ip;
  d.port = p.port;
  d.pubkey_hex = p.pubkey_hex;
  d.tls_only = p.tls_only;
  d.source = p.source;
  out.push_back(std::move(d));
}

void log_rejection(dns_seeder_pointer self, const seed_rejection& r, const std::string& source) {
  ++self->state.rejected;
  self->state.log.debug("seed entry rejected",
                        {{"entry", r.entry}, {"reason", r.reason}, {"source", source}});
}

/// A host named by a SRV or TXT record or a bootstrap entry: used directly if it is an address,
/// looked up (A and AAAA) otherwise (seed_answer has checked the name).
void lookup_host(dns_seeder_pointer self, const seed_target& target, dns_pending p,
                 std::vector<discovered_peer>& out) {
  auto& st = self->state;
  // An A/AAAA answer to a lookup of a TXT entry's host keeps the entry's pin and transport.
  p.port = target.port;
  if (!target.pubkey_hex.empty())
    p.pubkey_hex = target.pubkey_hex;
  p.tls_only = p.tls_only || target.tls_only;
  if (target.ip) {
    take_ip(self, *target.ip, p, out);
    return;
  }
  auto now = self->clock().now();
  p.key.clear();
  for (auto type : {dns_type::a, dns_type::aaaa})
    st.pending[st.resolver->query(target.host, type, now)] = p;
  ensure_ticking(self);
}

void start_round(dns_seeder_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (const auto& seed : st.spec->dns_seeds)
    for (auto type : all_types) {
      auto key = key_of(seed, type);
      auto& q = st.queries[key];
      q.seed = seed;
      q.type = type;
      if (q.in_flight || now < q.fresh_until || now < q.retry_at)
        continue;
      dns_pending p;
      p.key = key;
      p.source = "dns:" + key;
      p.port = st.spec->default_port;
      st.pending[st.resolver->query(seed, type, now)] = p;
      q.in_flight = true;
    }
  if (st.resolver->busy())
    ensure_ticking(self);
}

void on_failure(dns_seeder_pointer self, const dns_answer& a, dns_seed_query* q) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto cause = to_string(a.failure);
  if (a.failure == dns_failure::no_data) {
    // An answer, not a failure: a seed need not publish every record type.
    st.log.debug("no records", {{"name", a.name}, {"type", to_string(a.type)}});
  } else {
    ++st.failures;
    st.metrics.count(metric_names::dns_failures_total,
                     {{"seed", a.name}, {"type", to_string(a.type)}, {"cause", cause}});
    if (st.logged_failures.insert(a.name + "/" + to_string(a.type) + "/" + cause).second)
      st.log.warning(
          "DNS query failed",
          {{"name", a.name}, {"type", to_string(a.type)}, {"cause", cause}, {"detail", a.detail}});
  }
  if (q == nullptr)
    return;
  q->last = cause;
  if (is_transient(a.failure)) {
    if (q->retries < st.options.max_retries) {
      q->retry_at = now + st.options.first_backoff * (1u << q->retries);
      ++q->retries;
    } else {
      // The round's retries are spent: the seed rests, then a new round starts from the first
      // backoff. Leaving retry_at in the past made every poll tick ask again at once, forever.
      q->retries = 0;
      q->retry_at = now + st.options.negative_ttl;
    }
  } else {
    q->fresh_until = now + st.options.negative_ttl;
  }
}

void on_answer(dns_seeder_pointer self, const dns_answer& a) {
  auto& st = self->state;
  auto i = st.pending.find(a.id);
  if (i == st.pending.end())
    return;
  auto p = std::move(i->second);
  st.pending.erase(i);
  auto failed = a.failure != dns_failure::none && a.failure != dns_failure::no_data;
  st.metrics.count(metric_names::dns_queries_total,
                   {{"type", to_string(a.type)}, {"result", failed ? "failed" : "answered"}});
  dns_seed_query* q = nullptr;
  if (!p.key.empty()) {
    q = &st.queries[p.key];
    q->in_flight = false;
  }
  if (a.failure != dns_failure::none) {
    on_failure(self, a, q);
    return;
  }
  if (q != nullptr) {
    q->retries = 0;
    q->fresh_until = self->clock().now() + std::chrono::seconds{a.ttl};
    q->last = "ok (" + std::to_string(a.records.size()) + " records)";
  }
  std::vector<discovered_peer> found;
  auto named = targets_of(a, p.port);
  for (const auto& r : named.rejected)
    log_rejection(self, r, p.source);
  for (const auto& t : named.targets)
    lookup_host(self, t, p, found);
  deliver(self, std::move(found), p.source == "bootstrap" ? "bootstrap" : "dns");
}

void fall_back(dns_seeder_pointer self) {
  auto& st = self->state;
  st.fallback_done = true;
  st.log.info("DNS gave no usable address; using the bootstrap nodes",
              {{"after", std::to_string(st.spec->dns_fallback_after.count()) + "s"},
               {"bootstrap_nodes", std::to_string(st.spec->bootstrap_nodes.size())}});
  std::vector<discovered_peer> found;
  for (const auto& entry : st.spec->bootstrap_nodes) {
    dns_pending p;
    p.source = "bootstrap";
    auto named = targets_of(entry);
    for (const auto& r : named.rejected)
      log_rejection(self, r, p.source);
    for (const auto& t : named.targets)
      lookup_host(self, t, p, found);
  }
  deliver(self, std::move(found), "bootstrap");
}

caf::settings seeder_status(dns_seeder_pointer self) {
  auto& st = self->state;
  caf::settings r;
  report(r, "name", "discovery");
  report(r, "state", st.resolver->busy() ? "querying" : "idle");
  report(r, "addresses-delivered", st.delivered);
  report(r, "addresses-rejected", st.rejected);
  report(r, "failures", st.failures);
  report(r, "bootstrap-fallback", st.fallback_done);
  auto now = self->clock().now();
  // Keys are "<seed name>/<type>": names are values, so the dots in a host name must not become
  // nested dictionaries (caf::put would read "seed1.example.org/A" as a path).
  caf::settings seeds;
  for (const auto& [key, q] : st.queries) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(q.fresh_until - now).count();
    report(seeds, key, q.last + (left > 0 ? ", fresh for " + std::to_string(left) + "s" : ""));
  }
  report(r, "queries", std::move(seeds));
  return r;
}

} // namespace

discovery_actor::behavior_type dns_seeder(dns_seeder_pointer self,
                                          std::shared_ptr<const chain_spec> spec,
                                          std::shared_ptr<dns_resolver> resolver,
                                          dns_seeder_options options, supervisor_actor parent,
                                          address_sink_actor sink) {
  auto& st = self->state;
  st.log = logger{self->system(), "discovery"};
  st.metrics = metrics_client{self->system()};
  st.spec = std::move(spec);
  st.resolver = std::move(resolver);
  st.options = options;
  st.parent = std::move(parent);
  st.sink = std::move(sink);
  st.started = self->clock().now();
  st.log.info("querying DNS seeds", {{"seeds", std::to_string(st.spec->dns_seeds.size())}});
  find_sink(self);
  start_round(self);
  schedule_wakeup(self);
  return {
      [self](status_atom, status_verbosity) -> status_report { return seeder_status(self); },
      [self](refresh_atom) { start_round(self); },
      [self](tick_atom) {
        auto& st = self->state;
        st.ticking = false;
        auto now = self->clock().now();
        for (const auto& a : st.resolver->poll(now))
          on_answer(self, a);
        start_round(self); // due retries
        if (!st.usable_found && !st.fallback_done
            && now - st.started >= st.spec->dns_fallback_after)
          fall_back(self);
        find_sink(self);
        if (st.resolver->busy())
          ensure_ticking(self);
        else
          schedule_wakeup(self);
      },
  };
}

} // namespace qtc

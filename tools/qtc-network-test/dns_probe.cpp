#include "dns_probe.hpp"

#include "runtime/io/seed_answer.hpp"

#include <algorithm>
#include <map>
#include <thread>

namespace qtc::nettest {

namespace {

using clock = std::chrono::steady_clock;

constexpr dns_type all_types[] = {dns_type::a, dns_type::aaaa, dns_type::srv, dns_type::txt};

/// A query under way: which seed query it serves, and what a follow-up lookup carries.
struct pending_query {
  std::size_t origin = 0; ///< index into dns_report::queries
  bool follow_up = false; ///< an A/AAAA lookup of a host a SRV or TXT record named
  clock::time_point started;
  seed_target target; ///< for a follow-up: the port, pin and transport of the naming record
};

std::string record_text(dns_type type, const dns_record& r) {
  switch (type) {
  case dns_type::a:
  case dns_type::aaaa:
    return format_ip(r.ip);
  case dns_type::srv:
    return r.target + ":" + std::to_string(r.port);
  case dns_type::txt:
    return r.text;
  }
  return {};
}

class seed_resolver {
public:
  seed_resolver(const chain_spec& spec, dns_resolver& resolver, dns_report& report)
      : spec_(spec), resolver_(resolver), report_(report) {}

  void start() {
    for (const auto& seed : spec_.dns_seeds)
      for (auto type : all_types) {
        seed_query q;
        q.seed = seed;
        q.type = type;
        report_.queries.push_back(std::move(q));
        auto now = clock::now();
        pending_[resolver_.query(seed, type, now)] = {report_.queries.size() - 1, false, now, {}};
      }
  }

  /// Polls until everything is answered or `deadline` passes (then the rest are timeouts).
  void run(clock::time_point deadline) {
    while (resolver_.busy() && clock::now() < deadline) {
      for (const auto& a : resolver_.poll(clock::now()))
        on_answer(a);
      std::this_thread::sleep_for(std::chrono::milliseconds{2}); // a tool, not the node
    }
    for (const auto& [id, p] : pending_)
      if (!p.follow_up && report_.queries[p.origin].failure == dns_failure::none
          && report_.queries[p.origin].records.empty()) {
        report_.queries[p.origin].failure = dns_failure::timeout;
        report_.queries[p.origin].detail = "no answer within the tool's deadline";
      }
  }

private:
  void on_answer(const dns_answer& a) {
    auto i = pending_.find(a.id);
    if (i == pending_.end())
      return;
    auto p = std::move(i->second);
    pending_.erase(i);
    auto& q = report_.queries[p.origin];
    if (p.follow_up) {
      on_follow_up(a, p, q);
      return;
    }
    q.milliseconds = std::chrono::duration<double, std::milli>(clock::now() - p.started).count();
    q.failure = a.failure;
    q.detail = a.detail;
    for (const auto& r : a.records)
      q.records.push_back(record_text(a.type, r));
    take_targets(targets_of(a, spec_.default_port), p.origin);
  }

  void on_follow_up(const dns_answer& a, const pending_query& p, seed_query& q) {
    if (a.failure != dns_failure::none) {
      if (a.failure != dns_failure::no_data)
        q.rejected.push_back(a.name + " (" + to_string(a.type) + "): " + to_string(a.failure));
      return;
    }
    for (const auto& r : a.records) {
      auto t = p.target;
      t.ip = r.ip;
      t.host = format_ip(r.ip);
      add_peer(t, p.origin);
    }
  }

  void take_targets(const seed_targets& named, std::size_t origin) {
    auto& q = report_.queries[origin];
    for (const auto& r : named.rejected)
      q.rejected.push_back(r.entry + ": " + r.reason);
    for (const auto& t : named.targets) {
      if (t.ip) {
        add_peer(t, origin);
        continue;
      }
      for (auto type : {dns_type::a, dns_type::aaaa}) {
        auto now = clock::now();
        pending_[resolver_.query(t.host, type, now)] = {origin, true, now, t};
      }
    }
  }

  void add_peer(const seed_target& t, std::size_t origin) {
    auto& q = report_.queries[origin];
    auto endpoint = format_endpoint(*t.ip, t.port);
    if (!usable_peer_address(*t.ip, spec_.allow_private_addresses) || t.port == 0) {
      q.rejected.push_back(endpoint + ": not a usable peer address on this network");
      return;
    }
    q.peers.push_back(endpoint);
    auto& peers = report_.peers;
    auto same = [&](const found_peer& f) { return f.ip == *t.ip && f.port == t.port; };
    if (std::none_of(peers.begin(), peers.end(), same))
      peers.push_back(
          {*t.ip, t.port, t.pubkey_hex, t.tls_only, "dns:" + q.seed + "/" + to_string(q.type)});
  }

  const chain_spec& spec_;
  dns_resolver& resolver_;
  dns_report& report_;
  std::map<std::uint64_t, pending_query> pending_;
};

} // namespace

dns_report resolve_seeds(const chain_spec& spec, const options& o) {
  dns_report report;
  if (spec.dns_seeds.empty())
    return report;
  std::string error;
  auto resolver = make_cares_resolver(o.dns_servers, o.timeout, 1, error);
  if (!resolver) {
    report.error = error;
    return report;
  }
  seed_resolver r{spec, *resolver, report};
  r.start();
  // A follow-up lookup starts when its record arrives: two query timeouts and some slack.
  r.run(clock::now() + 2 * o.timeout + std::chrono::seconds{1});
  return report;
}

} // namespace qtc::nettest

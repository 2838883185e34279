#include "report.hpp"

#include <algorithm>
#include <cmath>

namespace qtc::attack {

namespace {

/// Seconds rounded to milliseconds: the JSON stays readable.
double ms_round(double s) {
  return std::round(s * 1000) / 1000;
}

nlohmann::ordered_json seconds_stats(std::vector<double> v) {
  if (v.empty())
    return nullptr;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  auto median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {{"min", ms_round(v.front())}, {"median", ms_round(median)}, {"max", ms_round(v.back())}};
}

void add_counts(std::map<std::string, std::uint64_t>& into,
                const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [k, v] : from)
    into[k] += v;
}

} // namespace

void totals::add(const connection& c) {
  ++attempted;
  handshakes += c.goal_reached ? 1 : 0;
  transport_handshakes += c.transport_up ? 1 : 0;
  version_handshakes += c.version_up ? 1 : 0;
  switch (c.end) {
  case conn_end::refused:
    ++refused;
    break;
  case conn_end::closed_by_node:
    ++closed_by_node;
    if (c.seen_at_drain)
      ++closed_by_node_at_drain;
    else
      close_seconds.push_back(std::chrono::duration<double>(c.ended_at - c.connected_at).count());
    break;
  case conn_end::closed_by_us:
    ++closed_by_us;
    break;
  case conn_end::open:
  case conn_end::open_at_end:
    ++open_at_end;
    break;
  }
  if (!c.end_detail.empty())
    ++ends[c.end_detail];
  t.messages_sent += c.t.messages_sent;
  t.bytes_sent += c.t.bytes_sent;
  t.messages_received += c.t.messages_received;
  t.bytes_received += c.t.bytes_received;
  t.sends_deferred += c.t.sends_deferred;
  t.bytes_drained += c.t.bytes_drained;
  add_counts(t.sent, c.t.sent);
  add_counts(t.received, c.t.received);
  add_counts(t.attack, c.t.attack);
}

nlohmann::ordered_json totals::to_json() const {
  nlohmann::ordered_json j;
  j["connections_attempted"] = attempted;
  j["refused"] = refused;
  j["handshakes_completed"] = handshakes;
  j["transport_handshakes"] = transport_handshakes;
  j["version_handshakes"] = version_handshakes;
  j["closed_by_node"] = closed_by_node;
  j["closed_by_node_seconds"] = seconds_stats(close_seconds);
  j["closed_by_node_seen_at_drain"] = closed_by_node_at_drain;
  j["closed_by_us"] = closed_by_us;
  j["open_at_end"] = open_at_end;
  j["messages_sent"] = t.messages_sent;
  j["bytes_sent"] = t.bytes_sent;
  j["messages_received"] = t.messages_received;
  j["bytes_received"] = t.bytes_received;
  j["sends_deferred"] = t.sends_deferred;
  j["bytes_drained_at_end"] = t.bytes_drained;
  j["sent"] = t.sent;
  j["received"] = t.received;
  j["attack_counters"] = t.attack;
  j["ends"] = ends;
  return j;
}

nlohmann::ordered_json make_report(const run_summary& run,
                                   const std::vector<std::unique_ptr<connection>>& connections) {
  const auto& o = run.o;
  nlohmann::ordered_json params;
  params["sources"] = o.sources;
  params["subnets"] = o.subnets;
  params["first_subnet"] = o.first_subnet;
  params["connections"] = o.connections;
  params["duration"] = o.duration;
  params["rate"] = o.rate;
  params["bursts"] = o.bursts;
  params["items"] = o.items;
  params["bytes"] = o.bytes;
  params["interval_ms"] = o.interval_ms;
  params["handshake"] = o.handshake;
  params["transport"] = to_string(o.transport);
  params["goal"] = std::string{to_string(goal_of(o))};
  if (!run.shared_key_hex.empty())
    params["shared_static_key"] = run.shared_key_hex;

  std::map<unsigned, totals> per_source;
  totals all;
  for (const auto& c : connections) {
    per_source[c->source].add(*c);
    all.add(*c);
  }
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (unsigned i = 0; i < o.sources; ++i) {
    auto j = per_source[i].to_json();
    nlohmann::ordered_json entry;
    entry["source"] = format_ip(source_address(o, i));
    entry.update(j);
    sources.push_back(std::move(entry));
  }
  auto aggregate = all.to_json();
  std::uint64_t used = 0;
  for (const auto& [i, t] : per_source)
    used += t.attempted > 0 ? 1 : 0;
  aggregate["distinct_sources"] = used;
  aggregate["bytes_received_per_byte_sent"] =
      all.t.bytes_sent == 0 ? 0.0
                            : ms_round(static_cast<double>(all.t.bytes_received)
                                       / static_cast<double>(all.t.bytes_sent));

  nlohmann::ordered_json report;
  report["attack"] = std::string{info(o.attack).name};
  report["target"] = format_endpoint(o.target_ip, o.target_port);
  report["parameters"] = std::move(params);
  report["elapsed_seconds"] = ms_round(run.elapsed_seconds);
  report["aggregate"] = std::move(aggregate);
  report["sources"] = std::move(sources);
  return report;
}

} // namespace qtc::attack

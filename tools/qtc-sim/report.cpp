#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace qtc::sim {

using nlohmann::json;

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

namespace {

json spread(std::vector<std::int64_t> xs) {
  std::sort(xs.begin(), xs.end());
  return {{"count", xs.size()},
          {"p50", percentile(xs, 50)},
          {"p90", percentile(xs, 90)},
          {"p99", percentile(xs, 99)},
          {"max", xs.empty() ? 0 : xs.back()}};
}

json node_entry(const node_record& n) {
  json e = {{"ip", n.ip},
            {"role", to_string(n.role)},
            {"running", n.running},
            {"starts", n.starts},
            {"height", n.final_height},
            {"tip", n.final_tip},
            {"bytes_sent", n.bytes_sent},
            {"bytes_received", n.bytes_received}};
  e["synced_ms"] = n.synced ? json(n.synced->count()) : json(nullptr);
  return e;
}

json sync_section(const world& w) {
  std::vector<std::int64_t> times;
  std::size_t fresh = 0;
  json nodes = json::array();
  for (const auto& n : w.nodes()) {
    nodes.push_back(node_entry(n));
    if (n.role != node_role::fresh || !n.first_start)
      continue;
    ++fresh;
    if (n.synced)
      times.push_back(n.synced->count());
  }
  return {{"initial_height", w.spec().chain_blocks},
          {"fresh_started", fresh},
          {"time_to_sync_ms", spread(times)},
          {"nodes", nodes}};
}

json graph_sample_entry(const graph_sample& g) {
  const auto& s = g.summary;
  json degrees = json::object();
  for (const auto& [degree, count] : s.degree_histogram)
    degrees[std::to_string(degree)] = count;
  auto eclipsed =
      s.honest == 0 ? 0.0 : static_cast<double>(s.eclipsed) / static_cast<double>(s.honest);
  return {{"t_ms", g.at.count()},
          {"nodes", s.nodes},
          {"connections", s.edges},
          {"degree_min", s.min_degree},
          {"degree_mean", std::round(s.mean_degree * 1000) / 1000},
          {"degree_max", s.max_degree},
          {"degree_histogram", degrees},
          {"outbound_peers_mean", std::round(s.mean_outbound_peers * 1000) / 1000},
          {"outbound_groups_mean", std::round(s.mean_outbound_groups * 1000) / 1000},
          {"components", s.components},
          {"largest_component", s.largest_component},
          {"diameter", s.diameter},
          {"honest", s.honest},
          {"eclipsed", s.eclipsed},
          {"eclipsed_fraction", std::round(eclipsed * 10000) / 10000}};
}

/// For each mined block: how long it took to reach the nodes that were running and synced when
/// it was mined (reaching = holding that height or more).
json propagation_section(const world& w) {
  json blocks = json::array();
  std::vector<std::int64_t> all;
  for (const auto& m : w.mined()) {
    std::vector<std::int64_t> delays;
    std::size_t asked = 0;
    for (std::size_t i = 0; i < w.nodes().size(); ++i) {
      const auto& n = w.nodes()[i];
      if (i == m.node || !n.first_start || *n.first_start > m.at)
        continue;
      ++asked;
      auto h = static_cast<std::size_t>(m.height);
      if (h < n.reached.size() && n.reached[h] >= m.at.count())
        delays.push_back(n.reached[h] - m.at.count());
    }
    auto s = spread(delays);
    s["height"] = m.height;
    s["hash"] = m.hash;
    s["mined_at_ms"] = m.at.count();
    s["nodes"] = asked;
    blocks.push_back(s);
    all.insert(all.end(), delays.begin(), delays.end());
  }
  return {{"blocks", blocks}, {"all", spread(all)}};
}

json convergence_section(const world& w) {
  std::int32_t best = -1;
  std::set<std::string> tips;
  std::size_t running = 0;
  for (const auto& n : w.nodes())
    if (n.running && n.role != node_role::attacker) {
      ++running;
      best = std::max(best, n.final_height);
      tips.insert(n.final_tip);
    }
  std::size_t at_best = 0;
  for (const auto& n : w.nodes())
    if (n.running && n.role != node_role::attacker && n.final_height == best)
      ++at_best;
  return {{"honest_running", running},
          {"best_height", best},
          {"at_best_height", at_best},
          {"distinct_tips", tips.size()},
          {"converged", running > 0 && at_best == running && tips.size() == 1}};
}

/// Each attack: what its sessions did and what the honest nodes did to them; and, over all honest
/// nodes at the end, the attackers' addresses and the honest ones they ban.
json attacks_section(const world& w) {
  json attacks = json::array();
  for (std::size_t a = 0; a < w.attacks().size(); ++a) {
    const auto& plan = w.spec().attacks[a];
    const auto& record = w.attacks()[a];
    std::uint64_t sessions = 0, ready = 0, refused = 0, closed = 0, open = 0;
    for (const auto& [id, s] : w.attack_sessions_seen()) {
      if (s.attack != a)
        continue;
      ++sessions;
      ready += s.was_ready ? 1 : 0;
      refused += s.closed && !s.was_ready ? 1 : 0;
      closed += s.closed && s.was_ready ? 1 : 0;
      open += s.closed ? 0 : 1;
    }
    attacks.push_back({{"kind", to_string(plan.kind)},
                       {"at_ms", plan.at.count()},
                       {"steps", record.steps},
                       {"pairs", record.pairs.size()},
                       {"sessions", sessions},
                       {"ready", ready},
                       {"closed_before_ready", refused},
                       {"closed_after_ready", closed},
                       {"open_at_end", open},
                       {"messages_sent", record.messages}});
  }
  std::uint64_t attackers_banned = 0, honest_banned = 0;
  for (const auto& n : w.nodes()) {
    attackers_banned += n.attackers_banned;
    honest_banned += n.honest_banned;
  }
  return {{"attacks", attacks},
          {"bans_by_reason", w.ban_reasons()},
          {"bans_of_attackers", attackers_banned},
          {"bans_of_honest", honest_banned}};
}

} // namespace

json make_report(const world& w) {
  const auto& s = w.spec();
  json traffic = json::object();
  for (const auto& [command, t] : w.traffic())
    traffic[command] = {{"messages", t.messages}, {"bytes", t.bytes}};
  json samples = json::array();
  for (const auto& g : w.samples())
    samples.push_back(graph_sample_entry(g));
  json events = json::array();
  for (const auto& [at, what] : w.log())
    events.push_back({{"t_ms", at.count()}, {"what", what}});
  return {{"scenario", s.name},
          {"seed", s.seed},
          {"lanes", s.lanes},
          {"virtual_ms", w.now().count()},
          {"nodes",
           {{"serving", s.serving},
            {"fresh", s.fresh},
            {"attackers", s.attackers},
            {"total", w.nodes().size()}}},
          {"events", events},
          {"sync", sync_section(w)},
          {"traffic_sent_by_command", traffic},
          {"network", {{"wires_made", w.wires_made()}, {"wires_refused", w.wires_refused()}}},
          {"peer_graph", samples},
          {"propagation", propagation_section(w)},
          {"convergence", convergence_section(w)},
          {"attacks", attacks_section(w)}};
}

} // namespace qtc::sim

#include "runtime/net/peer_graph.hpp"

#include "runtime/net/ip_address.hpp"

#include <algorithm>
#include <deque>
#include <set>

namespace qtc {

namespace {

using adjacency = std::vector<std::vector<std::size_t>>;

/// Distances from `start` by breadth-first search; unreached nodes stay at SIZE_MAX.
std::vector<std::size_t> distances_from(const adjacency& adj, std::size_t start) {
  std::vector<std::size_t> dist(adj.size(), SIZE_MAX);
  std::deque<std::size_t> todo{start};
  dist[start] = 0;
  while (!todo.empty()) {
    auto n = todo.front();
    todo.pop_front();
    for (auto m : adj[n])
      if (dist[m] == SIZE_MAX) {
        dist[m] = dist[n] + 1;
        todo.push_back(m);
      }
  }
  return dist;
}

/// Counts the pieces, and finds the largest one's size and diameter (a search from each of its
/// nodes: a 1,000-node sample costs about a million steps).
void measure_components(const adjacency& adj, peer_graph_summary& out) {
  std::vector<std::size_t> piece(adj.size(), SIZE_MAX);
  std::vector<std::size_t> sizes;
  for (std::size_t n = 0; n < adj.size(); ++n) {
    if (piece[n] != SIZE_MAX)
      continue;
    auto dist = distances_from(adj, n);
    std::size_t size = 0;
    for (std::size_t m = 0; m < adj.size(); ++m)
      if (dist[m] != SIZE_MAX) {
        piece[m] = sizes.size();
        ++size;
      }
    sizes.push_back(size);
  }
  out.components = sizes.size();
  if (sizes.empty())
    return;
  auto largest =
      static_cast<std::size_t>(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
  out.largest_component = sizes[largest];
  for (std::size_t n = 0; n < adj.size(); ++n) {
    if (piece[n] != largest)
      continue;
    for (auto d : distances_from(adj, n))
      if (d != SIZE_MAX)
        out.diameter = std::max(out.diameter, d);
  }
}

/// Outbound diversity and eclipse counts of the honest nodes.
void measure_outbound(const std::vector<peer_graph_node>& nodes, const adjacency& outbound,
                      bool allow_private, peer_graph_summary& out) {
  std::size_t with_outbound = 0;
  double groups_total = 0;
  double peers_total = 0;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].attacker)
      continue;
    ++out.honest;
    if (outbound[n].empty())
      continue;
    ++with_outbound;
    std::set<std::vector<std::uint8_t>> groups;
    bool all_attackers = true;
    for (auto m : outbound[n]) {
      if (auto ip = parse_ip(nodes[m].ip))
        groups.insert(network_group(*ip, allow_private));
      all_attackers = all_attackers && nodes[m].attacker;
    }
    groups_total += static_cast<double>(groups.size());
    peers_total += static_cast<double>(outbound[n].size());
    if (all_attackers)
      ++out.eclipsed;
  }
  if (with_outbound > 0) {
    out.mean_outbound_groups = groups_total / static_cast<double>(with_outbound);
    out.mean_outbound_peers = peers_total / static_cast<double>(with_outbound);
  }
}

} // namespace

peer_graph_summary summarize_peer_graph(const std::vector<peer_graph_node>& nodes,
                                        const std::vector<peer_graph_edge>& edges,
                                        bool allow_private) {
  peer_graph_summary out;
  out.nodes = nodes.size();
  adjacency both(nodes.size());
  adjacency outbound(nodes.size());
  std::set<std::pair<std::size_t, std::size_t>> seen;
  for (const auto& e : edges) {
    if (e.from >= nodes.size() || e.to >= nodes.size() || e.from == e.to)
      continue;
    outbound[e.from].push_back(e.to);
    if (!seen.insert(std::minmax(e.from, e.to)).second)
      continue; // both dialed each other: one connection for the graph's shape
    both[e.from].push_back(e.to);
    both[e.to].push_back(e.from);
    ++out.edges;
  }
  if (!nodes.empty()) {
    out.min_degree = SIZE_MAX;
    for (const auto& a : both) {
      ++out.degree_histogram[a.size()];
      out.min_degree = std::min(out.min_degree, a.size());
      out.max_degree = std::max(out.max_degree, a.size());
    }
    out.mean_degree = 2.0 * static_cast<double>(out.edges) / static_cast<double>(nodes.size());
  }
  measure_components(both, out);
  measure_outbound(nodes, outbound, allow_private, out);
  return out;
}

} // namespace qtc

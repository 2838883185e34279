// Figures of a network's peer graph, for the simulator's report: how many connections each node
// has, how diverse its outbound peers' network groups are, whether the graph is in one piece and
// how far apart its nodes are, and how many honest nodes are eclipsed (every outbound peer an
// attacker). Pure: the simulator samples the nodes' peer lists and hands them over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qtc {

struct peer_graph_node {
  std::string ip;
  bool attacker = false;
};

/// A connection: `from` dialed `to` (indices into the node list).
struct peer_graph_edge {
  std::size_t from = 0;
  std::size_t to = 0;
};

struct peer_graph_summary {
  std::size_t nodes = 0;
  std::size_t edges = 0;                               ///< connections, each counted once
  std::map<std::size_t, std::size_t> degree_histogram; ///< connections of a node -> nodes
  std::size_t min_degree = 0;
  std::size_t max_degree = 0;
  double mean_degree = 0;
  /// Mean over honest nodes with outbound peers of the distinct network groups among them,
  /// and of the outbound peers themselves (their ratio is the diversity).
  double mean_outbound_groups = 0;
  double mean_outbound_peers = 0;
  std::size_t components = 0;        ///< connected pieces (connections taken both ways)
  std::size_t largest_component = 0; ///< nodes in the largest piece
  std::size_t diameter = 0;          ///< longest shortest path inside the largest piece
  std::size_t honest = 0;            ///< honest nodes
  std::size_t eclipsed = 0; ///< honest nodes whose outbound peers are all attackers (at least one)
};

/// `allow_private`: the chain spec's (it decides the network groups of private addresses).
peer_graph_summary summarize_peer_graph(const std::vector<peer_graph_node>& nodes,
                                        const std::vector<peer_graph_edge>& edges,
                                        bool allow_private);

} // namespace qtc

// The simulator's peer-graph figures (runtime/net/peer_graph): degrees, pieces, diameter,
// outbound group diversity and eclipsed honest nodes, on graphs small enough to check by hand.
#include "runtime/net/peer_graph.hpp"

#include <doctest/doctest.h>

using namespace qtc;

namespace {

std::vector<peer_graph_node> honest(std::initializer_list<const char*> ips) {
  std::vector<peer_graph_node> out;
  for (const auto* ip : ips)
    out.push_back({ip, false});
  return out;
}

} // namespace

TEST_CASE("peer graph: a path of four has diameter 3, degrees 1-2, one piece") {
  auto nodes = honest({"11.0.0.1", "12.0.0.1", "13.0.0.1", "14.0.0.1"});
  auto s = summarize_peer_graph(nodes, {{0, 1}, {1, 2}, {3, 2}}, false);
  CHECK(s.nodes == 4);
  CHECK(s.edges == 3);
  CHECK(s.components == 1);
  CHECK(s.largest_component == 4);
  CHECK(s.diameter == 3);
  CHECK(s.min_degree == 1);
  CHECK(s.max_degree == 2);
  CHECK(s.degree_histogram == std::map<std::size_t, std::size_t>{{1, 2}, {2, 2}});
  CHECK(s.mean_degree == doctest::Approx(1.5));
}

TEST_CASE("peer graph: two dialing each other are one connection, pieces are counted") {
  auto nodes = honest({"11.0.0.1", "12.0.0.1", "13.0.0.1", "14.0.0.1", "15.0.0.1"});
  auto s = summarize_peer_graph(nodes, {{0, 1}, {1, 0}, {2, 3}, {0, 0}, {7, 1}}, false);
  CHECK(s.edges == 2);      // the self-loop and the unknown node are ignored
  CHECK(s.components == 3); // {0,1}, {2,3}, {4}
  CHECK(s.largest_component == 2);
  CHECK(s.diameter == 1);
  CHECK(s.min_degree == 0);
}

TEST_CASE("peer graph: outbound groups and eclipsed honest nodes") {
  std::vector<peer_graph_node> nodes{{"11.0.0.1", false}, {"11.0.0.2", false}, {"12.0.0.1", false},
                                     {"150.1.0.1", true}, {"150.1.0.2", true}, {"150.2.0.1", true}};
  // Node 0: two peers in one /16 and one elsewhere; node 1: attackers only (eclipsed); node 2:
  // one attacker and one honest peer.
  auto s =
      summarize_peer_graph(nodes, {{0, 1}, {0, 2}, {0, 5}, {1, 3}, {1, 4}, {2, 3}, {2, 0}}, false);
  CHECK(s.honest == 3);
  CHECK(s.eclipsed == 1);
  // Groups: node 0 {11.0, 12.0, 150.2} = 3; node 1 {150.1} = 1; node 2 {150.1, 11.0} = 2.
  CHECK(s.mean_outbound_groups == doctest::Approx(2.0));
  CHECK(s.mean_outbound_peers == doctest::Approx(7.0 / 3));
}

TEST_CASE("peer graph: nothing at all") {
  auto s = summarize_peer_graph({}, {}, true);
  CHECK(s.nodes == 0);
  CHECK(s.components == 0);
  CHECK(s.eclipsed == 0);
}

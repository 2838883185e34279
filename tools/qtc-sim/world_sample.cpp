// What the world reads from its nodes: the peer graph (every running node's ready outbound
// peers, from its peer manager's status) and, at the end, each node's tip and traffic.
#include "runtime/net/ip_address.hpp"
#include "world.hpp"

#include <map>

namespace qtc::sim {

namespace {

bool is_outbound(const std::string& type) {
  return type == "outbound-full-relay" || type == "block-relay" || type == "manual";
}

/// The running nodes (by position in `index`) a peer manager's detailed status names as its ready
/// outbound peers.
std::vector<std::size_t> outbound_ready(const status_report& status,
                                        const std::map<std::string, std::size_t>& index) {
  std::vector<std::size_t> out;
  for (const auto& p : caf::get_or(status, "peers", caf::config_value::list{})) {
    const auto* entry = caf::get_if<caf::settings>(&p);
    if (entry == nullptr || caf::get_or(*entry, "state", std::string{}) != "ready"
        || !is_outbound(caf::get_or(*entry, "type", std::string{})))
      continue;
    auto to = index.find(endpoint_host(caf::get_or(*entry, "remote", std::string{})));
    if (to != index.end())
      out.push_back(to->second);
  }
  return out;
}

} // namespace

void world::sample_graph() {
  std::map<std::string, std::size_t> index; // ip -> position among running nodes
  std::vector<peer_graph_node> nodes;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].running) {
      index[nodes_[i].ip] = nodes.size();
      nodes.push_back({nodes_[i].ip, nodes_[i].role == node_role::attacker});
      which.push_back(i);
    }
  // Every node is asked at once, so that the lanes answer side by side.
  using handle = decltype(home_.self->request(nodes_[0].peers, caf::infinite, status_atom::value,
                                              status_verbosity::detailed));
  std::vector<handle> asked;
  for (auto i : which) {
    auto& self = lane_of(i).self;
    asked.push_back(self->request(nodes_[i].peers, caf::infinite, status_atom::value,
                                  status_verbosity::detailed));
  }
  run();
  // Each lane reads its own nodes' answers (side by side); the edges are joined in node order.
  std::vector<std::vector<std::size_t>> peers_of(which.size());
  for_each_lane([&](lane& l) {
    for (std::size_t k = 0; k < which.size(); ++k)
      if (&lane_of(which[k]) == &l)
        asked[k].receive(
            [&](status_report& status) { peers_of[k] = outbound_ready(status, index); },
            [](caf::error&) {});
  });
  std::vector<peer_graph_edge> edges;
  for (std::size_t k = 0; k < which.size(); ++k)
    for (auto to : peers_of[k])
      edges.push_back({k, to});
  samples_.push_back({now(), which.size(),
                      summarize_peer_graph(nodes, edges, scenario_.spec.allow_private_addresses)});
}

void world::finish() {
  run();
  for (auto& n : nodes_) {
    if (!n.running)
      continue;
    if (auto s = request<status_report>(n.sync, status_atom::value, status_verbosity::info)) {
      n.final_height = static_cast<std::int32_t>(caf::get_or(*s, "blocks", std::int64_t{-1}));
      n.final_tip = caf::get_or(*s, "tip", std::string{});
    }
    if (auto s = request<status_report>(n.peers, status_atom::value, status_verbosity::info)) {
      n.bytes_sent =
          static_cast<std::uint64_t>(caf::get_or(*s, "bytes-sent-total", std::int64_t{0}));
      n.bytes_received =
          static_cast<std::uint64_t>(caf::get_or(*s, "bytes-received-total", std::int64_t{0}));
    }
  }
  wires_made_ = 0;
  wires_refused_ = 0;
  for (auto& l : lanes_) {
    auto rp = l->self->request(l->net, caf::infinite, status_atom::value);
    run();
    rp.receive(
        [&](std::uint64_t made, std::uint64_t refused, std::uint64_t) {
          wires_made_ += made;
          wires_refused_ += refused;
        },
        [](caf::error&) {});
  }
  if (scenario_.attackers > 0)
    read_bans();
}

} // namespace qtc::sim

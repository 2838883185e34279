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
  std::vector<peer_graph_edge> edges;
  for (std::size_t k = 0; k < which.size(); ++k) {
    auto status = request<status_report>(nodes_[which[k]].peers, status_atom::value,
                                         status_verbosity::detailed);
    if (!status)
      continue;
    for (const auto& p : caf::get_or(*status, "peers", caf::config_value::list{})) {
      const auto* entry = caf::get_if<caf::settings>(&p);
      if (entry == nullptr || caf::get_or(*entry, "state", std::string{}) != "ready"
          || !is_outbound(caf::get_or(*entry, "type", std::string{})))
        continue;
      auto to = index.find(endpoint_host(caf::get_or(*entry, "remote", std::string{})));
      if (to != index.end())
        edges.push_back({k, to->second});
    }
  }
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
  auto rp = self_->request(net_, caf::infinite, status_atom::value);
  run();
  rp.receive(
      [&](std::uint64_t made, std::uint64_t refused, std::uint64_t) {
        wires_made_ = made;
        wires_refused_ = refused;
      },
      [](caf::error&) {});
  if (scenario_.attackers > 0)
    read_bans();
}

} // namespace qtc::sim

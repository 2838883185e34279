// qtc-network-test: production validation of a live QuantumCoin network (the seed's
// `network_test`), as an operator runs it before and after a deployment.
//
//   qtc-network-test --chain-spec=FILE [--dns-servers=...] [--peers=N] [--timeout=S] [--json]
//
// 1. Every DNS seed of the chain spec is asked for A, AAAA, SRV and TXT records (the node's c-ares
//    resolver, the node's reading of the answers); each answer and its time are reported.
// 2. Up to N of the addresses found (and any --connect ones) are connected to over each transport
//    (Noise hybrid, TLS) with the node's own session core: handshake, QuantumProof both ways,
//    version/verack, then getaddr and getheaders from genesis until the peer has no more; every
//    header is checked by the node's header tree (proof of work, linkage, the spec's genesis).
// 3. A table (or --json) and a verdict: exit 0 healthy, 1 degraded (the failed checks are
//    named), 2 bad arguments or an unreadable chain spec (docs/operations.md).
//
// The connections run in parallel threads (this is a tool, not the node: blocking is fine here).
#include "dns_probe.hpp"
#include "options.hpp"
#include "peer_probe.hpp"
#include "report.hpp"

#include <iostream>
#include <mutex>
#include <thread>

using namespace qtc;
using namespace qtc::nettest;

namespace {

constexpr std::size_t max_parallel = 8;

/// The connections to make: --connect's peers first, then the seeds' (at most `o.peers`
/// addresses), each over every transport it may speak.
std::vector<peer_target> choose_targets(const dns_report& dns, const options& o) {
  std::vector<found_peer> peers;
  for (const auto& e : o.connect)
    peers.push_back({*parse_ip(e.host), e.port, e.pubkey_hex, e.tls_only, "connect"});
  for (const auto& p : dns.peers) {
    if (peers.size() >= o.connect.size() + o.peers)
      break;
    auto same = [&](const found_peer& f) { return f.ip == p.ip && f.port == p.port; };
    if (std::none_of(peers.begin(), peers.end(), same))
      peers.push_back(p);
  }
  std::vector<peer_target> out;
  for (const auto& p : peers)
    for (auto t : o.transports)
      if (!p.tls_only || t == transport_kind::tls)
        out.push_back({p.ip, p.port, t, p.pubkey_hex, p.source});
  return out;
}

std::vector<peer_probe> probe_all(const chain_spec& spec, const std::vector<peer_target>& targets,
                                  const options& o) {
  std::vector<peer_probe> results(targets.size());
  std::mutex m;
  std::size_t next = 0;
  auto worker = [&] {
    for (;;) {
      std::size_t i;
      {
        std::lock_guard lock{m};
        if (next == targets.size())
          return;
        i = next++;
      }
      results[i] = probe_peer(spec, targets[i], o);
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < std::min(max_parallel, targets.size()); ++k)
    threads.emplace_back(worker);
  for (auto& t : threads)
    t.join();
  return results;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed))
    return *code;
  const auto& o = std::get<options>(parsed);
  auto loaded = load_chain_spec(o.chain_spec_file);
  if (!loaded.spec) {
    for (const auto& e : loaded.errors)
      std::cerr << "qtc-network-test: " << e.to_string() << "\n";
    return exit_usage;
  }
  const auto& spec = *loaded.spec;
  network_report r;
  r.chain = spec.network;
  r.dns_servers = o.dns_servers;
  r.dns = resolve_seeds(spec, o);
  if (!r.dns.error.empty()) {
    std::cerr << "qtc-network-test: --dns-servers: " << r.dns.error << "\n";
    return exit_usage;
  }
  r.peers = probe_all(spec, choose_targets(r.dns, o), o);
  r.checks = judge(r.dns, r.peers, o.peers);
  if (o.json)
    print_json(std::cout, r);
  else
    print_table(std::cout, r);
  return healthy(r) ? exit_healthy : exit_degraded;
}

#include "report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>

namespace qtc::nettest {

namespace {

std::string fixed1(double v) {
  if (v < 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string joined(const std::vector<std::string>& xs, const char* sep = ", ") {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

bool query_failed(const seed_query& q) {
  return q.failure != dns_failure::none && q.failure != dns_failure::no_data;
}

check judge_seed(const std::string& seed, const std::vector<seed_query>& queries) {
  check c{"seed " + seed, true, ""};
  std::size_t peers = 0;
  std::vector<std::string> failures;
  for (const auto& q : queries) {
    if (q.seed != seed)
      continue;
    peers += q.peers.size();
    if (query_failed(q))
      failures.push_back(to_string(q.type) + " " + to_string(q.failure));
  }
  c.ok = peers > 0 && failures.empty();
  c.detail = std::to_string(peers) + (peers == 1 ? " peer" : " peers");
  if (!failures.empty())
    c.detail += "; failed: " + joined(failures);
  return c;
}

} // namespace

std::vector<check> judge(const dns_report& dns, const std::vector<peer_probe>& peers,
                         std::size_t peers_wanted) {
  std::vector<check> out;
  std::vector<std::string> seeds;
  for (const auto& q : dns.queries)
    if (std::find(seeds.begin(), seeds.end(), q.seed) == seeds.end())
      seeds.push_back(q.seed);
  for (const auto& s : seeds)
    out.push_back(judge_seed(s, dns.queries));
  if (peers_wanted > 0)
    out.push_back({"peers found", !dns.peers.empty(),
                   std::to_string(dns.peers.size()) + " usable addresses"});
  for (const auto& p : peers) {
    check c{"peer " + p.address + " " + p.transport, p.failed_step.empty(), ""};
    c.detail = c.ok ? std::to_string(p.headers) + " valid headers, tip " + p.tip_hash.substr(0, 16)
                    : p.failed_step + ": " + p.error;
    out.push_back(std::move(c));
  }
  return out;
}

bool healthy(const network_report& r) {
  return std::all_of(r.checks.begin(), r.checks.end(), [](const check& c) { return c.ok; });
}

void print_table(std::ostream& out, const network_report& r) {
  char line[512];
  out << "QuantumCoin network test: chain " << r.chain << ", resolvers "
      << (r.dns_servers.empty() ? "from /etc/resolv.conf" : joined(r.dns_servers)) << "\n\n";
  out << "DNS seeds\n";
  std::snprintf(line, sizeof(line), "  %-36s %-5s %-14s %8s  %s\n", "seed", "type", "result", "ms",
                "records -> peers");
  out << line;
  for (const auto& q : r.dns.queries) {
    auto result = q.failure == dns_failure::none ? std::string{"ok"} : to_string(q.failure);
    auto what = joined(q.records);
    if (!q.peers.empty())
      what += " -> " + joined(q.peers);
    if (!q.rejected.empty())
      what += " (not used: " + joined(q.rejected, "; ") + ")";
    std::snprintf(line, sizeof(line), "  %-36s %-5s %-14s %8s  %s\n", q.seed.c_str(),
                  to_string(q.type).c_str(), result.c_str(), fixed1(q.milliseconds).c_str(),
                  what.c_str());
    out << line;
  }
  out << "\nPeers (ms: TCP connect, handshake with QuantumProof, first headers answer)\n";
  std::snprintf(line, sizeof(line), "  %-24s %-6s %-10s %8s %9s %8s %-3s %7s %8s %6s  %s\n",
                "address", "via", "result", "connect", "handshake", "headers", "pq", "height",
                "headers", "addrs", "tip / user agent");
  out << line;
  for (const auto& p : r.peers) {
    auto result = p.failed_step.empty() ? std::string{"ok"} : p.failed_step;
    std::snprintf(line, sizeof(line), "  %-24s %-6s %-10s %8s %9s %8s %-3s %7d %8llu %6s  %s %s\n",
                  p.address.c_str(), p.transport.c_str(), result.c_str(),
                  fixed1(p.connect_ms).c_str(), fixed1(p.handshake_ms).c_str(),
                  fixed1(p.headers_ms).c_str(), p.post_quantum ? "yes" : "no", p.start_height,
                  static_cast<unsigned long long>(p.headers),
                  p.addresses ? std::to_string(*p.addresses).c_str() : "-",
                  p.tip_hash.substr(0, 16).c_str(), p.user_agent.c_str());
    out << line;
  }
  out << "\nChecks\n";
  std::size_t failed = 0;
  for (const auto& c : r.checks) {
    failed += c.ok ? 0 : 1;
    out << (c.ok ? "  ok      " : "  FAILED  ") << c.name << ": " << c.detail << "\n";
  }
  out << "\nVerdict: "
      << (failed == 0 ? "healthy"
                      : "degraded (" + std::to_string(failed) + " of "
                            + std::to_string(r.checks.size()) + " checks failed)")
      << "\n";
}

void print_json(std::ostream& out, const network_report& r) {
  using nlohmann::json;
  json seeds = json::array();
  for (const auto& q : r.dns.queries)
    seeds.push_back({{"seed", q.seed},
                     {"type", to_string(q.type)},
                     {"result", q.failure == dns_failure::none ? "ok" : to_string(q.failure)},
                     {"detail", q.detail},
                     {"milliseconds", q.milliseconds},
                     {"records", q.records},
                     {"peers", q.peers},
                     {"rejected", q.rejected}});
  json peers = json::array();
  for (const auto& p : r.peers)
    peers.push_back({{"address", p.address},
                     {"transport", p.transport},
                     {"source", p.source},
                     {"result", p.failed_step.empty() ? "ok" : p.failed_step},
                     {"error", p.error},
                     {"connect_ms", p.connect_ms},
                     {"handshake_ms", p.handshake_ms},
                     {"headers_ms", p.headers_ms},
                     {"post_quantum", p.post_quantum},
                     {"node_id", p.node_id},
                     {"user_agent", p.user_agent},
                     {"protocol_version", p.protocol_version},
                     {"start_height", p.start_height},
                     {"addresses", p.addresses ? json(*p.addresses) : json(nullptr)},
                     {"headers", p.headers},
                     {"tip", p.tip_hash}});
  json checks = json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  json doc = {{"chain", r.chain},
              {"dns_servers", r.dns_servers},
              {"verdict", healthy(r) ? "healthy" : "degraded"},
              {"checks", checks},
              {"seeds", seeds},
              {"peers", peers}};
  out << doc.dump(2) << "\n";
}

} // namespace qtc::nettest

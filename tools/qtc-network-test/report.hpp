// qtc-network-test's verdict: the named checks, the table an operator reads, the JSON a script
// reads, and the exit code.
#pragma once

#include "dns_probe.hpp"
#include "peer_probe.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace qtc::nettest {

struct check {
  std::string name; ///< "seed <name>", "peer <ip:port> <transport>", "peers found"
  bool ok = false;
  std::string detail;
};

struct network_report {
  std::string chain;
  std::vector<std::string> dns_servers;
  dns_report dns;
  std::vector<peer_probe> peers;
  std::vector<check> checks;
};

/// Judges the results: one check per seed, one per connection, and whether any peer was found.
std::vector<check> judge(const dns_report& dns, const std::vector<peer_probe>& peers,
                         std::size_t peers_wanted);

bool healthy(const network_report& r);

void print_table(std::ostream& out, const network_report& r);
void print_json(std::ostream& out, const network_report& r);

} // namespace qtc::nettest

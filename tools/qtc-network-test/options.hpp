// qtc-network-test's command line.
#pragma once

#include "runtime/chain/chain_spec.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/transport/channel_select.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace qtc::nettest {

inline constexpr int exit_healthy = 0;
inline constexpr int exit_degraded = 1;
inline constexpr int exit_usage = 2;

struct options {
  std::string chain_spec_file;
  std::vector<std::string> dns_servers;       ///< "ip:port"; empty: the system's resolvers
  std::size_t peers = 8;                      ///< addresses to connect to
  std::chrono::milliseconds timeout{10'000};  ///< the bound of each step (a query, an answer)
  std::vector<network_address_entry> connect; ///< addresses to test besides the seeds' answers
  std::vector<transport_kind> transports{transport_kind::noise, transport_kind::tls};
  bool json = false;
};

extern const char* const usage;

/// The options, or an exit code: 0 after --help, exit_usage (with the reason on stderr) on a bad
/// argument.
std::variant<options, int> parse_options(int argc, char** argv);

} // namespace qtc::nettest

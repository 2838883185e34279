// qtc-attack's command line: the attacks it knows, their parameters and their bounds.
#pragma once

#include "runtime/net/ip_address.hpp"
#include "runtime/transport/channel_select.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace qtc::attack {

constexpr int exit_failed = 1; ///< the target could not be reached at all
constexpr int exit_usage = 2;  ///< bad arguments

enum class attack_kind {
  ping_flood,
  getheaders_flood,
  getdata_nonreader,
  getdata_amplify,
  partial_frame,
  slow_version,
  no_verack,
  silent,
  junk_handshake,
  bad_checksum,
  unknown_flood,
  addr_flood,
  inv_flood,
  header_spam,
  low_work_headers,
  connection_churn,
  shared_identity,
};

/// How far an attack takes a connection before it does what it came for. A connection that the
/// node closes (or refuses) before that point is counted as refused; after it, as closed by the
/// node.
enum class handshake_goal {
  tcp,       ///< the TCP connection is enough (junk-handshake, churn without a handshake)
  transport, ///< the Noise (or TLS) handshake (silent, slow-version, no-verack)
  version,   ///< the version handshake too: the session is ready
};

std::string_view to_string(handshake_goal g);

struct attack_info {
  attack_kind kind;
  std::string_view name;
  handshake_goal goal;
  bool uses_rate; ///< --rate paces what it sends
};

const attack_info& info(attack_kind k);

/// Bounds that keep a run an experiment, not an outage.
constexpr unsigned max_total_connections = 1000;
constexpr double max_duration = 600;
constexpr double max_rate = 10000;
constexpr unsigned max_bursts = 1000;
constexpr unsigned max_subnets = 254;

struct options {
  std::string chain_spec;
  attack_kind attack = attack_kind::ping_flood;
  ip_bytes target_ip{};
  std::uint16_t target_port = 0;
  unsigned sources = 1;
  unsigned subnets = 1;
  unsigned first_subnet = 1; ///< the second octet of the first /16
  unsigned connections = 1;  ///< per source
  double duration = 10;      ///< seconds
  double rate = 10;          ///< per connection and second
  unsigned bursts = 1;
  unsigned items = 0;      ///< 0: the attack's default (resolved by parse)
  std::uint64_t bytes = 0; ///< 0: the attack's default (resolved once the spec is known)
  unsigned interval_ms = 2000;
  bool handshake = true; ///< connection-churn: complete the handshake before disconnecting
  std::string key_file;
  std::string data_dir;
  transport_kind transport = transport_kind::noise;

  unsigned slots() const {
    return sources * connections;
  }
};

extern const char* const usage;

/// The handshake the run's connections complete before the attack proper (churn without a
/// handshake: TCP only).
handshake_goal goal_of(const options& o);

/// The options, or an exit code (0 after --help, exit_usage with the reason on stderr).
std::variant<options, int> parse_options(int argc, char** argv);

/// The source address of source `index`: 127.(first_subnet + index % subnets).(h / 254).
/// (1 + h % 254) with h = index / subnets, so that sources spread over `subnets` /16s and, within
/// one, fill a /24 before the next (the node's per-subnet limit counts /24s); ::1 for an IPv6
/// target.
ip_bytes source_address(const options& o, unsigned index);

} // namespace qtc::attack

// The chain spec: everything a node must know about its network before it knows any peer —
// network magic, protocol version and limits, DNS seeds and bootstrap nodes, genesis, proof of
// work rules and DoS limits. Loaded from a TOML file (config/mainnet.toml, config/regtest.toml)
// and validated completely: every problem is reported as `file:line: key: what`.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtc {

/// One problem found in a configuration file.
struct config_error {
  std::string file;     ///< the path as given to the loader
  std::size_t line = 0; ///< 1-based; the offending value's line, the table header's line for a
                        ///< missing key, 1 for a missing table, 0 when the file cannot be read
  std::string key;      ///< dotted path, e.g. "network_protocol.default_port"
  std::string what;     ///< e.g. "expected an integer, got a string"
  /// "file:line: key: what" (without the line when it is 0, without the key when it is empty).
  std::string to_string() const;
};

/// A peer address, in the chain spec or configured by the operator:
/// `[tls:][<64 hex static key>@]host:port`, IPv6 hosts as `[v6]:port`.
struct network_address_entry {
  bool tls_only = false; ///< `tls:`: the peer speaks only the TLS fallback transport
  std::string
      pubkey_hex; ///< the peer's node id (pinning: SHA-256 of its static and ML-DSA keys), or empty
  std::string host; ///< name or address; IPv6 without brackets
  std::uint16_t port = 0;
};

/// Parses one address entry; an error sentence if it is malformed.
std::optional<network_address_entry> parse_address_entry(std::string_view text, std::string& error);

/// Whether `name` is a valid DNS host name (RFC 1123 labels, at most 253 characters).
bool is_valid_hostname(std::string_view name);

/// The optional [nat] table: how the NAT mapper learns the external address and maps the P2P
/// port (docs/operations.md). Absent: the mapper probes nothing (it still counts what peers see).
struct nat_settings {
  bool enabled = false;                  ///< probe and map at all
  std::vector<std::string> stun_servers; ///< "host:port" (IPv6 as "[v6]:port"), asked in order
  bool stun = true;                      ///< learn the address and NAT behaviour by STUN
  bool pcp = true;                       ///< map the port with PCP (RFC 6887)
  bool natpmp = true;                    ///< ... with NAT-PMP (RFC 6886)
  bool upnp = true;                      ///< ... with UPnP IGD (miniupnpc)
  std::chrono::seconds lease_time{1200}; ///< asked of the gateway; renewed at half
  std::uint32_t confirmations = 3;       ///< peers that must agree before an address is confirmed
  std::chrono::seconds probe_interval{1800};   ///< how often STUN asks again
  std::chrono::seconds mapping_retry{300};     ///< after every mapping method failed
  std::chrono::milliseconds stun_timeout{500}; ///< RFC 8489's RTO: the first retransmission
  std::uint32_t stun_sends = 7;                ///< RFC 8489's Rc: requests before giving up
};

struct chain_spec {
  std::filesystem::path source; ///< the file it was loaded from

  // [chain]
  std::string network; ///< network name, e.g. "mainnet", "regtest": [a-z0-9_-]{1,32}

  // [network_protocol]
  std::array<std::uint8_t, 4> magic{};        ///< message start bytes ("QTCM")
  std::int32_t protocol_version = 0;          ///< the version this node speaks (70015)
  std::int32_t min_protocol_version = 0;      ///< oldest peer version accepted
  std::uint16_t default_port = 0;             ///< P2P port (mainnet 8333, regtest 18444)
  /// JSON-RPC port (optional key; absent: default_port - 1, as bitcoind's ports all are:
  /// mainnet 8332, regtest 18443)
  std::uint16_t default_rpc_port = 0;
  std::uint32_t max_connections = 0;          ///< total peer connections (125)
  std::chrono::seconds connection_timeout{0}; ///< TCP connect + handshake limit (5 s)
  std::uint32_t max_message_size = 0;         ///< largest P2P payload accepted, bytes (4,000,000)

  // [discovery]
  std::vector<std::string> dns_seeds; ///< seed host names queried for A/AAAA/SRV/TXT
  std::vector<network_address_entry> bootstrap_nodes; ///< used when DNS yields nothing usable
  bool allow_private_addresses = false;       ///< accept loopback/private peer addresses (regtest)
  std::chrono::seconds dns_fallback_after{0}; ///< when to fall back to the bootstrap nodes

  // [genesis]
  std::int32_t genesis_version = 0;
  std::uint32_t genesis_time = 0; ///< Unix time
  std::uint32_t genesis_bits = 0; ///< compact target
  std::uint32_t genesis_nonce = 0;
  std::string genesis_coinbase_message; ///< 1..90 bytes in the coinbase input script
  std::uint64_t genesis_reward = 0;     ///< base units
  std::string genesis_hash_hex;         ///< optional expected hash (64 hex), "" if absent

  // [proof_of_work]
  std::string pow_limit_hex;              ///< easiest allowed target, 64 hex chars, big-endian
  std::chrono::seconds target_spacing{0}; ///< intended time between blocks (600 s)
  std::uint32_t retarget_interval = 0;    ///< blocks between retargets; 0 = never (regtest)
  std::chrono::seconds max_future_block_time{0}; ///< how far ahead of now a header may be (7200 s)
  std::uint32_t median_time_span = 0; ///< blocks in the median-time-past window, odd (11)
  /// The least total work a header chain needs before the node stores any of it (64 hex, big
  /// endian; all zeros when absent): Bitcoin Core's nMinimumChainWork, raised with releases.
  std::string minimum_chain_work_hex;

  // [dos]
  std::uint32_t max_connections_per_ip = 0;     ///< inbound connections from one address (3)
  std::uint32_t max_connections_per_subnet = 0; ///< inbound connections from one subnet (10)
  std::uint8_t subnet_prefix_v4 = 0;            ///< IPv4 subnet size for the limit (/24)
  std::uint8_t subnet_prefix_v6 = 0;            ///< IPv6 subnet size for the limit (/64)
  // The next four are enforced by the security manager (docs/security.md).
  std::uint32_t max_messages_per_minute = 0; ///< unsolicited messages per peer address (100)
  std::uint64_t max_bytes_per_minute = 0;    ///< unsolicited bytes per peer address (1 MB)
  std::uint32_t ban_threshold = 0;           ///< misbehaviour score that bans (100)
  std::chrono::seconds ban_duration{0};      ///< first ban length (86400 s)

  // [nat] (optional)
  nat_settings nat;
};

struct chain_spec_result {
  std::optional<chain_spec> spec;   ///< set iff `errors` is empty
  std::vector<config_error> errors; ///< every problem found, in file order
};

/// Loads and validates a chain spec file. Never throws.
chain_spec_result load_chain_spec(const std::filesystem::path& file);

/// Validates chain spec text; `file_name` is used in the errors. Never throws.
chain_spec_result parse_chain_spec(std::string_view text, const std::string& file_name);

} // namespace qtc

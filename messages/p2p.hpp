// The P2P message catalog: every message of the protocol, its payload layout (Bitcoin's
// serialization; docs/protocol.md has each byte), and a strict decoder.
//
// Decoding bounds every count by the protocol's limit for that field and by the bytes left,
// refuses trailing bytes, and reports a distinct `wire_error`. Unknown commands are not errors:
// they decode to `unknown_message`, which the session skips and counts.
#pragma once

#include "messages/block.hpp"
#include "messages/framing.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace qtc {

// -- limits (Bitcoin Core's, where it has one) -------------------------------------------------

constexpr std::size_t max_user_agent_length = 256;
constexpr std::size_t max_addr_entries = 1000;
constexpr std::size_t max_addrv2_address_length = 512;
constexpr std::size_t max_locator_hashes = 101;
constexpr std::size_t max_headers_results = 2000;
constexpr std::size_t max_inv_entries = 50000;
constexpr std::size_t max_quantum_key_length = 4096;
constexpr std::size_t max_quantum_signature_length = 65536;
constexpr std::int64_t max_money = 2'100'000'000'000'000;

// -- shared pieces -----------------------------------------------------------------------------

/// An address as `version` and `addr` carry it: services, IPv6 (or IPv4-mapped) bytes, port.
struct net_address {
  std::uint64_t services = 0;
  std::array<std::uint8_t, 16> ip{}; ///< IPv4 as ::ffff:a.b.c.d
  std::uint16_t port = 0;            ///< big-endian on the wire
  friend bool operator==(const net_address&, const net_address&) = default;
};

/// BIP155 network ids.
enum class bip155_network : std::uint8_t {
  ipv4 = 1,
  ipv6 = 2,
  torv2 = 3, ///< deprecated; refused like Bitcoin Core does
  torv3 = 4,
  i2p = 5,
  cjdns = 6,
};

struct addrv2_entry {
  std::uint32_t time = 0;
  std::uint64_t services = 0;
  std::uint8_t network = 0; ///< a bip155_network, or an unknown id (kept, not interpreted)
  bytes address;
  std::uint16_t port = 0;
  friend bool operator==(const addrv2_entry&, const addrv2_entry&) = default;
};

enum class inv_type : std::uint32_t {
  error = 0,
  tx = 1,
  block = 2,
  filtered_block = 3,
  compact_block = 4,
};

struct inv_item {
  std::uint32_t type = 0; ///< an inv_type (unknown values are carried, not interpreted)
  hash256 hash{};
  friend bool operator==(const inv_item&, const inv_item&) = default;
};

// -- messages ----------------------------------------------------------------------------------

struct version_message {
  std::int32_t version = 0;
  std::uint64_t services = 0;
  std::int64_t timestamp = 0;
  net_address addr_recv;
  net_address addr_from;
  std::uint64_t nonce = 0;
  std::string user_agent;
  std::int32_t start_height = 0;
  bool relay = true; ///< absent on the wire means true (BIP37)
  friend bool operator==(const version_message&, const version_message&) = default;
};

struct verack_message {
  friend bool operator==(const verack_message&, const verack_message&) = default;
};
struct getaddr_message {
  friend bool operator==(const getaddr_message&, const getaddr_message&) = default;
};
struct sendheaders_message {
  friend bool operator==(const sendheaders_message&, const sendheaders_message&) = default;
};
struct sendaddrv2_message {
  friend bool operator==(const sendaddrv2_message&, const sendaddrv2_message&) = default;
};

struct ping_message {
  std::uint64_t nonce = 0;
  friend bool operator==(const ping_message&, const ping_message&) = default;
};
struct pong_message {
  std::uint64_t nonce = 0;
  friend bool operator==(const pong_message&, const pong_message&) = default;
};

struct timed_address {
  std::uint32_t time = 0;
  net_address address;
  friend bool operator==(const timed_address&, const timed_address&) = default;
};
struct addr_message {
  std::vector<timed_address> addresses;
  friend bool operator==(const addr_message&, const addr_message&) = default;
};
struct addrv2_message {
  std::vector<addrv2_entry> addresses;
  friend bool operator==(const addrv2_message&, const addrv2_message&) = default;
};

/// getheaders and getblocks share the layout.
struct locator_request {
  std::uint32_t version = 0;
  std::vector<hash256> locator;
  hash256 stop{};
  friend bool operator==(const locator_request&, const locator_request&) = default;
};
struct getheaders_message : locator_request {};
struct getblocks_message : locator_request {};

struct headers_message {
  std::vector<block_header> headers; ///< each followed by a zero tx count on the wire
  friend bool operator==(const headers_message&, const headers_message&) = default;
};

struct inv_message {
  std::vector<inv_item> items;
  friend bool operator==(const inv_message&, const inv_message&) = default;
};
struct getdata_message : inv_message {};
struct notfound_message : inv_message {};

struct block_message {
  qtc::block block;
  /// The payload the block was decoded from (empty for a block built here): stored as it
  /// arrived rather than serialized again. Decoding accepts only the canonical encoding, so
  /// these are exactly the block's serialization. Not part of equality.
  bytes raw = {};
  friend bool operator==(const block_message& a, const block_message& b) {
    return a.block == b.block;
  }
};
struct tx_message {
  transaction tx;
  friend bool operator==(const tx_message&, const tx_message&) = default;
};

/// BIP133: do not relay transactions paying less than `feerate` (base units per 1000 bytes).
struct feefilter_message {
  std::int64_t feerate = 0;
  friend bool operator==(const feefilter_message&, const feefilter_message&) = default;
};

/// BIP152.
struct sendcmpct_message {
  bool high_bandwidth = false;
  std::uint64_t version = 1;
  friend bool operator==(const sendcmpct_message&, const sendcmpct_message&) = default;
};

using short_id = std::uint64_t; ///< 48 bits used

struct prefilled_tx {
  std::uint32_t index = 0; ///< absolute index in the block (differential on the wire)
  transaction tx;
  friend bool operator==(const prefilled_tx&, const prefilled_tx&) = default;
};
struct cmpctblock_message {
  block_header header;
  std::uint64_t nonce = 0;
  std::vector<short_id> short_ids;
  std::vector<prefilled_tx> prefilled;
  friend bool operator==(const cmpctblock_message&, const cmpctblock_message&) = default;
};
struct getblocktxn_message {
  hash256 block_hash{};
  std::vector<std::uint32_t> indexes; ///< absolute (differential on the wire)
  friend bool operator==(const getblocktxn_message&, const getblocktxn_message&) = default;
};
struct blocktxn_message {
  hash256 block_hash{};
  std::vector<transaction> txs;
  friend bool operator==(const blocktxn_message&, const blocktxn_message&) = default;
};

/// QuantumCoin extension: a post-quantum proof binding a hash (contents defined by the
/// transport issue).
struct quantumproof_message {
  std::uint8_t proof_type = 0;
  bytes public_key;
  bytes signature;
  hash256 binds{};
  friend bool operator==(const quantumproof_message&, const quantumproof_message&) = default;
};

/// A frame whose command this node does not know: skipped and counted, not an error.
struct unknown_message {
  std::string command;
  std::size_t size = 0;
  friend bool operator==(const unknown_message&, const unknown_message&) = default;
};

using p2p_message =
    std::variant<version_message, verack_message, ping_message, pong_message, getaddr_message,
                 addr_message, addrv2_message, sendaddrv2_message, getheaders_message,
                 headers_message, getblocks_message, inv_message, getdata_message, notfound_message,
                 block_message, tx_message, sendheaders_message, feefilter_message,
                 sendcmpct_message, cmpctblock_message, getblocktxn_message, blocktxn_message,
                 quantumproof_message, unknown_message>;

/// The command string of a message ("version", "verack", ...).
std::string command_of(const p2p_message& msg);

/// Command labels of traffic metrics: every known command (in p2p_message's order) and "other"
/// (any unknown one), so that a peer cannot grow the label set.
inline constexpr std::size_t command_label_count = std::variant_size_v<p2p_message>;

/// The label index of `command`: its place among the known commands, or the last ("other").
std::size_t command_label_index(std::string_view command);

/// The label of an index below command_label_count.
std::string_view command_label(std::size_t index);

/// The payload of a message.
bytes encode_payload(const p2p_message& msg);

/// Appends the whole frame (header and payload) for `msg`.
void append_message(bytes& out, const network_magic& magic, const p2p_message& msg);

struct decode_result {
  p2p_message message;
  wire_error error = wire_error::none;
};

/// Decodes one frame's payload by its command. `max_block_txs` bounds transactions per block.
decode_result decode_message(const frame& f, std::uint64_t max_block_txs = 1'000'000);
/// The same, taking the frame: a block's payload moves into block_message::raw instead of being
/// copied. `f.payload` is left empty only when a block decoded without error.
decode_result decode_message(frame&& f, std::uint64_t max_block_txs = 1'000'000);

// -- BIP152 helpers ----------------------------------------------------------------------------

/// The SipHash-2-4 key of a compact block: the first 16 bytes of SHA-256(header || nonce).
std::array<std::uint8_t, 16> short_id_key(const block_header& header, std::uint64_t nonce);

/// A transaction's short id: SipHash-2-4(key, txid) truncated to 48 bits.
short_id make_short_id(const std::array<std::uint8_t, 16>& key, const hash256& txid);

/// SipHash-2-4 of `data` under a 16-byte key, as a little-endian 64-bit number.
std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key,
                        std::span<const std::uint8_t> data);

} // namespace qtc

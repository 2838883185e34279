// The address manager: which peer addresses this node knows, in Bitcoin Core's two tables.
//
// "new" holds addresses heard of (DNS, relay), "tried" those we once completed a handshake with.
// Where an address may sit is decided by a keyed hash under a secret only this node knows, from
// its network group and the group of whoever told us about it:
//   new bucket   = H(key, source group, H(key, address group, source group) % 64) % 1024
//   tried bucket = H(key, address group, H(key, address) % 8) % 256
//   position     = H(key, table, bucket, address) % 64
// so one source group can fill at most 64 of the 1024 new buckets, one address group at most 8
// of the 256 tried buckets, and nobody can predict where. An attacker holding many addresses in
// few groups cannot crowd out the rest (eclipse resistance). A full slot keeps its occupant
// unless the occupant is "terrible" (Core's IsTerrible); an address promoted to tried moves the
// tried slot's occupant back to new. Each address has one slot (Core allows up to 8 new
// references; one keeps the structure simple and the bounds the same).
//
// Pure and deterministic: time is passed in (Unix seconds), randomness from a seeded generator,
// the secret key from the caller (kept with the tables when persisted). H is SipHash-2-4 keyed
// with the secret's first 16 bytes.
#pragma once

#include "messages/discovery.hpp"
#include "messages/primitives/byte_io.hpp"
#include "runtime/net/ip_address.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace qtc {

class address_manager {
public:
  static constexpr std::uint32_t new_buckets = 1024;
  static constexpr std::uint32_t tried_buckets = 256;
  static constexpr std::uint32_t bucket_size = 64;
  static constexpr std::uint32_t new_buckets_per_source_group = 64;
  static constexpr std::uint32_t tried_buckets_per_group = 8;

  using secret = std::array<std::uint8_t, 32>;

  struct entry {
    discovered_peer peer;
    ip_bytes source{};             ///< who told us (the seed or peer address)
    std::int64_t last_seen = 0;    ///< when it was last heard of or connected
    std::int64_t last_try = 0;     ///< last connection attempt
    std::int64_t last_success = 0; ///< last completed handshake
    std::uint32_t attempts = 0;    ///< failed attempts since the last success
    bool tried = false;
    std::uint32_t bucket = 0;
    std::uint32_t position = 0;
  };

  /// `allow_private`: the chain spec's allow_private_addresses (network groups depend on it).
  address_manager(secret key, bool allow_private, std::uint64_t seed);

  /// Adds what a source reported; returns how many addresses were new to us.
  std::size_t add(const std::vector<discovered_peer>& peers, const ip_bytes& source,
                  std::int64_t now);

  /// A handshake with the address completed: it moves to tried.
  void good(const ip_bytes& ip, std::uint16_t port, std::int64_t now);

  /// A connection attempt; `failed`: it did not succeed.
  void attempt(const ip_bytes& ip, std::uint16_t port, bool failed, std::int64_t now);

  /// The peer turned out to speak only TLS.
  void learned_tls_only(const ip_bytes& ip, std::uint16_t port);

  /// An address to connect to: tried or new at even odds, biased against recent failures, not in
  /// `used_groups`, not tried in the last 60 s unless that attempt succeeded, and not retried
  /// before its backoff (2^attempts s, at most 10 min) has passed.
  /// `new_only`: from the new table only (a feeler tests an address never connected to).
  std::optional<discovered_peer> select(const std::set<std::vector<std::uint8_t>>& used_groups,
                                        std::int64_t now, bool new_only = false);

  /// For getaddr: up to min(max_count, pct% of the known addresses rounded up), random, none
  /// terrible.
  std::vector<discovered_peer> sample(std::size_t max_count, std::size_t pct, std::int64_t now);

  /// Core's IsTerrible: not worth keeping or sharing.
  static bool terrible(const entry& e, std::int64_t now);

  std::size_t size() const {
    return entries_.size();
  }
  std::size_t new_count() const;
  std::size_t tried_count() const;
  /// Distinct new buckets in use (for tests of the bucketing bounds).
  std::size_t new_buckets_used() const;
  const entry* find(const ip_bytes& ip, std::uint16_t port) const;

  /// The tables, for the store: version, key, every entry (positions are recomputed on load).
  bytes serialize() const;

  /// Reads serialize()'s output; nothing and an error sentence if it is malformed. Every count
  /// is bounded before anything is allocated.
  static std::optional<address_manager> deserialize(std::span<const std::uint8_t> data,
                                                    bool allow_private, std::uint64_t seed,
                                                    std::string& error);

private:
  using key_type = std::pair<ip_bytes, std::uint16_t>;
  using slot = std::pair<std::uint32_t, std::uint32_t>; ///< bucket, position

  std::uint64_t hash(std::span<const std::uint8_t> data) const;
  /// The slot within a bucket: H(key, table (0 new, 1 tried), bucket, address) % 64.
  std::uint32_t position(std::uint8_t table, std::uint32_t bucket, const ip_bytes& ip,
                         std::uint16_t port) const;
  slot new_slot(const ip_bytes& ip, std::uint16_t port, const ip_bytes& source) const;
  slot tried_slot(const ip_bytes& ip, std::uint16_t port) const;
  bool place_new(const key_type& k, entry& e, std::int64_t now);
  void remove(const key_type& k);

  secret key_;
  bool allow_private_;
  std::mt19937_64 rng_;
  std::map<key_type, entry> entries_;
  std::map<slot, key_type> new_table_;
  std::map<slot, key_type> tried_table_;
};

} // namespace qtc

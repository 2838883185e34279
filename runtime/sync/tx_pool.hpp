// A small, bounded pool of unconfirmed transactions: what compact-block reconstruction looks
// short ids up in, and what transaction relay announces and serves.
//
// What it checks (stateless, Bitcoin Core's CheckTransaction plus two of its policy rules):
// not a coinbase, at least one input and one output, no input spending the null outpoint, no
// input twice, output values and their sum within [0, 21,000,000 coins], serialized size between
// 65 bytes (Core's MIN_STANDARD_TX_NONWITNESS_SIZE: a 64-byte transaction can pose as an inner
// merkle node, CVE-2017-12842) and `max_tx_size`, and no input spending an outpoint another pool
// transaction already spends (first seen wins; no replacement).
//
// What it does NOT check, because this node has no UTXO set (design card: scripts and UTXOs are
// out of scope): that the inputs exist and are unspent, scripts and signatures, that outputs do
// not exceed inputs, lock times and sequence locks, and therefore the fee. A fee is known only if
// the caller supplies it; the node itself never can today, so in practice every transaction has
// an unknown fee and eviction is oldest first. The pool is a cache for relay and reconstruction,
// not a validated mempool: a transaction in it may be invalid, and a block built from it is only
// as good as the block checks that follow (runtime/chain/block_check).
//
// Bounds: at most `max_count` transactions and `max_bytes` serialized bytes. To make room, the
// lowest fee rate goes first; a transaction of unknown fee ranks below any known fee rate; ties
// go oldest first. A newcomer is refused (`pool_full`) rather than evict a transaction of a
// known fee rate equal to or above its own, or any known-fee transaction if its own fee is
// unknown; among unknown fees the newcomer evicts the oldest.
// Evicting a parent leaves its children (they are only a cache here, see above).
//
// Pure and deterministic: no clock, no I/O, no randomness.
#pragma once

#include "messages/block.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace qtc {

enum class tx_rejection : std::uint8_t {
  none,
  coinbase,         ///< coinbases only come inside blocks
  no_inputs,        ///< (the decoder refuses these already; checked for hand-built ones)
  no_outputs,       ///< a transaction without outputs
  null_prevout,     ///< an input spends the null outpoint outside a coinbase
  duplicate_input,  ///< the same outpoint spent twice in one transaction (CVE-2018-17144)
  bad_output_value, ///< an output value outside [0, 21,000,000 coins], or their sum
  too_small,        ///< below 65 bytes serialized
  too_large,        ///< above the pool's max_tx_size
  already_have,     ///< the same txid is in the pool
  conflict,         ///< spends an outpoint a pool transaction spends
  pool_full,        ///< ranks below everything the pool would have to evict for it
};

std::string to_string(tx_rejection x);

/// The stateless checks above that do not depend on the pool (size bounds included).
tx_rejection check_transaction(const transaction& tx, std::size_t serialized_size,
                               std::size_t max_tx_size);

/// Fee rate in base units per 1000 bytes, rounded down (BIP133's unit).
std::int64_t fee_rate(std::int64_t fee, std::size_t size);

class tx_pool {
public:
  struct limits {
    std::size_t max_count = 5000;
    std::size_t max_bytes = 8 * 1024 * 1024;
    /// Core's MAX_STANDARD_TX_WEIGHT / 4 for a transaction without witness: 100 kB.
    std::size_t max_tx_size = 100'000;
  };

  struct entry {
    transaction tx;
    hash256 id{};                     ///< txid (= wtxid: this node has no witness data)
    std::size_t size = 0;             ///< serialized bytes
    std::optional<std::int64_t> fee;  ///< if the caller knew it
    std::optional<std::int64_t> rate; ///< fee rate per 1000 bytes, if the fee is known
    std::uint64_t sequence = 0;       ///< arrival order
  };

  struct add_result {
    tx_rejection rejection = tx_rejection::none;
    hash256 id{};
    std::vector<hash256> evicted; ///< pushed out to make room
  };

  explicit tx_pool(limits l);

  /// Checks and adds `tx`; `fee` if known (it cannot be negative).
  add_result add(transaction tx, std::optional<std::int64_t> fee = std::nullopt);

  /// A block was connected: drops its transactions and any pool transaction spending an outpoint
  /// one of them spends (now a double spend). Returns how many were dropped.
  std::size_t remove_for_block(const block& b);

  /// Drops one transaction (and only it); false if absent.
  bool remove(const hash256& id);

  const entry* find(const hash256& id) const;
  bool contains(const hash256& id) const {
    return find(id) != nullptr;
  }

  /// Every entry in txid order, for short-id matching.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, e] : by_id_)
      f(e);
  }

  std::size_t size() const {
    return by_id_.size();
  }
  std::size_t bytes() const {
    return bytes_;
  }
  const limits& bounds() const {
    return limits_;
  }

private:
  /// Eviction order: unknown fee before known, lower rate first, older first.
  struct rank {
    bool known = false;
    std::int64_t rate = 0;
    std::uint64_t sequence = 0;
    hash256 id{};
    friend auto operator<=>(const rank&, const rank&) = default;
  };
  struct outpoint_less {
    bool operator()(const outpoint& a, const outpoint& b) const {
      return a.txid != b.txid ? a.txid < b.txid : a.index < b.index;
    }
  };
  static rank rank_of(const entry& e);
  static bool may_evict(const rank& victim, const rank& newcomer);
  void erase(std::map<hash256, entry>::iterator it);

  limits limits_;
  std::map<hash256, entry> by_id_;
  std::map<outpoint, hash256, outpoint_less>
      spent_; ///< outpoint -> the pool transaction spending it
  std::set<rank> eviction_;
  std::size_t bytes_ = 0;
  std::uint64_t next_sequence_ = 0;
};

/// The txids a peer is known to have (it announced or sent them, or we announced them to it), so
/// that nothing is announced to it twice or back to where it came from. Bounded: past `capacity`
/// the oldest are forgotten (at worst a transaction is announced to a peer twice).
class known_txs {
public:
  explicit known_txs(std::size_t capacity = 5000) : capacity_(capacity) {}
  bool contains(const hash256& id) const {
    return set_.contains(id);
  }
  void insert(const hash256& id);
  std::size_t size() const {
    return set_.size();
  }

private:
  std::set<hash256> set_;
  /// Insertion order; once `capacity` long a ring whose oldest entry is at `oldest_`. A vector,
  /// not a deque: every peer has one, most stay empty, and an empty libstdc++ deque already
  /// holds 576 bytes.
  std::vector<hash256> order_;
  std::size_t oldest_ = 0;
  std::size_t capacity_;
};

/// BIP133 feefilter, per peer: the minimum fee rate a peer asked for, and what to announce to it.
///
/// A peer whose filter is 0 hears every transaction. Otherwise a transaction is announced only if
/// its fee rate is known and at least the filter: this node cannot compute fees (no UTXO set), so
/// to a peer with a non-zero filter it announces only transactions whose fee someone supplied.
class fee_filter {
public:
  /// The peer's feefilter message (the decoder bounds it to [0, 21,000,000 coins]).
  void set(std::int64_t rate) {
    min_rate_ = rate;
  }
  std::int64_t min_rate() const {
    return min_rate_;
  }
  bool should_announce(std::optional<std::int64_t> tx_rate) const {
    if (min_rate_ <= 0)
      return true;
    return tx_rate && *tx_rate >= min_rate_;
  }

private:
  std::int64_t min_rate_ = 0;
};

/// Our own feefilter, privacy-rounded like Bitcoin Core's FeeFilterRounder: fee rates are
/// moved to the nearest bucket at or above it in a geometric series (0, then 500 per kB
/// times 1.1^n up to 10^7 per kB), and two times out of three to the bucket below that, so the
/// exact pool minimum does not leak. `draw` is a uniform random number (the caller's generator;
/// tests fix it).
std::int64_t round_fee_filter(std::int64_t rate, std::uint64_t draw);

} // namespace qtc

// Low-work header chains: Bitcoin Core's headers presync (v24), the rules, not the code.
//
// Headers are cheap to send and the header tree keeps every valid one it is given, in memory and
// in the store. A fork from an old header, where the difficulty was low (or from genesis on a
// chain whose difficulty has grown), costs an attacker little work per header and the node memory
// and disk per header, for ever. So a peer's headers that fork from a known header and lead to
// less than the anti-DoS threshold of work (the chain spec's `minimum_chain_work`, or our best
// header's work less 144 blocks' worth, whichever is more) are not stored. If the peer's message
// was full (2,000 headers: it may have more), its chain is followed in two passes:
//
//  * presync: the headers are checked (they connect, their proof of work and difficulty
//    transitions are valid) and thrown away, keeping only their running work and, every
//    `commitment_period` headers (at a salted random offset), one bit of a salted hash of the
//    header's hash. A chain that runs out before reaching the threshold is dropped: nothing of
//    it was ever stored. The number of bits is bounded by how many headers can have been made
//    since the fork point under the median-time-past rule (six a second), so memory is bounded
//    by time, not by what the peer sends.
//  * redownload: the threshold was reached, so the chain is worth keeping; it is asked for again
//    from the fork point and every header must match the bit kept for its height (a peer that
//    switches to a different, cheaper chain the second time is caught within a few commitments).
//    Headers are released to the header tree only once `redownload_buffer` more headers behind
//    them have matched, or all at once when the redownloaded work reaches the threshold.
//
// The salt keeps an attacker from knowing which bits it must match. Pure logic: no I/O, no clock
// (the caller passes `now`), no randomness of its own (the caller passes the salt).
#pragma once

#include "messages/block.hpp"
#include "messages/primitives/uint256.hpp"
#include "runtime/chain/header_tree.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

namespace qtc {

/// Whether a header at `height` may carry `new_bits` after a parent with `old_bits`: equal bits
/// off a retarget boundary; at one, a target within the retarget rule's factor of four (and
/// never easier than the proof-of-work limit). What can be checked without the period's times.
bool permitted_difficulty_transition(const chain_params& params, std::uint32_t height,
                                     std::uint32_t old_bits, std::uint32_t new_bits);

class headers_presync {
public:
  struct config {
    /// Headers per kept bit (Bitcoin Core 24: 606).
    std::uint32_t commitment_period = 600;
    /// Headers held back in redownload until this many more have matched (Core 24: 14,441 for
    /// 606): 24 salted bits an attacker's substitute chain must match, 1 in 16 million.
    std::uint32_t redownload_buffer = 14'400;
  };

  enum class phase : std::uint8_t { presync, redownload, done };

  /// The outcome of one headers message.
  struct step {
    bool ok = true;         ///< false: the chain broke a rule (see `error`); the sync is over
    bool misbehaved = true; ///< when !ok: provable misbehaviour (false: a commitment mismatch,
                            ///< which an honest peer's reorganisation can cause)
    std::string error;
    std::vector<block_header> release; ///< matched headers, in chain order, for the header tree
    bool request_more = false;         ///< ask the peer for the headers after locator_head()
  };

  /// Follows a chain forking at `start` (a header in our tree whose median time past is
  /// `start_mtp`), until its work reaches `minimum_work`. `now`: Unix seconds.
  headers_presync(const chain_params& params, const header_node& start, std::int64_t start_mtp,
                  uint256 minimum_work, std::int64_t now, const std::array<std::uint8_t, 16>& salt,
                  config cfg);
  headers_presync(const chain_params& params, const header_node& start, std::int64_t start_mtp,
                  uint256 minimum_work, std::int64_t now, const std::array<std::uint8_t, 16>& salt)
      : headers_presync(params, start, start_mtp, std::move(minimum_work), now, salt, config{}) {}

  /// Takes the next headers message of the peer; `full`: it held the protocol's maximum.
  step process(std::span<const block_header> headers, bool full);

  /// The hash the next getheaders locator starts with (followed by the tree's locator from
  /// start()): the last header taken in this phase, or start() when redownload begins.
  const hash256& locator_head() const;
  /// Whether `h` continues this sync (its parent is the last header taken).
  bool continues(const block_header& h) const {
    return phase_ != phase::done && h.prev_block == locator_head();
  }

  phase current() const {
    return phase_;
  }
  const header_node& start() const {
    return *start_;
  }
  /// The height reached in presync, and in redownload (start's height before either).
  std::uint32_t presync_height() const {
    return presync_last_.height;
  }
  std::uint32_t redownload_height() const {
    return redownload_last_.height;
  }
  std::size_t buffered() const {
    return buffer_.size();
  }
  /// Memory held: the kept bits and the redownload buffer.
  std::size_t memory_bytes() const;

private:
  struct tip {
    hash256 hash{};
    std::uint32_t height = 0;
    std::uint32_t bits = 0;
    uint256 work;
  };
  bool take_presync(const block_header& h, std::string& error);
  bool take_redownload(const block_header& h, std::string& error, bool& misbehaved);
  bool extends(const tip& last, const block_header& h, const hash256& hash,
               std::string& error) const;
  bool commitment_height(std::uint32_t height) const;
  bool commitment_bit(const hash256& hash) const;
  void release(step& out);

  chain_params params_;
  const header_node* start_;
  uint256 minimum_work_;
  config cfg_;
  std::array<std::uint8_t, 16> salt_;
  std::uint32_t offset_ = 0; ///< commitment heights: height % period == offset
  std::uint64_t max_commitments_ = 0;
  phase phase_ = phase::presync;
  tip presync_last_;
  std::vector<bool> commitments_; ///< one bit per commitment height, in height order
  tip redownload_last_;
  std::size_t next_commitment_ = 0; ///< the next bit redownload must match
  std::deque<block_header> buffer_; ///< redownloaded headers not yet released
  bool release_all_ = false;        ///< redownloaded work reached the threshold
};

std::string to_string(headers_presync::phase x);

} // namespace qtc

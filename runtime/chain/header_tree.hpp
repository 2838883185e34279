// The header tree: every valid header the node has seen, linked to its parent, with cumulative
// work; the best chain is the one with the most work (the first seen wins a tie).
//
// A header is accepted when its parent is known, its hash meets its `bits`, its `bits` are what
// the retarget rule expects, its time is after the median time past of its parent's last
// `median_time_span` blocks, and not more than `max_future_block_time` ahead of now.
// Pure logic: no I/O, no clock of its own (callers pass `now`), so it runs the same under the
// simulation harness.
#pragma once

#include "messages/block.hpp"
#include "messages/primitives/uint256.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/chain/pow.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace qtc {

/// The consensus numbers of a chain, taken from its chain spec.
struct chain_params {
  uint256 pow_limit;
  std::uint32_t retarget_interval = 0; ///< 0: never retarget (regtest)
  std::int64_t target_spacing = 600;
  std::int64_t max_future_block_time = 7200;
  std::uint32_t median_time_span = 11;
  uint256 minimum_chain_work; ///< the least work of a chain whose headers are stored

  static chain_params from(const chain_spec& spec);
};

enum class header_rejection : std::uint8_t {
  none,
  unknown_parent,    ///< its parent is not in the tree (not necessarily misbehaviour)
  bad_proof_of_work, ///< the hash does not meet `bits`, or `bits` is invalid or too easy
  bad_difficulty,    ///< `bits` is not what the retarget rule requires
  time_too_old,      ///< time ≤ median time past
  time_too_new,      ///< time > now + max_future_block_time (may become valid later)
};

std::string to_string(header_rejection x);

/// The first fault a headers message shows on its own, looked up nowhere: a header that does
/// not follow the one before it in the message (`unknown_parent`) or misses its own `bits` or
/// `pow_limit` (`bad_proof_of_work`). Bitcoin Core checks both on every headers message; the node
/// runs it on the messages it drops without taking (low-work and unconnected ones), so an invalid
/// header is punished whichever path its message takes.
struct headers_fault {
  std::size_t index = 0; ///< position of the faulty header in the message
  header_rejection rejection = header_rejection::none;
};
std::optional<headers_fault> check_headers_alone(std::span<const block_header> headers,
                                                 const uint256& pow_limit);

struct header_node {
  block_header header;
  hash256 hash{};
  std::uint32_t height = 0;
  uint256 chain_work; ///< cumulative work up to and including this header
  const header_node* parent = nullptr;
  /// An ancestor further down (at skip_height(height)): ancestor() jumps by these in O(log n)
  /// steps instead of walking every parent (the walk was 7 % of a 200-node simulation).
  const header_node* skip = nullptr;
};

struct header_hasher {
  std::size_t operator()(const hash256& h) const noexcept {
    std::size_t x;
    std::memcpy(&x, h.data(), sizeof(x)); // hashes are uniformly distributed already
    return x;
  }
};

class header_tree {
public:
  header_tree(chain_params params, const block_header& genesis);

  struct result {
    header_rejection rejection = header_rejection::none;
    bool duplicate = false; ///< already known; not an error
    const header_node* node = nullptr;
    bool new_best = false; ///< the best chain's tip changed
  };

  /// Validates and adds one header. `now` is the caller's clock (Unix seconds).
  result accept(const block_header& h, std::int64_t now);

  const header_node& best() const {
    return *best_;
  }
  const chain_params& params() const {
    return params_;
  }
  const header_node& genesis() const {
    return *genesis_;
  }
  const header_node* find(const hash256& hash) const;
  std::size_t size() const {
    return nodes_.size();
  }

  /// The ancestor of `node` at `height` (`node` itself at its own height; null above it).
  const header_node* ancestor(const header_node& node, std::uint32_t height) const;

  /// Bitcoin Core's block locator for `from`: single steps back until it holds 11 hashes, then
  /// doubling steps, always ending at genesis.
  std::vector<hash256> locator(const header_node& from) const;

  /// The last common ancestor of two nodes.
  const header_node& fork_point(const header_node& a, const header_node& b) const;

  /// Median of the last `median_time_span` header times ending at `node`.
  std::int64_t median_time_past(const header_node& node) const;

  /// The `bits` a child of `parent` with time `time` must carry.
  std::uint32_t expected_bits(const header_node& parent) const;

private:
  chain_params params_;
  std::unordered_map<hash256, std::unique_ptr<header_node>, header_hasher> nodes_;
  const header_node* genesis_ = nullptr;
  const header_node* best_ = nullptr;
  /// Work per `bits` value: it repeats for every header of a retarget period.
  mutable std::unordered_map<std::uint32_t, uint256> work_cache_;
  uint256 work_of(std::uint32_t bits) const;
};

} // namespace qtc

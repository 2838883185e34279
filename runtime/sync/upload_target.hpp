// The upload target (Bitcoin Core's -maxuploadtarget): a budget of bytes the node serves to
// peers per 24-hour cycle. Once the budget, less a reserve for the new blocks the rest of the
// cycle will bring, is spent, historical blocks (more than a week older than our best header)
// are no longer served to peers without the `download` permission: such a request ends the
// session, as in Core, while recent blocks and headers are still served, so the network's new
// blocks keep flowing through the node. The reserve is Core's: the block intervals left in the
// cycle (rounded down) times the largest block (the chain spec's max_message_size).
//
// The cycle starts with the first byte counted and restarts once it is over. Pure logic, in
// explicit time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace qtc {

class upload_target {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct config {
    std::uint64_t target_bytes = 0; ///< per cycle; 0: no target
    std::chrono::seconds cycle{24 * 3600};
    std::chrono::seconds block_interval{600}; ///< the chain spec's target_spacing
    std::uint64_t max_block_bytes = 4'000'000; ///< the chain spec's max_message_size
  };

  /// A block this much older than the best header is historical.
  static constexpr std::chrono::seconds historical_age{7 * 24 * 3600};

  explicit upload_target(config cfg) : cfg_(cfg) {
  }
  upload_target() : upload_target(config{}) {
  }

  const config& settings() const {
    return cfg_;
  }

  /// Counts `bytes` served at `now`.
  void sent(std::uint64_t bytes, time_point now);

  /// Whether the target is reached: with `historical`, whether no more than the reserve for the
  /// cycle's new blocks is left (historical blocks are no longer served); without, whether it is
  /// spent. Never with no target.
  bool reached(time_point now, bool historical) const;

  /// Bytes counted in the cycle running at `now` (0 once it is over).
  std::uint64_t sent_in_cycle(time_point now) const;
  /// Bytes left of the target in this cycle (0 with no target).
  std::uint64_t left(time_point now) const;
  /// Until the cycle restarts (a whole cycle when none runs; 0 with no target).
  std::chrono::seconds time_left(time_point now) const;
  /// The reserve kept for new blocks for the rest of the cycle.
  std::uint64_t reserve(time_point now) const;

private:
  bool running(time_point now) const {
    return start_ && now < *start_ + cfg_.cycle;
  }
  config cfg_;
  std::optional<time_point> start_;
  std::uint64_t sent_ = 0;
};

} // namespace qtc

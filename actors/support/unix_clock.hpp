// Unix time on the actor clock.
//
// The wall clock is read once, when the actor starts; from then on Unix time advances with the
// actor's clock, which is virtual under the simulator's deterministic coordinator. So address
// ages, header timestamps and relay freshness are judged in the simulation's own time, and an
// actor never mixes two clocks.
#pragma once

#include <caf/actor_clock.hpp>

#include <chrono>
#include <cstdint>

namespace qtc {

class unix_clock {
public:
  unix_clock() = default;

  explicit unix_clock(const caf::actor_clock& clock)
      : clock_(&clock), start_unix_(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()),
        start_(clock.now()) {}

  /// Seconds since the Unix epoch.
  std::int64_t now() const {
    if (clock_ == nullptr)
      return start_unix_;
    return start_unix_
           + std::chrono::duration_cast<std::chrono::seconds>(clock_->now() - start_).count();
  }

private:
  const caf::actor_clock* clock_ = nullptr;
  std::int64_t start_unix_ = 0;
  caf::actor_clock::time_point start_{};
};

} // namespace qtc

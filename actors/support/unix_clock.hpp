// Unix time on the actor clock.
//
// The wall clock is read once, when the actor starts; from then on Unix time advances with the
// actor's clock, which is virtual under the simulator's deterministic coordinator. So address
// ages, header timestamps and relay freshness are judged in the simulation's own time, and an
// actor never mixes two clocks. Under the deterministic coordinator the wall clock is not read
// at all: Unix time is simulated_unix_epoch plus the virtual clock's reading, the same for every
// node and every run.
#pragma once

#include <caf/actor_clock.hpp>
#include <caf/detail/test_actor_clock.hpp>

#include <chrono>
#include <cstdint>

namespace qtc {

/// Unix time at the deterministic coordinator's clock zero (2026-01-01T00:00:00Z).
inline constexpr std::int64_t simulated_unix_epoch = 1'767'225'600;

class unix_clock {
public:
  unix_clock() = default;

  explicit unix_clock(const caf::actor_clock& clock) : clock_(&clock), start_(clock.now()) {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    if (dynamic_cast<const caf::detail::test_actor_clock*>(&clock) != nullptr)
      start_unix_ =
          simulated_unix_epoch + duration_cast<seconds>(start_.time_since_epoch()).count();
    else
      start_unix_ =
          duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

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

// When to report a session's ongoing flood again: once a minute per kind of offence.
//
// A flood lasts; reporting every message of it would weigh one flood as thousands of offences
// and flood the security manager in turn. The peer manager (addr) and the sync coordinator
// (getdata, inv, amplification) each keep one gate per session.
#pragma once

#include "messages/security.hpp"

#include <array>
#include <chrono>

namespace qtc {

class report_gate {
public:
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::minutes interval{1};

  /// Whether `kind` may be reported at `now` (never before, or `interval` since the last time);
  /// if so, `now` becomes its last report.
  bool due(offence kind, time_point now) {
    auto& last = last_[static_cast<std::size_t>(kind)];
    if (reported_[static_cast<std::size_t>(kind)] && now - last < interval)
      return false;
    reported_[static_cast<std::size_t>(kind)] = true;
    last = now;
    return true;
  }

private:
  std::array<time_point, offence_count> last_{};
  std::array<bool, offence_count> reported_{};
};

} // namespace qtc

// A token bucket: `rate` tokens per second up to `burst`; each unit of work takes one. Used to
// rate-limit the addresses a peer may send us (Bitcoin Core: 0.1 per second, 1000 granted when
// we ask with getaddr). Time is passed in.
#pragma once

#include <algorithm>
#include <chrono>

namespace qtc {

class token_bucket {
public:
  using time_point = std::chrono::steady_clock::time_point;

  token_bucket(double rate_per_second, double burst, double initial, time_point now)
      : rate_(rate_per_second), burst_(burst), tokens_(std::min(initial, burst)), last_(now) {}

  /// Takes one token if there is one (after refilling for the time passed).
  bool take(time_point now) {
    refill(now);
    if (tokens_ < 1.0)
      return false;
    tokens_ -= 1.0;
    return true;
  }

  /// Grants `n` more tokens at once (up to the burst).
  void grant(double n) {
    tokens_ = std::min(burst_, tokens_ + n);
  }

  double tokens(time_point now) {
    refill(now);
    return tokens_;
  }

private:
  void refill(time_point now) {
    if (now > last_) {
      auto seconds = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + seconds * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  time_point last_;
};

} // namespace qtc

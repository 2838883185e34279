// The retransmission schedule of a request over UDP, as RFC 8489 section 6.2.1 sets it for STUN
// (and RFC 6886/6887 in the same shape for NAT-PMP and PCP): the first send at once, each
// retransmission after twice the previous wait, and after the last send a final wait of
// `last_wait_factor` times the initial timeout. With STUN's defaults (500 ms, 7 sends, 16) the
// sends go out at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s and the request fails at 39.5 s.
// Pure: the caller passes the time and sends when told to.
#pragma once

#include <chrono>
#include <cstdint>

namespace qtc::nat {

struct retransmission_timing {
  std::chrono::milliseconds initial_timeout{500}; ///< RTO
  std::uint32_t max_sends = 7;                    ///< Rc
  std::uint32_t last_wait_factor = 16;            ///< Rm
};

class retransmission {
public:
  using time_point = std::chrono::steady_clock::time_point;

  retransmission() = default;
  retransmission(retransmission_timing timing, time_point now)
      : timing_(timing), next_(now), wait_(timing.initial_timeout) {}

  /// Whether a (re)transmission is due now; if so, it is counted as sent.
  bool send_due(time_point now);

  /// Every send went out and the last wait passed without an answer.
  bool expired(time_point now) const {
    return sends_ >= timing_.max_sends && now >= deadline_;
  }

  /// When something happens next: a send or the expiry.
  time_point next_event() const {
    return sends_ >= timing_.max_sends ? deadline_ : next_;
  }

  std::uint32_t sends() const {
    return sends_;
  }

private:
  retransmission_timing timing_;
  time_point next_{};
  time_point deadline_{};
  std::chrono::milliseconds wait_{};
  std::uint32_t sends_ = 0;
};

} // namespace qtc::nat

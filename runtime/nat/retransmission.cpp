#include "runtime/nat/retransmission.hpp"

namespace qtc::nat {

bool retransmission::send_due(time_point now) {
  if (sends_ >= timing_.max_sends || now < next_)
    return false;
  ++sends_;
  if (sends_ == timing_.max_sends) {
    deadline_ = now + timing_.initial_timeout * timing_.last_wait_factor;
  } else {
    next_ = now + wait_;
    wait_ *= 2;
  }
  return true;
}

} // namespace qtc::nat

#include "runtime/sync/upload_target.hpp"

#include <algorithm>

namespace qtc {

void upload_target::sent(std::uint64_t bytes, time_point now) {
  if (!running(now)) {
    start_ = now;
    sent_ = 0;
  }
  sent_ += bytes;
}

std::uint64_t upload_target::sent_in_cycle(time_point now) const {
  return running(now) ? sent_ : 0;
}

std::uint64_t upload_target::left(time_point now) const {
  if (cfg_.target_bytes == 0)
    return 0;
  auto used = sent_in_cycle(now);
  return used >= cfg_.target_bytes ? 0 : cfg_.target_bytes - used;
}

std::chrono::seconds upload_target::time_left(time_point now) const {
  if (cfg_.target_bytes == 0)
    return std::chrono::seconds{0};
  if (!running(now))
    return cfg_.cycle;
  return std::chrono::duration_cast<std::chrono::seconds>(*start_ + cfg_.cycle - now);
}

std::uint64_t upload_target::reserve(time_point now) const {
  auto interval = std::max<std::int64_t>(cfg_.block_interval.count(), 1);
  auto blocks = static_cast<std::uint64_t>(time_left(now).count() / interval);
  return blocks * cfg_.max_block_bytes;
}

bool upload_target::reached(time_point now, bool historical) const {
  if (cfg_.target_bytes == 0)
    return false;
  auto used = sent_in_cycle(now);
  if (!historical)
    return used >= cfg_.target_bytes;
  auto keep = reserve(now);
  return keep >= cfg_.target_bytes || used >= cfg_.target_bytes - keep;
}

} // namespace qtc

#include "runtime/net/relay_filter.hpp"

#include "messages/p2p.hpp"

#include <algorithm>

namespace qtc {

relay_filter::relay_filter(std::array<std::uint8_t, 16> key, std::size_t capacity)
    : key_(key), capacity_(std::max<std::size_t>(capacity, 1)) {}

bool relay_filter::should_relay(const ip_bytes& ip, std::uint16_t port, std::uint32_t time) {
  std::array<std::uint8_t, 18> data{};
  std::copy(ip.begin(), ip.end(), data.begin());
  data[16] = static_cast<std::uint8_t>(port >> 8);
  data[17] = static_cast<std::uint8_t>(port);
  auto h = siphash24(key_, data);
  auto [i, inserted] = relayed_.try_emplace(h, time);
  if (!inserted) {
    if (time < i->second || time - i->second < renew_after)
      return false;
    i->second = time;
    return true;
  }
  order_.push_back(h);
  if (order_.size() > capacity_) {
    relayed_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

} // namespace qtc

#include "runtime/nat/address_votes.hpp"

#include <algorithm>

namespace qtc::nat {

void address_votes::add(const ip_bytes& seen, const ip_bytes& observer, time_point now) {
  auto i = reports_.find(observer);
  if (i == reports_.end() && reports_.size() >= max_observers) {
    auto oldest = std::min_element(reports_.begin(), reports_.end(),
                                   [](auto& a, auto& b) { return a.second.at < b.second.at; });
    reports_.erase(oldest);
  }
  reports_[observer] = report{seen, now};
}

std::optional<std::pair<ip_bytes, std::size_t>> address_votes::leader(time_point now) const {
  std::map<ip_bytes, std::size_t> counts;
  for (const auto& [observer, r] : reports_)
    if (now - r.at < expiry_)
      ++counts[r.seen];
  if (counts.empty())
    return std::nullopt;
  // Ties go to the smaller address: the same reports always give the same leader.
  auto best = std::max_element(counts.begin(), counts.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  return std::pair{best->first, best->second};
}

std::optional<ip_bytes> address_votes::confirmed(std::size_t threshold, time_point now) const {
  auto l = leader(now);
  if (!l || l->second < threshold)
    return std::nullopt;
  return l->first;
}

std::size_t address_votes::agreeing(const ip_bytes& ip, time_point now) const {
  return static_cast<std::size_t>(std::count_if(reports_.begin(), reports_.end(), [&](auto& x) {
    return x.second.seen == ip && now - x.second.at < expiry_;
  }));
}

} // namespace qtc::nat

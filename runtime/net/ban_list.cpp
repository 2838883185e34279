#include "runtime/net/ban_list.hpp"

#include <algorithm>

namespace qtc {

bool ban_list::banned(const ip_bytes& ip, time_point now) {
  auto i = bans_.find(ip);
  if (i == bans_.end())
    return false;
  if (i->second <= now) {
    bans_.erase(i);
    return false;
  }
  return true;
}

void ban_list::ban(const ip_bytes& ip, time_point until) {
  auto [i, added] = bans_.emplace(ip, until);
  if (!added)
    i->second = std::max(i->second, until);
}

void ban_list::misbehaved(const ip_bytes& ip, std::string what, time_point now,
                          std::chrono::seconds duration) {
  auto& c = conduct_[ip];
  ++c.violations;
  c.last_violation = std::move(what);
  ban(ip, now + duration);
}

const ban_list::conduct* ban_list::conduct_of(const ip_bytes& ip) const {
  auto i = conduct_.find(ip);
  return i == conduct_.end() ? nullptr : &i->second;
}

} // namespace qtc

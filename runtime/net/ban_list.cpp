#include "runtime/net/ban_list.hpp"

#include "runtime/net/subnet.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// A forever ban: a time no clock reaches.
constexpr auto forever = ban_list::time_point::max();

} // namespace

bool ban_list::banned(const ip_bytes& ip, time_point now) {
  if (policy_banned(ip, now))
    return true;
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

void ban_list::note_violation(const ip_bytes& ip, std::string what) {
  auto& c = conduct_[ip];
  ++c.violations;
  c.last_violation = std::move(what);
}

void ban_list::misbehaved(const ip_bytes& ip, std::string what, time_point now,
                          std::chrono::seconds duration) {
  note_violation(ip, std::move(what));
  ban(ip, now + duration);
}

void ban_list::replace_policy(const std::vector<ban_view>& bans, time_point now) {
  policy_.clear();
  for (const auto& b : bans)
    add_policy(b, now);
}

void ban_list::add_policy(const ban_view& ban, time_point now) {
  auto len = std::min<std::uint8_t>(ban.prefix_len, 128);
  auto until = ban.seconds_left < 0 ? forever : now + std::chrono::seconds{ban.seconds_left};
  if (ban.discouraged) {
    if (discouraged_.size() >= max_discouraged && !discouraged_.contains(ban.base)) {
      auto soonest =
          std::min_element(discouraged_.begin(), discouraged_.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      discouraged_.erase(soonest);
    }
    discouraged_[ban.base] = std::max(discouraged_[ban.base], until);
    return;
  }
  auto& slot = policy_[len][masked(ban.base, len)];
  slot = std::max(slot, until);
}

bool ban_list::discouraged(const ip_bytes& ip, time_point now) {
  auto i = discouraged_.find(ip);
  if (i == discouraged_.end())
    return false;
  if (i->second > now)
    return true;
  discouraged_.erase(i);
  return false;
}

std::size_t ban_list::policy_bans() const {
  std::size_t n = 0;
  for (const auto& [len, bases] : policy_)
    n += bases.size();
  return n;
}

std::vector<ban_view> ban_list::policy_list(time_point now) const {
  std::vector<ban_view> out;
  for (const auto& [len, bases] : policy_)
    for (const auto& [base, until] : bases) {
      if (until <= now)
        continue;
      ban_view v{base, len, -1};
      if (until != forever)
        v.seconds_left = std::chrono::ceil<std::chrono::seconds>(until - now).count();
      out.push_back(v);
    }
  return out;
}

bool ban_list::policy_banned(const ip_bytes& ip, time_point now) const {
  for (const auto& [len, bases] : policy_)
    if (auto i = bases.find(masked(ip, len)); i != bases.end() && i->second > now)
      return true;
  return false;
}

const ban_list::conduct* ban_list::conduct_of(const ip_bytes& ip) const {
  auto i = conduct_.find(ip);
  return i == conduct_.end() ? nullptr : &i->second;
}

} // namespace qtc

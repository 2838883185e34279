#include "plan.hpp"

#include <algorithm>
#include <random>

namespace qtc::sim {

namespace {

/// Honest node i: one /16 network group each for the first 22,784 (first octets 11-99 are all
/// public unicast), so honest addresses are as diverse as a real network's.
std::string honest_ip(std::size_t i) {
  auto group = i / 89;
  return std::to_string(11 + i % 89) + "." + std::to_string(group % 256) + "."
         + std::to_string(group / 256) + ".1";
}

/// Attacker j: in one of `groups` /16 groups (150.1.0.0/16, 150.2.0.0/16, ...).
std::string attacker_ip(std::size_t j, std::uint32_t groups) {
  auto k = j / groups;
  return "150." + std::to_string(1 + j % groups) + "." + std::to_string(k / 250) + "."
         + std::to_string(1 + k % 250);
}

milliseconds uniform(std::mt19937_64& rng, milliseconds from, milliseconds to) {
  if (to <= from)
    return from;
  std::uniform_int_distribution<std::int64_t> d{from.count(), to.count() - 1};
  return milliseconds{d(rng)};
}

void plan_churn(const scenario& s, std::mt19937_64& rng, std::vector<event>& out) {
  const auto& c = *s.churn;
  std::vector<std::size_t> fresh;
  for (std::size_t i = s.serving; i < s.honest(); ++i)
    fresh.push_back(i);
  std::shuffle(fresh.begin(), fresh.end(), rng);
  auto down = static_cast<std::size_t>(c.fraction * static_cast<double>(fresh.size()) + 0.5);
  auto leaving = static_cast<std::size_t>(c.leave_share * static_cast<double>(down) + 0.5);
  for (std::size_t k = 0; k < down && k < fresh.size(); ++k) {
    auto at = uniform(rng, c.from, c.to);
    if (k < leaving) {
      out.push_back({at, event_kind::leave, fresh[k]});
      continue;
    }
    out.push_back({at, event_kind::crash, fresh[k]});
    out.push_back({at + c.down_for, event_kind::start, fresh[k]});
  }
  for (std::uint32_t j = 0; j < c.joins; ++j)
    out.push_back({uniform(rng, c.from, c.to), event_kind::start, s.honest() + j});
}

} // namespace

const char* to_string(event_kind k) {
  switch (k) {
  case event_kind::start:
    return "start";
  case event_kind::crash:
    return "crash";
  case event_kind::leave:
    return "leave";
  case event_kind::mine:
    return "mine";
  case event_kind::partition:
    return "partition";
  case event_kind::heal:
    return "heal";
  case event_kind::silence:
    return "silence";
  case event_kind::attack:
    return "attack";
  }
  return "?";
}

const char* to_string(node_role r) {
  switch (r) {
  case node_role::serving:
    return "serving";
  case node_role::fresh:
    return "fresh";
  case node_role::attacker:
    return "attacker";
  }
  return "?";
}

cast make_cast(const scenario& s) {
  cast c;
  auto joins = s.churn ? s.churn->joins : 0;
  for (std::size_t i = 0; i < s.honest() + joins; ++i) {
    c.roles.push_back(i < s.serving ? node_role::serving : node_role::fresh);
    c.ips.push_back(honest_ip(i));
  }
  for (std::size_t j = 0; j < s.attackers; ++j) {
    c.roles.push_back(node_role::attacker);
    c.ips.push_back(attacker_ip(j, s.attacker_groups));
  }
  return c;
}

std::vector<event> make_plan(const scenario& s) {
  std::mt19937_64 rng{s.seed};
  std::vector<event> out;
  auto joins = s.churn ? s.churn->joins : 0;
  for (std::size_t i = 0; i < s.serving; ++i)
    out.push_back({milliseconds{0}, event_kind::start, i});
  for (std::size_t j = 0; j < s.attackers; ++j)
    out.push_back({milliseconds{0}, event_kind::start, s.honest() + joins + j});
  for (std::size_t i = s.serving; i < s.honest(); ++i)
    out.push_back({uniform(rng, milliseconds{0}, s.join_within), event_kind::start, i});
  for (const auto& m : s.mining)
    for (std::uint32_t k = 0; k < m.count; ++k)
      out.push_back({m.at + k * m.every, event_kind::mine, m.node});
  if (s.partition) {
    out.push_back({s.partition->at, event_kind::partition, 0});
    out.push_back({s.partition->heal, event_kind::heal, 0});
  }
  if (s.attackers_silent_at)
    out.push_back({*s.attackers_silent_at, event_kind::silence, 0});
  for (std::size_t a = 0; a < s.attacks.size(); ++a)
    for (std::uint32_t k = 0; k < s.attacks[a].count; ++k)
      out.push_back({s.attacks[a].at + k * s.attacks[a].every, event_kind::attack, a});
  if (s.churn)
    plan_churn(s, rng, out);
  std::stable_sort(out.begin(), out.end(),
                   [](const event& a, const event& b) { return a.at < b.at; });
  return out;
}

} // namespace qtc::sim

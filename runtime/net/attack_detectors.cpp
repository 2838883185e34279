#include "runtime/net/attack_detectors.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace qtc {

namespace {

constexpr std::array<std::string_view, detector_count> detector_names{
    "connection-churn", "handshake-failures", "slowloris",       "addr-flood",
    "inv-flood",        "getdata-flood",      "amplification",   "header-spam",
    "malformed",        "ping-flood",         "shared-identity",
};

std::size_t index(detector d) {
  return static_cast<std::size_t>(d);
}

/// Floor division (time before the clock's epoch would otherwise round the wrong way).
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::uint32_t saturate(std::uint64_t n) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
}

} // namespace

std::string_view name(detector d) {
  auto i = index(d);
  return i < detector_names.size() ? detector_names[i] : "unknown";
}

std::optional<detector> parse_detector(std::string_view text) {
  for (std::size_t i = 0; i < detector_names.size(); ++i)
    if (detector_names[i] == text)
      return static_cast<detector>(i);
  return std::nullopt;
}

std::optional<detector> detector_for(offence kind) {
  // Every kind is listed (no default), so that a new offence kind is a compiler warning here.
  switch (kind) {
  case offence::handshake_failure:
    return detector::handshake_failures;
  case offence::slow_handshake:
  case offence::silent_peer:
    return detector::slowloris;
  case offence::addr_flood:
    return detector::addr_flood;
  case offence::inv_flood:
    return detector::inv_flood;
  case offence::getdata_flood:
    return detector::getdata_flood;
  case offence::getdata_amplification:
    return detector::amplification;
  case offence::header_spam:
    return detector::header_spam;
  case offence::bad_checksum:
  case offence::malformed_message:
  case offence::oversized_message:
  case offence::unknown_message:
    return detector::malformed;
  case offence::ping_flood:
    return detector::ping_flood;
  case offence::protocol_violation:
  case offence::rate_exceeded:
  case offence::invalid_header:
  case offence::invalid_block:
  case offence::relay_violation:
  case offence::connection_churn: // the detectors' own conclusions: counting them loops
  case offence::shared_identity:
  case offence::bad_quantumproof:
    return std::nullopt;
  }
  return std::nullopt;
}

attack_detectors::thresholds attack_detectors::default_thresholds(detector d) {
  using namespace std::chrono_literals;
  switch (d) {
  case detector::connection_churn:
    return {60s, 20, 200};
  case detector::handshake_failures:
  case detector::slowloris:
  case detector::malformed:
    return {60s, 10, 100};
  case detector::addr_flood:
  case detector::inv_flood:
  case detector::getdata_flood:
  case detector::header_spam:
  case detector::ping_flood:
    return {60s, 5, 50};
  case detector::amplification:
    return {60s, 3, 30};
  case detector::shared_identity:
    return {600s, 4, 1};
  }
  return {};
}

std::array<attack_detectors::thresholds, detector_count> attack_detectors::config::defaults() {
  std::array<thresholds, detector_count> out;
  for (std::size_t i = 0; i < detector_count; ++i)
    out[i] = default_thresholds(static_cast<detector>(i));
  return out;
}

std::uint32_t attack_detectors::bucketed_count::add(std::int64_t slot) {
  if (slot > last_slot_) {
    // The buckets between the last event and this one are from an earlier window: empty them.
    if (slot - last_slot_ >= buckets)
      counts_.fill(0);
    else
      for (auto s = last_slot_ + 1; s <= slot; ++s)
        counts_[index(s)] = 0;
    last_slot_ = slot;
  }
  // An event older than the window (time passed in out of order) no longer counts.
  if (slot > last_slot_ - buckets) {
    auto& n = counts_[index(slot)];
    n = n < UINT32_MAX ? n + 1 : n;
  }
  return total(last_slot_);
}

std::uint32_t attack_detectors::bucketed_count::total(std::int64_t slot) const {
  std::uint64_t n = 0;
  auto from = std::max(slot, last_slot_) - buckets + 1;
  for (auto s = from; s <= std::min(slot, last_slot_); ++s)
    n += counts_[index(s)];
  return saturate(n);
}

template <class Key, class Row>
Row& attack_detectors::lru_table<Key, Row>::touch(const Key& key, std::size_t limit) {
  auto i = rows.find(key);
  if (i != rows.end()) {
    order.splice(order.begin(), order, i->second.position);
    return i->second.row;
  }
  if (rows.size() >= limit) {
    // Forgetting the least recently seen key is what its events ageing out would do, sooner.
    rows.erase(order.back());
    order.pop_back();
  }
  order.push_front(key);
  return rows.emplace(key, slot{Row{}, order.begin()}).first->second.row;
}

attack_detectors::attack_detectors() : attack_detectors(config{}) {}

attack_detectors::attack_detectors(config c) : config_(std::move(c)) {
  config_.max_subnets = std::max<std::size_t>(1, config_.max_subnets);
  config_.max_identities = std::max<std::size_t>(1, config_.max_identities);
  for (auto& t : config_.detectors)
    t.window = std::max(t.window, std::chrono::seconds{1});
  // A key's addresses beyond those remembered cannot be counted.
  auto& identity = config_[detector::shared_identity];
  identity.subnet = std::min<std::uint32_t>(identity.subnet, max_addresses_per_identity);
}

std::int64_t attack_detectors::slot(detector d, time_point now) const {
  auto width = std::chrono::duration_cast<std::chrono::nanoseconds>(config_[d].window) / 6;
  return floor_div(now.time_since_epoch().count(),
                   std::chrono::duration_cast<time_point::duration>(width).count());
}

std::vector<detection> attack_detectors::conclude(detector d, const ip_bytes& ip,
                                                  std::uint32_t count, std::uint32_t node_count,
                                                  time_point now) {
  auto& st = states_[index(d)];
  const auto& t = config_[d];
  detection x;
  x.which = d;
  x.ip = ip;
  x.subnet = subnet_of(ip, config_.prefix_v4, config_.prefix_v6).base;
  x.prefix = is_ipv4(ip) ? config_.prefix_v4 : config_.prefix_v6;
  x.count = count;
  x.node_count = node_count;
  x.fired = t.subnet > 0 && count >= t.subnet;
  if (t.alert > 0 && node_count >= t.alert) {
    if (!st.last_alert || now - *st.last_alert >= config_.alert_interval) {
      x.alert = true;
      x.suppressed = st.held_back;
      st.held_back = 0;
      st.last_alert = now;
      ++st.totals.alerts;
    } else {
      ++st.held_back;
      ++st.totals.suppressed;
    }
  }
  if (x.fired)
    ++st.totals.fired;
  if (!x.fired && !x.alert)
    return {};
  return {x};
}

std::vector<detection> attack_detectors::count_event(detector d, const ip_bytes& ip,
                                                     time_point now) {
  auto& st = states_[index(d)];
  auto s = slot(d, now);
  auto subnet = subnet_of(ip, config_.prefix_v4, config_.prefix_v6).base;
  auto count = st.subnets.touch(subnet, config_.max_subnets).add(s);
  auto node_count = st.node.add(s);
  return conclude(d, ip, count, node_count, now);
}

std::vector<detection> attack_detectors::observe(offence kind, const ip_bytes& ip, time_point now) {
  auto d = detector_for(kind);
  return d ? count_event(*d, ip, now) : std::vector<detection>{};
}

std::vector<detection> attack_detectors::observe_connection(const ip_bytes& ip, time_point now) {
  return count_event(detector::connection_churn, ip, now);
}

std::vector<detection> attack_detectors::identity_seen(const identity_key& key, const ip_bytes& ip,
                                                       time_point now) {
  constexpr auto d = detector::shared_identity;
  const auto& t = config_[d];
  auto& seen = identities_.touch(key, config_.max_identities).addresses;
  std::erase_if(seen, [&](const auto& a) { return a.second <= now - t.window; });
  auto same = std::find_if(seen.begin(), seen.end(), [&](const auto& a) { return a.first == ip; });
  if (same != seen.end()) {
    same->second = std::max(same->second, now);
  } else {
    if (seen.size() >= max_addresses_per_identity)
      seen.erase(std::min_element(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      }));
    seen.emplace_back(ip, now);
  }
  auto count = saturate(seen.size());
  // Every handshake reports its key: only sightings of a shared key are events node-wide.
  if (t.subnet == 0 || count < t.subnet)
    return {};
  auto node_count = states_[index(d)].node.add(slot(d, now));
  return conclude(d, ip, count, node_count, now);
}

namespace {

/// The unsigned decimal `text`, if it is one and at most `max`.
std::optional<std::uint32_t> bounded_number(std::string_view text, std::uint32_t max) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || v > max)
    return std::nullopt;
  return v;
}

} // namespace

std::optional<std::string> apply_detector_setting(std::string_view text,
                                                  attack_detectors::config& c) {
  std::vector<std::string_view> parts;
  for (std::size_t from = 0;;) {
    auto colon = text.find(':', from);
    parts.push_back(text.substr(from, colon == std::string_view::npos ? colon : colon - from));
    if (colon == std::string_view::npos)
      break;
    from = colon + 1;
  }
  if (parts.size() < 3 || parts.size() > 4)
    return "expected name:subnet:alert[:window_seconds]";
  auto which = parse_detector(parts[0]);
  if (!which) {
    std::string names;
    for (std::size_t i = 0; i < detector_count; ++i)
      names += (i ? ", " : "") + std::string{name(static_cast<detector>(i))};
    return "unknown detector \"" + std::string{parts[0]} + "\" (" + names + ")";
  }
  auto subnet_max = *which == detector::shared_identity
                        ? static_cast<std::uint32_t>(attack_detectors::max_addresses_per_identity)
                        : 1'000'000u;
  auto subnet = bounded_number(parts[1], subnet_max);
  auto alert = bounded_number(parts[2], 1'000'000);
  if (!subnet || !alert)
    return "thresholds must be whole numbers: subnet 0 (off) to " + std::to_string(subnet_max)
           + ", alert 0 (off) to 1000000";
  auto& t = c[*which];
  t.subnet = *subnet;
  t.alert = *alert;
  if (parts.size() == 4) {
    auto window = bounded_number(parts[3], 86'400);
    if (!window || *window < 6)
      return "the window must be 6 to 86400 seconds";
    t.window = std::chrono::seconds{*window};
  }
  return std::nullopt;
}

} // namespace qtc

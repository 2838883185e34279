#include "runtime/net/rate_budget.hpp"

#include <algorithm>
#include <cmath>

namespace qtc {

namespace {

using time_point = rate_budget::time_point;

constexpr std::int64_t ring_seconds = 128;
constexpr std::int64_t window_seconds = 60; ///< "within the last minute"

std::int64_t floor_second(time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t ceil_second(time_point t) {
  return std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::size_t ring_index(std::int64_t second) {
  return static_cast<std::size_t>(((second % ring_seconds) + ring_seconds) % ring_seconds);
}

/// Takes `n` tokens at once (the bucket was just refilled by tokens(now), which the caller
/// checked holds at least n). token_bucket takes one at a time; a negative grant takes many.
void take_tokens(token_bucket& b, double n) {
  b.grant(-n);
}

/// The earliest time at which `b` holds `need` tokens. The division gives it to within a
/// rounding error; the bucket's own arithmetic (on a copy) has the last word, so that a request
/// made exactly at the answer is granted and one a nanosecond earlier is not.
time_point ready_at(token_bucket b, double rate, double need, time_point now) {
  double have = b.tokens(now);
  if (have >= need)
    return now;
  auto wait =
      std::chrono::nanoseconds{static_cast<std::int64_t>(std::ceil((need - have) / rate * 1e9))};
  time_point at = now + wait;
  constexpr std::chrono::nanoseconds tick{1};
  // The estimate is off by a few nanoseconds at most; the bounds only guard against surprises.
  for (int i = 0; i < 1000 && token_bucket{b}.tokens(at) < need; ++i)
    at += tick;
  for (int i = 0; i < 1000 && at - tick > now && token_bucket{b}.tokens(at - tick) >= need; ++i)
    at -= tick;
  return at;
}

/// Whether a bucket is full at `now` (without moving its clock).
bool full(token_bucket b, double burst, time_point now) {
  return b.tokens(now) >= burst;
}

} // namespace

void rate_budget::throttle_seconds::mark(std::int64_t from, std::int64_t to) {
  for (std::int64_t s = from; s < to; ++s) {
    if (s > last_second) {
      if (s - last_second >= ring_seconds)
        bits.reset();
      else
        for (std::int64_t k = last_second + 1; k <= s; ++k)
          bits.reset(ring_index(k));
      last_second = s;
    }
    if (s > last_second - ring_seconds)
      bits.set(ring_index(s));
  }
}

std::int64_t rate_budget::throttle_seconds::count(std::int64_t from, std::int64_t to) const {
  std::int64_t n = 0;
  for (std::int64_t s = std::max(from, last_second - ring_seconds + 1); s < to && s <= last_second;
       ++s)
    n += bits.test(ring_index(s)) ? 1 : 0;
  return n;
}

rate_budget::rate_budget() : rate_budget(config{}) {}

rate_budget::rate_budget(config c) : config_(c) {
  // Zero budgets would never refill (and divide by zero below); the chain spec forbids them.
  config_.max_messages_per_minute = std::max<std::uint32_t>(1, config_.max_messages_per_minute);
  config_.max_bytes_per_minute = std::max<std::uint64_t>(1, config_.max_bytes_per_minute);
  config_.max_tracked = std::max<std::size_t>(1, config_.max_tracked);
  config_.sustained_after = std::min(config_.sustained_after, std::chrono::seconds{window_seconds});
  message_rate_ = static_cast<double>(config_.max_messages_per_minute) / 60.0;
  byte_rate_ = static_cast<double>(config_.max_bytes_per_minute) / 60.0;
}

rate_budget::grant rate_budget::request(const ip_bytes& ip, std::uint32_t messages_wanted,
                                        std::uint64_t bytes_wanted, time_point now,
                                        const peer_permissions& permissions) {
  if (permissions.noban)
    return grant{messages_wanted, bytes_wanted, std::nullopt, false};
  if (messages_wanted == 0 && bytes_wanted == 0)
    return grant{};
  auto i = entries_.find(ip);
  if (i != entries_.end())
    order_.erase({quiet_since(i->second), ip}); // filed again below, under its new time
  entry& e = i != entries_.end() ? i->second : add(ip, now);
  e.last_request = std::max(e.last_request, now);
  grant g = take(e, messages_wanted, bytes_wanted, now);
  if (g.messages < messages_wanted || g.bytes < bytes_wanted) {
    g.retry_at = refilled_at(e, messages_wanted - g.messages, bytes_wanted - g.bytes, now);
    record_short(e, *g.retry_at, now);
  }
  g.sustained = throttled_seconds(e, now) > config_.sustained_after.count();
  order_.insert({quiet_since(e), ip});
  return g;
}

rate_budget::grant rate_budget::take(entry& e, std::uint32_t messages_wanted,
                                     std::uint64_t bytes_wanted, time_point now) {
  double messages_have = std::floor(e.messages.tokens(now));
  double bytes_have = std::floor(e.bytes.tokens(now));
  // A message needs both budgets: granting one without the other would waste it.
  if ((messages_wanted > 0 && messages_have < 1) || (bytes_wanted > 0 && bytes_have < 1))
    return grant{};
  grant g;
  g.messages = static_cast<std::uint32_t>(std::min<double>(messages_wanted, messages_have));
  g.bytes = static_cast<std::uint64_t>(std::min(static_cast<double>(bytes_wanted), bytes_have));
  take_tokens(e.messages, g.messages);
  take_tokens(e.bytes, static_cast<double>(g.bytes));
  return g;
}

rate_budget::time_point rate_budget::refilled_at(const entry& e, std::uint32_t messages_missing,
                                                 std::uint64_t bytes_missing,
                                                 time_point now) const {
  // A bucket never holds more than its burst: asking for more would never be granted in full.
  auto message_burst = static_cast<double>(config_.max_messages_per_minute);
  auto byte_burst = static_cast<double>(config_.max_bytes_per_minute);
  time_point at = now;
  if (messages_missing > 0)
    at = std::max(at, ready_at(e.messages, message_rate_,
                               std::min<double>(messages_missing, message_burst), now));
  if (bytes_missing > 0)
    at = std::max(at, ready_at(e.bytes, byte_rate_,
                               std::min(static_cast<double>(bytes_missing), byte_burst), now));
  return at;
}

rate_budget::entry& rate_budget::add(const ip_bytes& ip, time_point now) {
  if (entries_.size() >= config_.max_tracked)
    prune(now);
  if (entries_.size() >= config_.max_tracked) {
    // Nothing is free to drop: forget the least recently active (throttled ones come last).
    auto oldest = order_.begin();
    entries_.erase(oldest->second);
    order_.erase(oldest);
  }
  auto message_burst = static_cast<double>(config_.max_messages_per_minute);
  auto byte_burst = static_cast<double>(config_.max_bytes_per_minute);
  entry fresh{token_bucket{message_rate_, message_burst, message_burst, now},
              token_bucket{byte_rate_, byte_burst, byte_burst, now},
              now,
              time_point{},
              {}};
  return entries_.emplace(ip, fresh).first->second;
}

void rate_budget::record_short(entry& e, time_point retry_at, time_point now) {
  ++refused_;
  e.throttled_until = std::max(e.throttled_until, retry_at);
  // The session does not read from now until retry_at: every second touched counts.
  e.throttled.mark(floor_second(now), ceil_second(retry_at));
}

std::int64_t rate_budget::throttled_seconds(const entry& e, time_point now) const {
  auto to = floor_second(now); // seconds that have ended
  return e.throttled.count(to - window_seconds, to);
}

std::chrono::seconds rate_budget::throttled_for(const ip_bytes& ip, time_point now) const {
  auto i = entries_.find(ip);
  return std::chrono::seconds{i == entries_.end() ? 0 : throttled_seconds(i->second, now)};
}

bool rate_budget::droppable(const entry& e, time_point now) const {
  // Equal to a fresh entry: full buckets, no throttled second now or in the last minute.
  // A minute without requests always gets there (a bucket holds one minute's refill).
  // The last throttled second is the one before ceil(throttled_until); it has left the window
  // [now - 60 s, now) once that ceiling is at most floor(now) - 60.
  return ceil_second(e.throttled_until) <= floor_second(now) - window_seconds
         && full(e.messages, static_cast<double>(config_.max_messages_per_minute), now)
         && full(e.bytes, static_cast<double>(config_.max_bytes_per_minute), now);
}

std::size_t rate_budget::prune(time_point now) {
  std::size_t dropped = 0;
  while (!order_.empty()) {
    auto oldest = order_.begin();
    auto i = entries_.find(oldest->second);
    if (!droppable(i->second, now))
      break;
    entries_.erase(i);
    order_.erase(oldest);
    ++dropped;
  }
  return dropped;
}

rate_budget::statistics rate_budget::stats(time_point now) const {
  ip_bytes last;
  last.fill(0xff);
  // Ordered by max(last request, throttled until): those after `now` are throttled now.
  auto first_throttled = order_.upper_bound({now, last});
  return statistics{entries_.size(),
                    static_cast<std::size_t>(std::distance(first_throttled, order_.end())),
                    refused_};
}

} // namespace qtc

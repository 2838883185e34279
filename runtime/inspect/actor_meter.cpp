#include "runtime/inspect/actor_meter.hpp"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace qtc {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

meter_ns steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#if defined(__x86_64__)
/// The time-stamp counter's rate, measured once over 2 ms of steady_clock.
struct tsc_rate {
  std::uint64_t base_ticks = 0;
  meter_ns base_ns = 0;
  double ns_per_tick = 1;

  tsc_rate() {
    auto ns0 = steady_ns();
    auto t0 = __rdtsc();
    meter_ns ns1 = ns0;
    while (ns1 - ns0 < 2'000'000)
      ns1 = steady_ns();
    auto t1 = __rdtsc();
    ns_per_tick = t1 > t0 ? static_cast<double>(ns1 - ns0) / static_cast<double>(t1 - t0) : 1.0;
    base_ticks = t1;
    base_ns = ns1;
  }
};
#endif

} // namespace

meter_ns tick_clock::now() noexcept {
#if defined(__x86_64__)
  static const tsc_rate rate;
  auto ticks = __rdtsc();
  return rate.base_ns
         + static_cast<meter_ns>(static_cast<double>(ticks - rate.base_ticks) * rate.ns_per_tick);
#else
  return steady_ns();
#endif
}

void actor_meter::roll(meter_ns now) noexcept {
  auto start = window_start_.load(relaxed);
  if (now - start < meter_window_ns)
    return;
  if (now - start < 2 * meter_window_ns) {
    previous_handled_.store(window_handled_.load(relaxed), relaxed);
    previous_slowest_.store(window_slowest_.load(relaxed), relaxed);
    window_start_.store(start + meter_window_ns, relaxed);
  } else {
    // Idle for a whole window or more: the one before now saw nothing.
    previous_handled_.store(0, relaxed);
    previous_slowest_.store(0, relaxed);
    window_start_.store(now - (now - start) % meter_window_ns, relaxed);
  }
  window_handled_.store(0, relaxed);
  window_slowest_.store(0, relaxed);
}

void actor_meter::begin(meter_ns now) noexcept {
  if (window_start_.load(relaxed) == 0)
    window_start_.store(now, relaxed);
  roll(now);
  started_.store(now, relaxed);
}

void actor_meter::end(meter_ns now, std::uint64_t messages, std::uint64_t mailbox) noexcept {
  auto took = std::max<meter_ns>(0, now - started_.load(relaxed));
  started_.store(0, relaxed);
  handled_.store(handled_.load(relaxed) + messages, relaxed);
  busy_ns_.store(busy_ns_.load(relaxed) + took, relaxed);
  mailbox_.store(mailbox, relaxed);
  window_handled_.store(window_handled_.load(relaxed) + messages, relaxed);
  if (took > window_slowest_.load(relaxed))
    window_slowest_.store(took, relaxed);
}

actor_load actor_meter::read(meter_ns now) const noexcept {
  actor_load out;
  out.handled = handled_.load(relaxed);
  out.busy_ns = busy_ns_.load(relaxed);
  out.mailbox = mailbox_.load(relaxed);
  auto started = started_.load(relaxed);
  out.handling_for_ns = started != 0 ? std::max<meter_ns>(0, now - started) : 0;
  auto start = window_start_.load(relaxed);
  auto age = now - start;
  std::uint64_t handled = 0;
  meter_ns slowest = 0;
  if (start == 0 || age >= 2 * meter_window_ns) {
    // Nothing handled for a whole window.
  } else if (age >= meter_window_ns) {
    // The current window is complete; the writer has not rolled it yet (no message since).
    handled = window_handled_.load(relaxed);
    slowest = window_slowest_.load(relaxed);
  } else {
    handled = previous_handled_.load(relaxed);
    slowest = std::max(previous_slowest_.load(relaxed), window_slowest_.load(relaxed));
  }
  out.rate = static_cast<double>(handled) * 1e9 / static_cast<double>(meter_window_ns);
  // A message still being handled is the slowest if it already took longer.
  out.slowest_ns = std::max(slowest, out.handling_for_ns);
  return out;
}

std::shared_ptr<actor_meter> actor_meter_registry::add(std::uint64_t id, std::string name) {
  auto meter = std::make_shared<actor_meter>();
  std::lock_guard<std::mutex> guard{mutex_};
  entries_[id] = entry{std::move(name), {}, meter};
  return meter;
}

void actor_meter_registry::set_label(std::uint64_t id, std::string label) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto i = entries_.find(id); i != entries_.end())
    i->second.label = std::move(label);
}

void actor_meter_registry::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  entries_.erase(id);
}

std::vector<metered_actor_info> actor_meter_registry::read(meter_ns now) const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<metered_actor_info> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_)
    out.push_back(metered_actor_info{id, e.name, e.label, e.meter->read(now)});
  return out;
}

bool actor_meter_registry::read_one(std::uint64_t id, meter_ns now, metered_actor_info& out) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = entries_.find(id);
  if (i == entries_.end())
    return false;
  out = metered_actor_info{id, i->second.name, i->second.label, i->second.meter->read(now)};
  return true;
}

std::size_t actor_meter_registry::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return entries_.size();
}

} // namespace qtc

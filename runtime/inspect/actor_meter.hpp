// What each actor is doing, measured by the actor itself: messages handled, time spent handling
// them, the slowest one lately, and the messages waiting in its mailbox.
//
// CAF 0.17 measures none of this (its actor profiler hooks are compiled out of Debian's library),
// so every actor of the node counts for itself (actors/support/metered.hpp) into an actor_meter,
// and the inspector reads all meters through the actor_meter_registry. One writer per meter (the
// actor's own thread, one message at a time) and any number of readers: the fields are relaxed
// atomics; a reader may see one message's update half applied, which a monitor can afford.
//
// Time is explicit (nanoseconds on a monotonic clock, passed in), so the windows are tested
// without waiting; the metered actor passes a cheap clock's readings (tick_clock below).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace qtc {

/// Nanoseconds on a monotonic clock.
using meter_ns = std::int64_t;

/// The windows that rates and the slowest handling time are taken over: the figures describe the
/// last complete window (or the current one once it is complete), so a reader never sees a
/// window that has only just begun.
constexpr meter_ns meter_window_ns = 2'000'000'000; // 2 s

/// One reading of a meter.
struct actor_load {
  std::uint64_t handled = 0;    ///< messages handled since the actor started
  meter_ns busy_ns = 0;         ///< total time spent handling them
  std::uint64_t mailbox = 0;    ///< waiting messages after the latest one handled
  double rate = 0;              ///< messages handled per second over the last window
  meter_ns slowest_ns = 0;      ///< the slowest handling (stretch) over the last two windows
  meter_ns handling_for_ns = 0; ///< how long the message now being handled has taken (0: idle)
};

/// The counters of one actor. Written by the actor only (begin/end around each message).
class actor_meter {
public:
  /// The actor starts handling a message (the first of a stretch) at `now`.
  void begin(meter_ns now) noexcept;

  /// The actor finished the `messages` messages it began at the last `begin`, at `now`;
  /// `mailbox` messages are waiting. Their time counts as one handling for "slowest": the
  /// metered actor times stretches of up to 8 messages (actors/support/metered.hpp).
  void end(meter_ns now, std::uint64_t messages, std::uint64_t mailbox) noexcept;

  /// The figures as of `now` (any thread).
  actor_load read(meter_ns now) const noexcept;

private:
  void roll(meter_ns now) noexcept;

  std::atomic<std::uint64_t> handled_{0};
  std::atomic<meter_ns> busy_ns_{0};
  std::atomic<std::uint64_t> mailbox_{0};
  std::atomic<meter_ns> started_{0}; ///< the current message's start; 0 while idle
  // Windows: the current one began at window_start_; `previous_*` describe the one before it.
  std::atomic<meter_ns> window_start_{0};
  std::atomic<std::uint64_t> window_handled_{0};
  std::atomic<meter_ns> window_slowest_{0};
  std::atomic<std::uint64_t> previous_handled_{0};
  std::atomic<meter_ns> previous_slowest_{0};
};

/// One actor in the registry.
struct metered_actor_info {
  std::uint64_t id = 0; ///< CAF's actor id
  std::string name;     ///< what it is: "sync", "peer_session", ...
  std::string label;    ///< which one, when there are many: a session's peer address
  actor_load load;
};

/// Every metered actor of one actor system, by actor id.
class actor_meter_registry {
public:
  /// A new meter for the actor `id`, listed under `name`.
  std::shared_ptr<actor_meter> add(std::uint64_t id, std::string name);

  /// Names which one of many the actor is (e.g. a session's peer address).
  void set_label(std::uint64_t id, std::string label);

  /// The actor is gone.
  void remove(std::uint64_t id);

  /// Every actor's figures as of `now`, by id.
  std::vector<metered_actor_info> read(meter_ns now) const;

  /// The figures of one actor, if it is metered.
  bool read_one(std::uint64_t id, meter_ns now, metered_actor_info& out) const;

  std::size_t size() const;

private:
  struct entry {
    std::string name;
    std::string label;
    std::shared_ptr<actor_meter> meter;
  };
  mutable std::mutex mutex_;
  std::map<std::uint64_t, entry> entries_;
};

/// Where the metered actors of an actor system find their registry: an actor system config
/// that also derives from this class (node_config does) gets its actors metered.
class metered_system {
public:
  virtual ~metered_system() = default;
  std::shared_ptr<actor_meter_registry> meters = std::make_shared<actor_meter_registry>();
};

/// A monotonic clock cheap enough to read twice per message: the CPU's time-stamp counter on
/// x86-64 (constant and invariant on every CPU this node targets), converted to nanoseconds
/// with a rate calibrated once against steady_clock; steady_clock elsewhere.
class tick_clock {
public:
  static meter_ns now() noexcept;
};

} // namespace qtc

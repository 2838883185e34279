// The actor-level simulation harness: a doctest fixture around CAF's test coordinator.
//
// Every actor spawned in `sys` runs on one thread, in a deterministic order, only when the test
// says so (`run()`), and time is virtual: `advance(d)` moves the actor clock by `d` and fires the
// timeouts that became due (delayed messages, request timeouts). Nothing sleeps, so a test of
// minutes of node behaviour takes milliseconds and always runs the same way.
//
// `self` is a hidden scoped actor acting as the test's own mailbox: send with `self->send`,
// and collect what arrived with `inbox<T>()` after `run()`.
#pragma once

#include "actors/simulation/simulation_config.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/others.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace qtc::test {

/// The log level of the nodes under test: errors only, unless QTC_TEST_LOG_LEVEL says more.
inline std::string test_log_level() {
  const char* level = std::getenv("QTC_TEST_LOG_LEVEL");
  return level != nullptr ? level : "error";
}

class simulation {
public:
  simulation()
      : sys(cfg), self(sys, true),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    // Virtual time starts well after the clock's epoch, so that "now - period" stays positive.
    sched.clock().current_time += std::chrono::hours{1};
  }

  ~simulation() {
    // Stop what the test left running, then let the system go without waiting for stragglers.
    for (auto& x : owned_)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    run();
    sys.await_actors_before_shutdown(false);
  }

  /// Marks an actor as owned by the test: it is stopped when the test ends.
  template <class Handle>
  Handle own(Handle x) {
    owned_.push_back(caf::actor_cast<caf::actor>(x));
    return x;
  }

  /// Runs every actor until no message is left. Returns how many jobs ran.
  std::size_t run() {
    return sched.run();
  }

  /// Advances virtual time by `d`, firing due timeouts, then runs to quiescence.
  std::size_t advance(caf::timespan d) {
    auto fired = sched.advance_time(d);
    run();
    return fired;
  }

  /// Advances virtual time by `d` in steps of `step`, running to quiescence after each, so that
  /// chains of delayed messages (latency on every hop) progress as they would in real time.
  void advance_in_steps(caf::timespan d, caf::timespan step) {
    for (caf::timespan t{0}; t < d; t += step)
      advance(step);
  }

  /// Takes everything of type T that arrived at the test's own mailbox, in arrival order;
  /// messages of other types stay for their own `inbox` call.
  template <class T>
  std::vector<T> inbox() {
    drain();
    std::vector<T> result;
    std::vector<caf::message> rest;
    for (auto& msg : stash_) {
      if (msg.size() == 1 && msg.match_element<T>(0))
        result.push_back(msg.get_as<T>(0));
      else
        rest.push_back(std::move(msg));
    }
    stash_ = std::move(rest);
    return result;
  }

  /// Sends a request from `self`, runs the system, and returns the reply (or nothing on error).
  template <class Result, class Handle, class... Ts>
  std::optional<Result> request(const Handle& dest, Ts&&... xs) {
    std::optional<Result> result;
    auto rp = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    rp.receive([&](Result& x) { result = std::move(x); }, [&](caf::error&) {});
    return result;
  }

  /// Like request(), but the error too when there is one.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> request_or_error(const Handle& dest, Ts&&... xs) {
    caf::expected<Result> result{caf::error{}};
    auto rp = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    rp.receive([&](Result& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Moves whatever is in the test's mailbox into the stash.
  void drain() {
    bool more = true;
    while (more)
      self->receive(
          caf::others >> [&](caf::message_view& x) -> caf::result<caf::message> {
            stash_.push_back(x.move_content_to_message());
            return caf::message{};
          },
          caf::after(std::chrono::seconds{0}) >> [&] { more = false; });
  }

  qtc::simulation_config cfg{test_log_level()};
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;

private:
  std::vector<caf::message> stash_;
  std::vector<caf::actor> owned_;
};

} // namespace qtc::test

// An idle peer session wakes when it has something to do — a ping at its interval, an activity
// report when messages moved, a buffer trim after traffic — not once a second (10,000 idle
// peers spent a quarter of a core on their one-second ticks). A production session connects to
// a simulated node and both stay quiet for half an hour of virtual time: the session keeps the
// connection alive with its pings (the node's inactivity timeout is 20 minutes) while its
// wake-ups are counted job by job under the deterministic scheduler.
#include "support/node_simulation.hpp"

#include <caf/event_based_actor.hpp>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("simulation");

namespace {

struct idle_fixture : sim_fixture {
  caf::actor node;
  caf::actor manager; ///< stands in for the session's peer manager: counts activity reports
  std::shared_ptr<std::size_t> reports = std::make_shared<std::size_t>(0);
  peer_session_actor session;

  idle_fixture() {
    node = start_node("10.0.0.1", {}, 1);
    manager =
        quiet_manager([counter = reports](activity_atom, const peer_activity&) { ++*counter; });
    session = production_session("10.5.0.1", "10.0.0.1", 1, manager);
    advance_in_steps(2s, 10ms);
  }

  std::string state() {
    auto s = request<status_report>(session, status_atom::value, status_verbosity::info);
    return s ? caf::get_or(*s, "state", std::string{}) : std::string{"gone"};
  }

  std::int64_t messages_sent() {
    auto s = request<status_report>(session, status_atom::value, status_verbosity::info);
    REQUIRE(s);
    return caf::get_or(*s, "messages-sent", std::int64_t{0});
  }

  /// Advances virtual time by `d` in 1 s steps; returns how often the session actor ran.
  std::size_t wakeups_over(caf::timespan d) {
    auto* target = caf::actor_cast<caf::abstract_actor*>(session);
    std::size_t wakeups = 0;
    for (caf::timespan t{0}; t < d; t += 1s) {
      sched.advance_time(1s);
      while (sched.has_job()) {
        if (dynamic_cast<caf::abstract_actor*>(&sched.next_job<caf::resumable>()) == target)
          ++wakeups;
        sched.run_once();
      }
    }
    return wakeups;
  }
};

} // namespace

TEST_CASE_FIXTURE(idle_fixture, "idle session: it wakes for its pings and reports, not every "
                                "second, and the connection lives through half an hour") {
  REQUIRE(state() == "ready");
  auto sent_before = messages_sent();
  auto reports_before = *reports;
  auto wakeups = wakeups_over(30min);
  MESSAGE("1,800 idle virtual seconds: " << wakeups << " wake-ups, " << *reports - reports_before
                                         << " activity reports, " << messages_sent() - sent_before
                                         << " messages sent");
  // One tick a second was 1,800 wake-ups and a report every 5 s 360. Now: a ping every 2
  // minutes each way (15 + 15: a tick, the pong, the write acknowledgement, the buffer trim,
  // a report) and nothing between.
  CHECK(wakeups < 200);
  CHECK(*reports - reports_before <= 40);
  // Still pinging at its interval (a ping every 2 minutes, a pong for each of the node's), and
  // alive: the node's 20-minute inactivity timeout never fired.
  CHECK(messages_sent() - sent_before >= 28);
  CHECK(state() == "ready");
}

TEST_CASE_FIXTURE(idle_fixture, "idle session: a message sent after a long silence leaves at "
                                "once and the node answers it") {
  REQUIRE(state() == "ready");
  (void)wakeups_over(10min);
  auto sent_before = messages_sent();
  caf::anon_send(session, send_atom::value, p2p_message{getaddr_message{}});
  run();
  CHECK(messages_sent() == sent_before + 1);
  // Its bytes were written at once: the send-stall clock starts at the hand-over, not at the
  // last tick minutes ago (which would have closed the session as stalled at its next tick).
  (void)wakeups_over(5s);
  CHECK(state() == "ready");
}

TEST_SUITE_END();

// The simulator's height recorder (actors/simulation/height_recorder) on a whole simulated node:
// it finds the sync coordinator through the node's supervisor, and when the coordinator is
// killed and restarted it subscribes to the successor (before, the record of that node ended).
#include "actors/simulation/height_recorder.hpp"
#include "support/node_simulation.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace qtc::test;

TEST_SUITE_BEGIN("simulation");

TEST_CASE_FIXTURE(sim_fixture, "height recorder: it follows the sync coordinator across a "
                               "restart and stops with the node") {
  mine(dir.path() / "10.0.0.1", 20);
  auto node = start_node("10.0.0.1", {}, 1);
  auto heights = std::make_shared<std::vector<std::int32_t>>();
  auto syncs = std::make_shared<std::vector<sync_actor>>();
  auto recorder =
      sys.spawn(height_recorder, caf::actor_cast<supervisor_actor>(node),
                height_recorder_callbacks{[heights](std::int32_t h) { heights->push_back(h); },
                                          [syncs](const sync_actor& s) { syncs->push_back(s); }});
  advance_in_steps(1s, 10ms);
  REQUIRE(syncs->size() == 1);
  CHECK(*heights == std::vector<std::int32_t>{20}); // the height at subscription
  // The coordinator fails; its supervisor starts another, which the recorder finds. (Not
  // exit_reason::kill: that one would travel the link and take the supervisor with it.)
  caf::anon_send_exit(syncs->front(), caf::exit_reason::unhandled_exception);
  advance_in_steps(10s, 10ms);
  REQUIRE(syncs->size() == 2);
  CHECK(syncs->back() != syncs->front());
  auto current = sync_of(node);
  REQUIRE(current);
  CHECK(syncs->back() == *current);
  // The successor reports the height again (at subscription, and once it has loaded).
  REQUIRE(heights->size() >= 2);
  CHECK(std::all_of(heights->begin(), heights->end(), [](std::int32_t h) { return h == 20; }));
  // The node stops: so does its recorder.
  self->monitor(recorder);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  advance_in_steps(2s, 10ms);
  auto downs = inbox<caf::down_msg>();
  REQUIRE(downs.size() == 1);
  CHECK(downs.front().source == recorder.address());
}

TEST_SUITE_END();

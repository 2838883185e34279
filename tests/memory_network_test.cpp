// The simulator's in-memory network (actors/simulation/memory_network) under whole nodes: wire
// ends leave its table when their links end (a long run makes and drops many), and a partition
// cuts the wires across it at once and refuses new ones until it heals.
#include "support/node_simulation.hpp"

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

struct wire_counts {
  std::uint64_t made = 0;
  std::uint64_t refused = 0;
  std::uint64_t alive = 0;
};

wire_counts counts(sim_fixture& f) {
  wire_counts c;
  auto rp = f.self->request(f.net, caf::infinite, status_atom::value);
  f.run();
  rp.receive(
      [&](std::uint64_t made, std::uint64_t refused, std::uint64_t alive) {
        c = {made, refused, alive};
      },
      [](caf::error&) { FAIL("no status"); });
  return c;
}

} // namespace

TEST_CASE_FIXTURE(sim_fixture, "memory network: a partition cuts wires and refuses new ones, "
                               "ended wires are pruned, the heal lets the node reconnect") {
  mine(dir.path() / "10.0.0.1", 5);
  start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  advance_in_steps(2s, 10ms);
  auto before = counts(*this);
  CHECK(before.made == 1);
  CHECK(before.alive == 2);
  CHECK(blocks_of(b) == 5);

  caf::anon_send(net, partition_atom::value, std::vector<std::string>{"10.0.0.2"});
  advance_in_steps(12s, 10ms); // the manual peer is retried every 5 s
  auto cut = counts(*this);
  CHECK(cut.alive == 0); // both ends of the cut wire ended and left the table
  CHECK(cut.made == 1);
  CHECK(cut.refused >= 1);
  CHECK(caf::get_or(pool_status(b), "connections", std::int64_t{-1}) == 0);

  caf::anon_send(net, partition_atom::value, std::vector<std::string>{});
  advance_in_steps(8s, 10ms);
  auto healed = counts(*this);
  CHECK(healed.made == 2);
  CHECK(healed.alive == 2);
  CHECK(caf::get_or(pool_status(b), "connections", std::int64_t{-1}) == 1);
}

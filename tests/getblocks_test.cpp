// getblocks is answered as Bitcoin Core answers it: an inv of up to 500 block hashes of the best
// chain after the locator's fork point, ending before `stop`. A real node (storage, sync
// coordinator, in the simulator) serving 700 blocks; the peer is a stand-in session that records
// what the coordinator sends it.
#include "support/node_simulation.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <doctest/doctest.h>

using namespace qtc;
using namespace qtc::test;

namespace {

struct recorder_state {
  std::shared_ptr<std::vector<inv_message>> invs;
  static inline const char* name = "getblocks_recorder";
};

/// A peer session that keeps every `inv` the sync coordinator sends and ignores the rest.
peer_session_actor::behavior_type
recorder(peer_session_actor::stateful_pointer<recorder_state> self,
         std::shared_ptr<std::vector<inv_message>> invs) {
  self->state.invs = std::move(invs);
  return {
      [](status_atom, status_verbosity) { return status_report{}; },
      [](link_atom, const peer_link_actor&) {},
      [](data_atom, const bytes&) {},
      [](written_atom, std::uint64_t) {},
      [](linkdown_atom) {},
      [](linkdown_atom, bool) {},
      [self](send_atom, const p2p_message& msg) {
        if (auto* inv = std::get_if<inv_message>(&msg))
          self->state.invs->push_back(*inv);
      },
      [](send_atom, const std::string&, const bytes&) {},
      [](serve_atom, const std::vector<peer_answer>&) { return true; },
      [](close_atom, close_reason, const std::string&) {},
      [](tick_atom) {},
      [](grant_atom) {},
  };
}

} // namespace

TEST_CASE_FIXTURE(sim_fixture, "getblocks: up to 500 hashes after the fork point ending before "
                               "stop as Bitcoin Core answers") {
  mine(dir.path() / "10.0.0.1", 700);
  auto node = start_node("10.0.0.1", {}, 1);
  REQUIRE(blocks_of(node) == 700);
  auto stored = request<std::vector<stored_header>>(
      caf::actor_cast<storage_actor>(component(node, "storage")), get_atom::value,
      headers_atom::value);
  REQUIRE(stored);
  std::vector<hash256> at(701);
  for (const auto& h : *stored)
    at.at(h.height) = block_hash(h.header);

  auto invs = std::make_shared<std::vector<inv_message>>();
  auto session = sys.spawn(recorder, invs);
  auto sync = *sync_of(node);
  peer_info info;
  info.id = 4242;
  info.session = session;
  info.remote = "10.0.0.77:18444";
  self->send(sync, ready_atom::value, info);
  run();
  auto ask = [&](std::vector<hash256> locator, hash256 stop) {
    invs->clear();
    getblocks_message m;
    m.version = 70015;
    m.locator = std::move(locator);
    m.stop = stop;
    self->send(sync, peer_msg_atom::value, std::uint64_t{4242}, p2p_message{m});
    run();
  };
  auto heights = [&](const inv_message& inv) {
    std::vector<std::uint32_t> out;
    for (const auto& item : inv.items) {
      CHECK(item.type == static_cast<std::uint32_t>(inv_type::block));
      auto i = std::find(at.begin(), at.end(), item.hash);
      out.push_back(static_cast<std::uint32_t>(i - at.begin()));
    }
    return out;
  };
  auto range = [](std::uint32_t from, std::uint32_t to) {
    std::vector<std::uint32_t> out;
    for (auto h = from; h <= to; ++h)
      out.push_back(h);
    return out;
  };

  // From genesis: the first 500, in order.
  ask({at[0]}, hash256{});
  REQUIRE(invs->size() == 1);
  CHECK(heights(invs->front()) == range(1, 500));
  // From a locator whose best entry is 500 (newest first; an unknown hash is skipped): the rest.
  hash256 unknown{};
  unknown[0] = 0xAB;
  ask({unknown, at[500], at[499], at[0]}, hash256{});
  REQUIRE(invs->size() == 1);
  CHECK(heights(invs->front()) == range(501, 700));
  // `stop` ends the list before it.
  ask({at[0]}, at[300]);
  REQUIRE(invs->size() == 1);
  CHECK(heights(invs->front()) == range(1, 299));
  // A locator of nothing we know starts after genesis.
  ask({unknown}, hash256{});
  REQUIRE(invs->size() == 1);
  CHECK(heights(invs->front()).front() == 1);
  // At our tip there is nothing to list, and nothing is sent.
  ask({at[700]}, hash256{});
  CHECK(invs->empty());
  caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
}

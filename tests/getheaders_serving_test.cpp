// What a node answers to `getheaders` (docs/protocol.md, "Headers and blocks"): the best-chain
// headers after the locator's first hash on our best chain, as far as the blocks we hold, up to
// and including `stop` when it is among them. A whole simulated node serves; the peer asking is
// a stub session that records what the sync coordinator sends it. Also the session settings a
// node runs with (the version handshake timeout).
#include "actors/node.hpp"
#include "support/node_simulation.hpp"

#include <caf/event_based_actor.hpp>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

using sent_log = std::shared_ptr<std::vector<p2p_message>>;

/// A peer session that only records the messages the node sends through it (answers come
/// serialized, with serve_atom; they are decoded back).
caf::behavior recording_session(caf::event_based_actor*, sent_log log) {
  return {
      [log](send_atom, const p2p_message& msg) { log->push_back(msg); },
      [](send_atom, const std::string&, const bytes&) {},
      [log](serve_atom, const std::string& command, const bytes& payload) {
        auto d = decode_message(frame{command, payload});
        REQUIRE(d.error == wire_error::none);
        log->push_back(std::move(d.message));
        return true;
      },
  };
}

struct serving_fixture : sim_fixture {
  static constexpr std::uint64_t peer_id = 900;
  sent_log sent = std::make_shared<std::vector<p2p_message>>();
  caf::actor root;
  sync_actor sync;

  serving_fixture() {
    mine(dir.path() / "10.0.0.1", 30);
    root = start_node("10.0.0.1", {}, 1);
    REQUIRE(blocks_of(root) == 30);
    auto s = sync_of(root);
    REQUIRE(s);
    sync = *s;
    peer_info info;
    info.id = peer_id;
    info.session = caf::actor_cast<peer_session_actor>(own(sys.spawn(recording_session, sent)));
    info.type = connection_type::inbound;
    info.remote = "10.0.0.77:18444";
    info.version = 70015;
    self->send(sync, ready_atom::value, info);
    run();
  }

  /// Sends a getheaders from the stub peer; returns the hashes of the headers answered.
  std::vector<hash256> ask(std::vector<hash256> locator, hash256 stop = {}) {
    sent->clear();
    getheaders_message m;
    m.version = 70015;
    m.locator = std::move(locator);
    m.stop = stop;
    self->send(sync, peer_msg_atom::value, peer_id, p2p_message{m});
    run();
    std::vector<std::vector<hash256>> answers;
    for (const auto& msg : *sent)
      if (const auto* h = std::get_if<headers_message>(&msg)) {
        answers.emplace_back();
        for (const auto& header : h->headers)
          answers.back().push_back(block_hash(header));
      }
    REQUIRE(answers.size() == 1);
    return answers.front();
  }
};

} // namespace

TEST_CASE_FIXTURE(serving_fixture, "getheaders: `stop` is inclusive, ignored unless among them") {
  const auto genesis = block_hash(make_genesis_block(*spec).header);
  auto all = ask({genesis});
  REQUIRE(all.size() == 30); // heights 1..30
  SUBCASE("stop among the headers: the answer ends with it") {
    auto upto5 = ask({genesis}, all[4]);
    REQUIRE(upto5.size() == 5);
    CHECK(upto5.back() == all[4]);
    CHECK(ask({genesis}, all[0]) == std::vector<hash256>{all[0]});
    CHECK(ask({genesis}, all[29]) == all);
  }
  SUBCASE("stop unknown, zero, or at or below the fork point: as if there were none") {
    hash256 unknown{};
    unknown[0] = 1;
    CHECK(ask({genesis}, unknown) == all);
    CHECK(ask({genesis}, hash256{}) == all);
    auto after10 = ask({all[9]}, all[9]); // the locator's own hash is not "after" it
    REQUIRE(after10.size() == 20);
    CHECK(after10.front() == all[10]);
    CHECK(ask({all[9]}, all[3]).size() == 20);
  }
  SUBCASE("the first locator hash on our best chain decides; unknown ones are skipped") {
    hash256 unknown{};
    unknown[0] = 2;
    auto r = ask({unknown, all[19], all[9]}, all[24]);
    REQUIRE(r.size() == 5); // heights 21..25
    CHECK(r.front() == all[20]);
    CHECK(r.back() == all[24]);
    CHECK(ask({unknown}).size() == 30); // none found: from genesis
    CHECK(ask({all[29]}).empty());      // at our tip: an empty headers, nothing more
  }
}

TEST_CASE("the node's sessions give the version handshake 10 seconds, a frame 60") {
  // docs/protocol.md, "Version handshake": the timeout is not a chain spec key; every session
  // of a node runs with this one.
  auto settings = session_settings_for(*regtest());
  CHECK(settings.version_timeout == 10s);
  CHECK(settings.frame_timeout == 60s);
  CHECK(settings.send_stall_timeout == 60s);
  CHECK(settings.connect_timeout == regtest()->connection_timeout);
}

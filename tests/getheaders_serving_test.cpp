// What a node answers to `getheaders` (docs/protocol.md, "Headers and blocks"): the best-chain
// headers after the locator's first hash on our best chain, as far as the blocks we hold, up to
// and including `stop` when it is among them. A whole simulated node serves; the peer asking is
// a stub session that records what the sync coordinator sends it. The same stubs feed a fresh
// node headers: the next getheaders leaves before a full message is checked, and the peer serving
// headers is not asked for blocks meanwhile. Also the session settings a node runs with (the
// version handshake timeout).
#include "actors/node.hpp"
#include "runtime/chain/pow.hpp"
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
      [](close_atom, close_reason, const std::string&) {}, // the node drops the peer
      [log](serve_atom, const std::vector<peer_answer>& answers) {
        for (const auto& a : answers) {
          auto d = decode_message(frame{a.command, a.payload});
          REQUIRE(d.error == wire_error::none);
          log->push_back(std::move(d.message));
        }
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

namespace {

/// A fresh node (no blocks) with two stub peers that claim a 2,200-block chain, and the headers
/// of such a chain to feed it as if one of them sent them.
struct fetching_fixture : sim_fixture {
  std::array<sent_log, 2> sent{std::make_shared<std::vector<p2p_message>>(),
                               std::make_shared<std::vector<p2p_message>>()};
  std::vector<block_header> chain; ///< heights 1..2200
  caf::actor root;
  sync_actor sync;

  /// `second_height`: the chain the second stub claims (0: it has nothing to serve).
  explicit fetching_fixture(std::int32_t second_height = 2200) {
    mine(dir.path() / "source", 2200);
    chain = mined_headers(dir.path() / "source", *spec);
    chain.erase(chain.begin()); // genesis
    root = start_node("10.0.0.2", {}, 2);
    sync = *sync_of(root);
    for (std::uint64_t k = 0; k < 2; ++k) {
      peer_info info;
      info.id = 900 + k;
      info.session =
          caf::actor_cast<peer_session_actor>(own(sys.spawn(recording_session, sent[k])));
      info.type = connection_type::outbound_full_relay;
      info.remote = "10.0.0." + std::to_string(80 + k) + ":18444";
      info.version = 70015;
      info.services = 1;
      info.start_height = k == 0 ? 2200 : second_height;
      self->send(sync, ready_atom::value, info);
    }
    run();
  }
  template <class T>
  std::vector<T> sent_to(std::size_t k) const {
    std::vector<T> out;
    for (const auto& m : *sent[k])
      if (const auto* x = std::get_if<T>(&m))
        out.push_back(*x);
    return out;
  }
  /// Which stub the node asked for headers first (its headers peer).
  std::size_t headers_peer() const {
    auto a = sent_to<getheaders_message>(0).size(), b = sent_to<getheaders_message>(1).size();
    REQUIRE(a + b == 1);
    return a == 1 ? 0 : 1;
  }
  void send_headers(std::size_t k, std::vector<block_header> headers) {
    self->send(sync, peer_msg_atom::value, std::uint64_t{900 + k},
               p2p_message{headers_message{std::move(headers)}});
    run();
  }
};

/// Moves `h`'s nonce on until its proof of work meets its own target (`valid`) or does not
/// (regtest's target is met by about half of all nonces).
void set_proof_of_work(block_header& h, bool valid) {
  auto target = decode_compact(h.bits).value();
  while (check_proof_of_work(block_hash(h), h.bits, target) != valid)
    ++h.nonce;
}

/// A fetching_fixture whose second peer claims no blocks at all.
struct lonely_fixture : fetching_fixture {
  lonely_fixture() : fetching_fixture(0) {}
};

} // namespace

TEST_CASE_FIXTURE(fetching_fixture, "headers sync: the next getheaders leaves before a full "
                                    "headers message is checked") {
  auto k = headers_peer();
  // 2,000 headers whose last one is invalid (its proof of work broken): the request for the
  // headers after it has gone out already when the check finds it, and the peer is dropped.
  std::vector<block_header> batch(chain.begin(), chain.begin() + 2000);
  batch.back().nonce ^= 0x5a5a5a5a;
  set_proof_of_work(batch.back(), false);
  send_headers(k, batch);
  auto asked = sent_to<getheaders_message>(k);
  REQUIRE(asked.size() == 2);
  REQUIRE_FALSE(asked[1].locator.empty());
  CHECK(asked[1].locator.front() == block_hash(batch.back()));
  CHECK(sent_to<getdata_message>(k).empty());
}

TEST_CASE_FIXTURE(fetching_fixture, "headers sync: a header from the future ends the peer's "
                                    "turn quietly") {
  auto k = headers_peer();
  // The 2,000th header is dated far in the future (its proof of work redone): the first 1,999
  // are taken, the run stops there, and the request already sent for what follows it is moot.
  std::vector<block_header> batch(chain.begin(), chain.begin() + 2000);
  batch.back().time = 0xf0000000; // 2097
  set_proof_of_work(batch.back(), true);
  send_headers(k, batch);
  REQUIRE(sent_to<getheaders_message>(k).size() == 2);
  // The turn has moved to the other peer, which is asked from our best header (height 1,999).
  auto other = sent_to<getheaders_message>(1 - k);
  REQUIRE(other.size() == 1);
  CHECK(other.front().locator.front() == block_hash(chain[1998]));
  // The moot answer (headers that follow the real 2,000th, which we never saw) is ignored: not
  // counted as not connecting, and not asked about again.
  send_headers(k, {chain.begin() + 2000, chain.end()});
  CHECK(sent_to<getheaders_message>(k).size() == 2);
  auto status = *sync_status(root);
  CHECK(caf::get_or(status, "headers", std::int64_t{0}) == 1999);
}

TEST_CASE_FIXTURE(fetching_fixture, "headers sync: the peer serving headers is not asked for "
                                    "blocks while more headers are due from it") {
  auto k = headers_peer();
  send_headers(k, {chain.begin(), chain.begin() + 2000});
  // The other peer gets the first blocks; the headers peer only the next getheaders (blocks
  // queued before it would delay its answer: a peer answers in request order).
  CHECK(sent_to<getheaders_message>(k).size() == 2);
  CHECK(sent_to<getdata_message>(k).empty());
  REQUIRE(sent_to<getdata_message>(1 - k).size() == 1);
  CHECK(sent_to<getdata_message>(1 - k).front().items.size() == 16);
  // The last 200 headers: the headers sync is done, and both peers are asked for blocks.
  send_headers(k, {chain.begin() + 2000, chain.end()});
  CHECK(sent_to<getdata_message>(k).size() == 1);
}

TEST_CASE_FIXTURE(lonely_fixture, "headers sync: the only peer that has the blocks is asked "
                                  "for them while it serves headers") {
  // The other peer has nothing to serve: holding the blocks back for the headers would only
  // delay them.
  REQUIRE(headers_peer() == 0);
  send_headers(0, {chain.begin(), chain.begin() + 2000});
  CHECK(sent_to<getheaders_message>(0).size() == 2);
  REQUIRE(sent_to<getdata_message>(0).size() == 1);
  CHECK(sent_to<getdata_message>(0).front().items.size() == 16);
  CHECK(sent_to<getdata_message>(1).empty());
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

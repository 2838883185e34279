// The sync coordinator answers a peer's getdata and getheaders at the pace the peer reads: a
// stub session takes the answers (serve_atom) and acknowledges them only when the test says the
// peer has read, so the test sees how many answers the node builds ahead of the reader. The
// floods past what the node queues (getdata, transaction announcements) reach the security
// manager as offences, once a minute.
#include "messages/primitives/hex.hpp"
#include "runtime/chain/genesis.hpp"
#include "support/node_simulation.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <cstring>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

/// What the stub session saw: answers (command, and the acknowledgement it holds back), and the
/// other messages sent to it.
struct slow_reader {
  std::vector<std::string> served; ///< each answer's command
  std::size_t messages = 0;        ///< serve messages (each with one or more answers)
  std::vector<caf::typed_response_promise<bool>> unacknowledged;
  std::vector<p2p_message> sent;
};
using reader_log = std::shared_ptr<slow_reader>;

TEST_SUITE_BEGIN("security");

caf::behavior slow_session(caf::event_based_actor* self, reader_log log) {
  return {
      [log](send_atom, const p2p_message& msg) { log->sent.push_back(msg); },
      [](send_atom, const std::string&, const bytes&) {},
      [self, log](serve_atom, const std::vector<peer_answer>& answers) -> caf::result<bool> {
        ++log->messages;
        for (const auto& a : answers)
          log->served.push_back(a.command);
        log->unacknowledged.push_back(self->template make_response_promise<bool>());
        return log->unacknowledged.back();
      },
      // The peer has read what it was sent: the held acknowledgements are given (inside the
      // actor: a promise is delivered by its owner).
      [log](tick_atom) {
        auto held = std::move(log->unacknowledged);
        log->unacknowledged.clear();
        for (auto& rp : held)
          rp.deliver(true);
      },
      [](grant_atom) {},
  };
}

struct pace_fixture : sim_fixture {
  static constexpr std::uint64_t peer_id = 901;
  reader_log log = std::make_shared<slow_reader>();
  caf::actor root;
  sync_actor sync;
  std::vector<hash256> at; ///< block hashes by height
  caf::actor reader;       ///< the stub session

  pace_fixture() {
    mine(dir.path() / "10.0.0.1", 40);
    root = start_node("10.0.0.1", {}, 1);
    REQUIRE(blocks_of(root) == 40);
    sync = *sync_of(root);
    auto stored = request<std::vector<stored_header>>(
        caf::actor_cast<storage_actor>(component(root, "storage")), get_atom::value,
        headers_atom::value);
    REQUIRE(stored);
    at.resize(41);
    for (const auto& h : *stored)
      at.at(h.height) = block_hash(h.header);
    peer_info info;
    info.id = peer_id;
    reader = own(sys.spawn(slow_session, log));
    info.session = caf::actor_cast<peer_session_actor>(reader);
    info.type = connection_type::inbound;
    info.remote = "10.0.0.78:18444";
    info.version = 70015;
    self->send(sync, ready_atom::value, info);
    run();
  }

  void from_peer(p2p_message msg) {
    self->send(sync, peer_msg_atom::value, peer_id, std::move(msg));
    run();
  }

  /// The peer reads everything served so far: every held acknowledgement is given.
  void peer_reads() {
    self->send(reader, tick_atom::value);
    run();
  }

  /// The security manager's count of reported offences of `kind`.
  std::int64_t offences(const std::string& kind) {
    auto st = request<status_report>(caf::actor_cast<security_actor>(component(root, "security")),
                                     status_atom::value, status_verbosity::info);
    REQUIRE(st);
    return caf::get_or(*st, "offences." + kind, std::int64_t{0});
  }

  std::int64_t serve_queue() {
    auto s = sync_status(root);
    REQUIRE(s);
    for (const auto& p : caf::get_or(*s, "peer-state", caf::config_value::list{}))
      if (caf::get_or(caf::get<caf::settings>(p), "id", std::int64_t{0})
          == static_cast<std::int64_t>(peer_id))
        return caf::get_or(caf::get<caf::settings>(p), "serve-queue", std::int64_t{-1});
    return -1;
  }
};

getdata_message blocks(const std::vector<hash256>& hashes, std::size_t times) {
  getdata_message gd;
  for (std::size_t k = 0; k < times; ++k)
    for (const auto& h : hashes)
      gd.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::block), h});
  return gd;
}

} // namespace

TEST_CASE_FIXTURE(pace_fixture, "serving pace: a getdata is answered only as fast as the peer "
                                "reads, at most 4 answers ahead") {
  std::vector<hash256> chain(at.begin() + 1, at.end()); // heights 1..40
  from_peer(p2p_message{blocks(chain, 25)});            // 1,000 blocks asked for
  CHECK(log->served.size() == 4);                       // built ahead of the reader: 4
  CHECK(log->messages == 1);                            // read and handed over together
  CHECK(serve_queue() == 996);
  // Each time the peer has read what it was sent, the next four are built.
  for (int round = 0; round < 10; ++round)
    peer_reads();
  CHECK(log->served.size() == 44);
  CHECK(log->messages == 11);
  CHECK(serve_queue() == 956);
  CHECK(std::count(log->served.begin(), log->served.end(), "block") == 44);
}

TEST_CASE_FIXTURE(pace_fixture, "serving pace: getheaders waits its turn behind getdata, unknown "
                                "blocks are answered notfound, a full queue drops the excess") {
  const auto genesis = block_hash(make_genesis_block(*spec).header);
  std::vector<hash256> two{at[1], at[2]};
  hash256 unknown{};
  unknown[0] = 7;
  auto gd = blocks(two, 3);
  gd.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::block), unknown});
  from_peer(p2p_message{gd});
  getheaders_message gh;
  gh.version = 70015;
  gh.locator = {genesis};
  from_peer(p2p_message{gh});
  CHECK(log->served == std::vector<std::string>{"block", "block", "block", "block"});
  while (!log->unacknowledged.empty())
    peer_reads();
  // In order: six blocks, the unknown one (notfound), then the headers.
  REQUIRE(log->served.size() == 7);
  CHECK(log->served.back() == "headers");
  std::size_t notfound = 0;
  for (const auto& m : log->sent)
    if (const auto* nf = std::get_if<notfound_message>(&m)) {
      REQUIRE(nf->items.size() == 1);
      CHECK(nf->items[0].hash == unknown);
      ++notfound;
    }
  CHECK(notfound == 1);
  // One getdata of 50,000 items fills the queue; the next one is dropped and counted.
  std::vector<hash256> chain(at.begin() + 1, at.end());
  from_peer(p2p_message{blocks(chain, 1250)}); // 50,000 items
  from_peer(p2p_message{blocks(chain, 1)});
  auto s = sync_status(root);
  REQUIRE(s);
  std::int64_t dropped = -1;
  for (const auto& p : caf::get_or(*s, "peer-state", caf::config_value::list{}))
    dropped = caf::get_or(caf::get<caf::settings>(p), "serve-dropped", std::int64_t{-1});
  // Four of the first left the queue at once (being answered): four of the second fit.
  CHECK(dropped == 36);
  // The flood went to the security manager as getdata-flood, once a minute while it lasts.
  CHECK(offences("getdata-flood") == 1);
  from_peer(p2p_message{blocks(chain, 1)});
  CHECK(offences("getdata-flood") == 1);
  advance_in_steps(61s, 1s);
  from_peer(p2p_message{blocks(chain, 1)});
  CHECK(offences("getdata-flood") == 2);
}

TEST_CASE_FIXTURE(pace_fixture, "floods: transaction announcements past the tracker's 5000 are "
                                "reported as inv-flood, once a minute, not from a relay peer") {
  auto announce = [&](std::uint32_t first, std::uint32_t count) {
    inv_message inv;
    for (std::uint32_t i = first; i < first + count; ++i) {
      hash256 h{};
      std::memcpy(h.data(), &i, sizeof i);
      inv.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::tx), h});
    }
    from_peer(p2p_message{inv});
  };
  announce(0, 5000); // the tracker's bound: fine
  CHECK(offences("inv-flood") == 0);
  announce(5000, 10);
  CHECK(offences("inv-flood") == 1);
  announce(6000, 10);
  CHECK(offences("inv-flood") == 1);
  // A peer with the operator's relay permission has no bound (Core's rule for it).
  peer_info trusted;
  trusted.id = peer_id + 1;
  trusted.session = caf::actor_cast<peer_session_actor>(reader);
  trusted.type = connection_type::inbound;
  trusted.remote = "10.0.0.79:18444";
  trusted.version = 70015;
  trusted.permissions.relay = true;
  self->send(sync, ready_atom::value, trusted);
  inv_message inv;
  for (std::uint32_t i = 10'000; i < 16'000; ++i) {
    hash256 h{};
    std::memcpy(h.data(), &i, sizeof i);
    inv.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::tx), h});
  }
  self->send(sync, peer_msg_atom::value, trusted.id, p2p_message{inv});
  run();
  CHECK(offences("inv-flood") == 1);
  auto s = sync_status(root);
  REQUIRE(s);
  CHECK(caf::get_or(*s, "tx-requests-tracked", std::int64_t{0}) >= 5000 + 6000);
}

TEST_CASE_FIXTURE(pace_fixture, "floods: blocks and headers asked for again are amplification, "
                                "reported past 16 repeats") {
  std::vector<hash256> chain(at.begin() + 1, at.end()); // 40 blocks
  auto serve_all = [&] {
    for (int i = 0; i < 100 && serve_queue() > 0; ++i)
      peer_reads();
    peer_reads();
  };
  from_peer(p2p_message{blocks(chain, 1)});
  serve_all();
  CHECK(offences("getdata-amplification") == 0); // each block once: honest
  // The same 16 blocks again: within the grace.
  from_peer(p2p_message{blocks({chain.begin(), chain.begin() + 16}, 1)});
  serve_all();
  CHECK(offences("getdata-amplification") == 0);
  // One more repeat: reported.
  from_peer(p2p_message{blocks({chain.begin(), chain.begin() + 1}, 1)});
  serve_all();
  CHECK(offences("getdata-amplification") == 1);
}

TEST_SUITE_END();

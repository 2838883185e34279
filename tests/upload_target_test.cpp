// The upload target (runtime/sync/upload_target, Core's -maxuploadtarget) in explicit time: the
// cycle, the reserve for new blocks, and when historical and any serving stop; then at whole
// nodes: who is cut off, and who is still served.
#include "runtime/net/allowlist.hpp"
#include "runtime/sync/upload_target.hpp"
#include "support/node_simulation.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace std::chrono_literals;

namespace {
const upload_target::time_point t0 = upload_target::time_point{} + 1000h;
}

TEST_CASE("upload target: none set, nothing is ever reached") {
  upload_target u;
  u.sent(1'000'000'000'000, t0);
  CHECK_FALSE(u.reached(t0, true));
  CHECK_FALSE(u.reached(t0, false));
  CHECK(u.left(t0) == 0);
  CHECK(u.time_left(t0) == 0s);
}

TEST_CASE("upload target: historical serving stops at the target less the reserve for the "
          "cycle's new blocks, all serving at the target, and a new cycle starts afresh") {
  // 1 GB a day, blocks every 600 s of at most 1 MB: a full cycle reserves 144 MB.
  upload_target u{{.target_bytes = 1'000'000'000,
                   .cycle = 24h,
                   .block_interval = 600s,
                   .max_block_bytes = 1'000'000}};
  CHECK(u.time_left(t0) == 24h);
  CHECK(u.reserve(t0) == 144'000'000);
  u.sent(800'000'000, t0);
  CHECK_FALSE(u.reached(t0, true)); // 200 MB left > 144 MB reserve
  u.sent(60'000'000, t0 + 1s);
  CHECK(u.reached(t0 + 1s, true)); // 140 MB left ≤ the reserve (still 143 blocks' worth)
  CHECK_FALSE(u.reached(t0 + 1s, false));
  // Later in the cycle the reserve shrinks (rounded down to whole block intervals): 12 h left
  // keep 72 MB, so historical blocks are served again until 72 MB are left.
  CHECK(u.reserve(t0 + 12h) == 72'000'000);
  CHECK_FALSE(u.reached(t0 + 12h, true));
  u.sent(70'000'000, t0 + 12h);
  CHECK(u.reached(t0 + 12h, true));
  CHECK(u.left(t0 + 12h) == 70'000'000);
  u.sent(70'000'000, t0 + 23h);
  CHECK(u.reached(t0 + 23h, false)); // spent
  CHECK(u.left(t0 + 23h) == 0);
  CHECK(u.time_left(t0 + 23h) == 1h);
  // The cycle is over: everything is served again, counted from the next byte.
  CHECK(u.sent_in_cycle(t0 + 24h) == 0);
  CHECK_FALSE(u.reached(t0 + 24h, true));
  u.sent(1000, t0 + 25h);
  CHECK(u.sent_in_cycle(t0 + 25h) == 1000);
  CHECK(u.time_left(t0 + 25h) == 24h);
}

TEST_CASE("upload target: a target below a cycle's reserve stops historical serving until late "
          "in the cycle") {
  upload_target u{{.target_bytes = 10'000'000, .max_block_bytes = 1'000'000}};
  CHECK(u.reached(t0, true)); // 144 MB reserve > 10 MB target
  u.sent(1, t0);
  CHECK(u.reached(t0 + 1h, true));        // 138 MB reserve
  CHECK_FALSE(u.reached(t0 + 23h, true)); // 6 MB reserve: 4 MB for historical blocks
  u.sent(4'000'000, t0 + 23h);
  CHECK(u.reached(t0 + 23h, true));
  CHECK_FALSE(u.reached(t0 + 23h + 55min, true)); // in the last interval: no reserve
  CHECK_FALSE(u.reached(t0 + 23h, false));
}

// Whole nodes (virtual time): Bitcoin Core's feature_maxuploadtarget.
namespace {

/// A serving node at 10.0.0.1 with a 150,000-byte upload target and 10.0.0.2 allowed to
/// download past it; a chain spec of one block a day, so that within a cycle no reserve is kept
/// for new blocks and the target alone decides (the reserve's arithmetic: the cases above).
struct upload_fixture : test::sim_fixture {
  caf::actor serving;

  upload_fixture() {
    auto s = *spec;
    s.target_spacing = std::chrono::hours{24};
    spec = std::make_shared<const chain_spec>(s);
    // 1200 blocks 600 s apart: those below height ~192 are more than a week older than the tip.
    test::mine(dir.path() / "10.0.0.1", 1200);
    configure = [](simulated_node_config& cfg) {
      if (cfg.ip == "10.0.0.1")
        cfg.max_upload_target = 150'000;
    };
    serving = start_node("10.0.0.1", {}, 1, {}, [](peer_pool_options& pool) {
      std::string error;
      pool.allow = {*parse_allow_entry("download@10.0.0.2", error)};
    });
  }

  caf::settings upload_status() {
    auto s = sync_status(serving);
    REQUIRE(s);
    return caf::get_or(*s, "upload-target", caf::settings{});
  }
};

} // namespace

TEST_CASE_FIXTURE(upload_fixture, "simulation: past the upload target, historical blocks are "
                                  "refused to peers without the download permission, recent "
                                  "blocks and download peers are still served") {
  // A fresh node is cut off once the target is spent on it (headers and old blocks), short of
  // the chain.
  auto fresh = start_node("10.0.0.9", {"10.0.0.1:18444"}, 9);
  advance_in_steps(20s, 10ms);
  auto u = upload_status();
  CHECK(caf::get_or(u, "historical-limit-reached", false));
  CHECK(caf::get_or(u, "peers-refused", std::int64_t{0}) >= 1);
  CHECK(caf::get_or(u, "sent-in-cycle", std::int64_t{0}) >= 150'000);
  auto cut_at = blocks_of(fresh);
  CHECK(cut_at < 192);
  MESSAGE("the fresh node got " << cut_at << " blocks before the target stopped it");
  // A node with the first 1100 blocks asks only for recent ones: served.
  test::mine(dir.path() / "10.0.0.3", 1100);
  auto behind = start_node("10.0.0.3", {"10.0.0.1:18444"}, 3);
  CHECK(run_until_synced(behind, 1200, 60s));
  // The download permission: the whole chain, target or not.
  auto allowed = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  CHECK(run_until_synced(allowed, 1200, 60s));
  CHECK(blocks_of(fresh) == cut_at); // still refused when it comes back
}

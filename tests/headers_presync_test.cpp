// Low-work header chains (runtime/sync/headers_presync): presync keeps bits, not headers; a
// chain that reaches the minimum work is released only when sent again and matching; one that
// does not is dropped; broken chains, switched chains and impossible lengths are caught; the
// difficulty transitions a presync can check. Headers mined for real at regtest's easy target.
#include "runtime/chain/genesis.hpp"
#include "runtime/sync/headers_presync.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace qtc;

namespace {

const std::filesystem::path config_dir = std::filesystem::path{QTC_SOURCE_DIR} / "config";

constexpr std::int64_t now = 1'800'000'000;

struct fixture {
  chain_spec spec = [] {
    auto r = load_chain_spec(config_dir / "regtest.toml");
    REQUIRE(r.spec);
    return *r.spec;
  }();
  chain_params params = chain_params::from(spec);
  header_tree tree{params, make_genesis_block(spec).header};
  std::array<std::uint8_t, 16> salt{1, 2, 3};
  headers_presync::config small{.commitment_period = 10, .redownload_buffer = 50};

  /// `n` headers after `from`, mined at regtest's target; `variant` makes a different chain.
  std::vector<block_header> chain(const hash256& from, std::uint32_t from_time, std::size_t n,
                                  std::uint8_t variant = 0) {
    std::vector<block_header> out;
    auto prev = from;
    for (std::size_t i = 0; i < n; ++i) {
      block_header h;
      h.version = 1;
      h.prev_block = prev;
      h.merkle_root[0] = variant;
      h.time = from_time + 600 * static_cast<std::uint32_t>(i + 1);
      h.bits = spec.genesis_bits;
      for (h.nonce = 0;; ++h.nonce)
        if (check_proof_of_work(block_hash(h), h.bits, params.pow_limit.to_big_endian()))
          break;
      prev = block_hash(h);
      out.push_back(h);
    }
    return out;
  }
  std::vector<block_header> from_genesis(std::size_t n, std::uint8_t variant = 0) {
    return chain(tree.genesis().hash, tree.genesis().header.time, n, variant);
  }
  /// The work of `n` headers at regtest's target, plus genesis's (the chain work of height n).
  uint256 work_of_height(std::uint32_t n) const {
    return work_of_bits(spec.genesis_bits).times(n + 1);
  }
  headers_presync start(const uint256& minimum) {
    return headers_presync{params, tree.genesis(), tree.genesis().header.time, minimum, now,
                           salt,   small};
  }
  static std::span<const block_header> part(const std::vector<block_header>& v, std::size_t from,
                                            std::size_t n) {
    return std::span<const block_header>{v}.subspan(from, n);
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "presync: a chain that reaches the minimum work is released after "
                           "it is sent again, whole and in order") {
  auto headers = from_genesis(300);
  auto sync = start(work_of_height(250));
  // Presync: 100 at a time; nothing released, more requested, the locator follows the chain.
  auto s = sync.process(part(headers, 0, 100), true);
  CHECK(s.ok);
  CHECK(s.release.empty());
  CHECK(s.request_more);
  CHECK(sync.current() == headers_presync::phase::presync);
  CHECK(sync.locator_head() == block_hash(headers[99]));
  CHECK(sync.continues(headers[100]));
  CHECK_FALSE(sync.continues(headers[50]));
  s = sync.process(part(headers, 100, 100), true);
  CHECK(s.request_more);
  // Height 250 reaches the threshold: redownload from the start (the rest of this message is
  // not needed: it comes again).
  s = sync.process(part(headers, 200, 100), true);
  CHECK(s.ok);
  CHECK(s.request_more);
  CHECK(sync.current() == headers_presync::phase::redownload);
  CHECK(sync.presync_height() == 250);
  CHECK(sync.locator_head() == tree.genesis().hash);
  // Redownload: held back until 50 more have matched, then all once the threshold is reached.
  s = sync.process(part(headers, 0, 100), true);
  REQUIRE(s.ok);
  CHECK(s.release.size() == 50);
  CHECK(sync.buffered() == 50);
  s = sync.process(part(headers, 100, 100), true);
  CHECK(s.release.size() == 100);
  s = sync.process(part(headers, 200, 100), false);
  REQUIRE(s.ok);
  CHECK(s.release.size() == 150); // past the threshold, the rest needs no commitment
  CHECK_FALSE(s.request_more);
  CHECK(sync.current() == headers_presync::phase::done);
  CHECK(sync.buffered() == 0);
}

TEST_CASE_FIXTURE(fixture, "presync: a chain that ends below the minimum work is dropped with "
                           "nothing released and only bits kept") {
  auto headers = from_genesis(300);
  auto sync = start(work_of_height(1000));
  auto s = sync.process(part(headers, 0, 200), true);
  CHECK(s.ok);
  CHECK(s.request_more);
  // 200 headers, one bit per 10: the memory is the bits, not the headers.
  CHECK(sync.memory_bytes() < 64);
  s = sync.process(part(headers, 200, 100), false);
  CHECK(s.ok);
  CHECK(s.release.empty());
  CHECK_FALSE(s.request_more);
  CHECK(sync.current() == headers_presync::phase::done);
  // An empty answer ends it the same way.
  auto other = start(work_of_height(1000));
  s = other.process({}, false);
  CHECK(s.ok);
  CHECK_FALSE(s.request_more);
  CHECK(other.current() == headers_presync::phase::done);
}

TEST_CASE_FIXTURE(fixture, "presync: a different chain sent in redownload is caught by the "
                           "salted bits before anything of it is released") {
  auto honest = from_genesis(300);
  auto cheaper = from_genesis(300, 7); // as much work, different headers
  auto sync = start(work_of_height(250));
  sync.process(part(honest, 0, 260), true);
  REQUIRE(sync.current() == headers_presync::phase::redownload);
  // 250 heights hold 25 bits: a substitute chain passes each with one chance in two.
  auto s = sync.process(part(cheaper, 0, 200), true);
  CHECK_FALSE(s.ok);
  CHECK_FALSE(s.misbehaved); // an honest reorganisation can do this too
  CHECK(s.error.find("is not the presynced one") != std::string::npos);
  CHECK(s.release.empty());
  CHECK(sync.current() == headers_presync::phase::done);
}

TEST_CASE_FIXTURE(fixture, "presync: invalid and non-continuous headers are misbehaviour, a "
                           "peer that stops serving in redownload ends it") {
  auto headers = from_genesis(120);
  SUBCASE("a gap") {
    auto sync = start(work_of_height(1000));
    auto s = sync.process(part(headers, 1, 50), true); // header 1 missing
    CHECK_FALSE(s.ok);
    CHECK(s.misbehaved);
    CHECK(s.error == "non-continuous headers at height 1");
  }
  SUBCASE("a header missing its target") {
    auto bad = headers;
    do
      ++bad[40].nonce;
    while (
        check_proof_of_work(block_hash(bad[40]), bad[40].bits, params.pow_limit.to_big_endian()));
    auto sync = start(work_of_height(1000));
    auto s = sync.process(part(bad, 0, 100), true);
    CHECK_FALSE(s.ok);
    CHECK(s.misbehaved);
    CHECK(s.error == "invalid header at height 41: bad_proof_of_work");
  }
  SUBCASE("a difficulty change off a retarget boundary") {
    auto bad = from_genesis(5);
    bad[2].bits = 0x207ffffe;
    auto sync = start(work_of_height(1000));
    auto s = sync.process(bad, true);
    CHECK_FALSE(s.ok);
    CHECK(s.error.find("at height 3") != std::string::npos);
  }
  SUBCASE("an incomplete answer in redownload") {
    auto sync = start(work_of_height(100));
    sync.process(part(headers, 0, 120), true);
    REQUIRE(sync.current() == headers_presync::phase::redownload);
    auto s = sync.process(part(headers, 0, 60), false);
    CHECK_FALSE(s.ok);
    CHECK_FALSE(s.misbehaved);
    CHECK(s.release.empty());
  }
}

TEST_CASE_FIXTURE(fixture, "presync: a chain longer than time allows since its fork is refused") {
  // The median-time-past rule lets time advance a second every six headers: a fork whose median
  // time past is 50 s short of now plus the 7200 s of future allowed can have 300 headers, 30
  // bits at one per ten.
  auto mtp = now + params.max_future_block_time - 50;
  auto headers = from_genesis(400);
  auto fits =
      headers_presync{params, tree.genesis(), mtp, work_of_height(100'000), now, salt, small};
  auto s = fits.process(part(headers, 0, 300), true);
  CHECK(s.ok);
  auto longer =
      headers_presync{params, tree.genesis(), mtp, work_of_height(100'000), now, salt, small};
  s = longer.process(headers, true);
  CHECK_FALSE(s.ok);
  CHECK(s.misbehaved);
  CHECK(s.error.find("low-work headers chain longer than time allows") != std::string::npos);
  CHECK(longer.current() == headers_presync::phase::done);
}

TEST_CASE("presync: difficulty transitions at retarget boundaries stay within a factor of four") {
  chain_params p;
  uint256_be limit{};
  // 00000000ffff...: mainnet's
  for (std::size_t i = 4; i < 32; ++i)
    limit[i] = 0xff;
  p.pow_limit = uint256::from_big_endian(limit);
  p.retarget_interval = 2016;
  p.target_spacing = 600;
  std::uint32_t old_bits = 0x1c0fffff;
  // Off a boundary: only the same bits.
  CHECK(permitted_difficulty_transition(p, 2015, old_bits, old_bits));
  CHECK_FALSE(permitted_difficulty_transition(p, 2015, old_bits, 0x1c0ffffe));
  // On one: four times easier or harder at most.
  CHECK(permitted_difficulty_transition(p, 2016, old_bits, 0x1c3ffffc)); // x4
  CHECK_FALSE(permitted_difficulty_transition(p, 2016, old_bits, 0x1c4fffff));
  CHECK(permitted_difficulty_transition(p, 2016, old_bits, 0x1c03ffff)); // /4
  CHECK_FALSE(permitted_difficulty_transition(p, 2016, old_bits, 0x1c02ffff));
  // Never easier than the limit, never an invalid encoding.
  CHECK(permitted_difficulty_transition(p, 4032, 0x1d00ffff, 0x1d00ffff));
  CHECK_FALSE(permitted_difficulty_transition(p, 4032, 0x1d00ffff, 0x1d03fffc));
  CHECK_FALSE(permitted_difficulty_transition(p, 4032, old_bits, 0x1c800000));
  // Regtest never retargets: the bits never change.
  p.retarget_interval = 0;
  CHECK_FALSE(permitted_difficulty_transition(p, 2016, old_bits, 0x1c03ffff));
}

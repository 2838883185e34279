// The header tree: acceptance rules, best chain by work, reorgs, locators and retargeting, on
// headers mined for real at easy targets.
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace qtc;

namespace {

const std::filesystem::path config_dir = std::filesystem::path{QTC_SOURCE_DIR} / "config";

chain_spec regtest() {
  auto r = load_chain_spec(config_dir / "regtest.toml");
  REQUIRE(r.spec);
  return *r.spec;
}

/// Mines a child of `parent`: the first nonce whose hash meets `bits`.
block_header mine(const header_node& parent, std::uint32_t time, std::uint32_t bits,
                  const uint256& pow_limit, std::uint32_t salt = 0) {
  block_header h;
  h.version = 1;
  h.prev_block = parent.hash;
  h.merkle_root[0] = static_cast<std::uint8_t>(salt); // distinguishes siblings
  h.merkle_root[1] = static_cast<std::uint8_t>(salt >> 8);
  h.time = time;
  h.bits = bits;
  for (h.nonce = 0;; ++h.nonce)
    if (check_proof_of_work(block_hash(h), bits, pow_limit.to_big_endian()))
      return h;
}

constexpr std::int64_t now = 1'800'000'000;

struct fixture {
  chain_spec spec = regtest();
  chain_params params = chain_params::from(spec);
  header_tree tree{params, make_genesis_block(spec).header};

  /// Extends the chain ending at `tip` by `n` headers 10 minutes apart; returns the new tip.
  const header_node* extend(const header_node* tip, int n, std::uint32_t salt = 0) {
    for (int i = 0; i < n; ++i) {
      auto h = mine(*tip, tip->header.time + 600, tip->header.bits, params.pow_limit, salt);
      auto r = tree.accept(h, now);
      REQUIRE(r.rejection == header_rejection::none);
      REQUIRE_FALSE(r.duplicate);
      tip = r.node;
    }
    return tip;
  }
};

} // namespace

TEST_CASE("the regtest genesis block is what the chain spec pins") {
  auto spec = regtest();
  auto genesis = make_genesis_block(spec);
  CHECK(to_display_hex(block_hash(genesis.header)) == spec.genesis_hash_hex);
  CHECK(check_proof_of_work(block_hash(genesis.header), genesis.header.bits,
                            chain_params::from(spec).pow_limit.to_big_endian()));
  CHECK(genesis.txs.size() == 1);
  CHECK(genesis.txs[0].is_coinbase());
}

TEST_CASE("the genesis coinbase script: one length byte before the message, 1 to 90 bytes") {
  // docs/protocol.md, "Genesis": `04 <bits> 01 04 <len> <message>` with <len> a single byte for
  // every allowed length, 76-90 included, where Bitcoin script would read 4c-5a as opcodes
  // (OP_PUSHDATA1 ... OP_10) rather than as a push; the script is only hashed, never run.
  auto spec = regtest();
  for (std::size_t len :
       {std::size_t{1}, std::size_t{27}, std::size_t{75}, std::size_t{76}, std::size_t{90}}) {
    CAPTURE(len);
    spec.genesis_coinbase_message = std::string(len, 'q');
    auto script = make_genesis_block(spec).txs[0].inputs[0].script_sig;
    bytes expected{0x04, 0xff, 0xff, 0x7f, 0x20, 0x01, 0x04, static_cast<std::uint8_t>(len)};
    expected.insert(expected.end(), len, 'q');
    CHECK(script == expected);
  }
  CHECK(regtest().genesis_bits == 0x207fffff);
}

TEST_CASE_FIXTURE(fixture, "headers that link, meet their target and keep time are accepted") {
  auto tip = extend(&tree.genesis(), 20);
  CHECK(tip->height == 20);
  CHECK(&tree.best() == tip);
  CHECK(tree.size() == 21);
  CHECK(tree.best().chain_work == uint256{2}.times(21)); // regtest: 2 hashes of work per block
  // The same header again is a duplicate, not an error.
  auto again = tree.accept(tip->header, now);
  CHECK(again.duplicate);
  CHECK(again.rejection == header_rejection::none);
}

TEST_CASE_FIXTURE(fixture, "each broken rule is its own rejection") {
  auto tip = extend(&tree.genesis(), 12);
  SUBCASE("unknown parent") {
    block_header orphan = tip->header;
    orphan.prev_block[0] ^= 1;
    CHECK(tree.accept(orphan, now).rejection == header_rejection::unknown_parent);
  }
  SUBCASE("proof of work not met") {
    auto h = mine(*tip, tip->header.time + 600, tip->header.bits, params.pow_limit);
    for (;; ++h.nonce) // find a nonce that does NOT meet the target
      if (!check_proof_of_work(block_hash(h), h.bits, params.pow_limit.to_big_endian()))
        break;
    CHECK(tree.accept(h, now).rejection == header_rejection::bad_proof_of_work);
  }
  SUBCASE("target easier than the limit") {
    // Mined against a limit of 2^256 - 1: the hash meets its own (too easy) target.
    auto h = mine(*tip, tip->header.time + 600, 0x2100ffff, ~uint256{});
    CHECK(tree.accept(h, now).rejection == header_rejection::bad_proof_of_work);
  }
  SUBCASE("bits other than the retarget rule's") {
    auto h = mine(*tip, tip->header.time + 600, 0x1f7fffff, params.pow_limit);
    CHECK(tree.accept(h, now).rejection == header_rejection::bad_difficulty);
  }
  SUBCASE("time not after the median time past") {
    auto mtp = tree.median_time_past(*tip);
    auto h = mine(*tip, static_cast<std::uint32_t>(mtp), tip->header.bits, params.pow_limit);
    CHECK(tree.accept(h, now).rejection == header_rejection::time_too_old);
    auto ok = mine(*tip, static_cast<std::uint32_t>(mtp + 1), tip->header.bits, params.pow_limit);
    CHECK(tree.accept(ok, now).rejection == header_rejection::none);
  }
  SUBCASE("time too far in the future") {
    auto h = mine(*tip, static_cast<std::uint32_t>(now + 7201), tip->header.bits, params.pow_limit);
    CHECK(tree.accept(h, now).rejection == header_rejection::time_too_new);
    auto edge =
        mine(*tip, static_cast<std::uint32_t>(now + 7200), tip->header.bits, params.pow_limit);
    CHECK(tree.accept(edge, now).rejection == header_rejection::none);
  }
  CHECK(&tree.best() == tree.find(tree.best().hash));
}

TEST_CASE_FIXTURE(fixture, "a headers message checked on its own: continuity and each proof of "
                           "work, nothing looked up") {
  // Headers of a chain the tree has never seen: they need no parent in it.
  header_tree other{params, make_genesis_block(spec).header};
  std::vector<block_header> run;
  const header_node* tip = &other.genesis();
  for (int i = 0; i < 5; ++i) {
    auto h = mine(*tip, tip->header.time + 600, tip->header.bits, params.pow_limit, 7);
    tip = other.accept(h, now).node;
    REQUIRE(tip != nullptr);
    run.push_back(h);
  }
  auto fork = std::span<const block_header>{run}.subspan(1); // its first parent is unknown here
  CHECK_FALSE(check_headers_alone(fork, params.pow_limit));
  CHECK_FALSE(check_headers_alone({}, params.pow_limit));
  auto first_fault = [&](const std::vector<block_header>& headers) {
    auto fault = check_headers_alone(headers, params.pow_limit);
    REQUIRE(fault);
    return std::pair{fault->index, fault->rejection};
  };
  SUBCASE("a header that misses its own target") {
    auto bad = run;
    for (;; ++bad[3].nonce)
      if (!check_proof_of_work(block_hash(bad[3]), bad[3].bits, params.pow_limit.to_big_endian()))
        break;
    CHECK(first_fault(bad) == std::pair{std::size_t{3}, header_rejection::bad_proof_of_work});
  }
  SUBCASE("bits easier than the limit, met") {
    auto bad = run;
    bad[0] = mine(other.genesis(), other.genesis().header.time + 600, 0x2100ffff, ~uint256{});
    CHECK(first_fault(bad) == std::pair{std::size_t{0}, header_rejection::bad_proof_of_work});
  }
  SUBCASE("a header that does not follow the one before it") {
    auto gap = run;
    gap.erase(gap.begin() + 2);
    CHECK(first_fault(gap) == std::pair{std::size_t{2}, header_rejection::unknown_parent});
  }
}

TEST_CASE_FIXTURE(fixture, "near genesis the median time past is over the headers there are") {
  // docs/protocol.md, "Header and block validity": the parent and up to 10 ancestors, sorted,
  // the element at index count / 2 (with an even count, the later of the two middle times).
  const auto t0 = tree.genesis().header.time;
  auto same = mine(tree.genesis(), t0, tree.genesis().header.bits, params.pow_limit);
  CHECK(tree.accept(same, now).rejection == header_rejection::time_too_old);
  auto h1 =
      tree.accept(mine(tree.genesis(), t0 + 1, tree.genesis().header.bits, params.pow_limit), now);
  REQUIRE(h1.rejection == header_rejection::none);
  CHECK(tree.median_time_past(*h1.node) == t0 + 1); // {t0, t0 + 1}: index 1
  auto at_median = mine(*h1.node, t0 + 1, h1.node->header.bits, params.pow_limit);
  CHECK(tree.accept(at_median, now).rejection == header_rejection::time_too_old);
  // Time may go backwards, as long as it stays above the median.
  auto tip = extend(h1.node, 11);
  auto back = mine(*tip, tip->header.time - 600 * 4, tip->header.bits, params.pow_limit);
  CHECK(tree.accept(back, now).rejection == header_rejection::none);
}

TEST_CASE_FIXTURE(fixture, "the chain with more work wins, and reorgs find their fork point") {
  auto common = extend(&tree.genesis(), 5);
  auto a = extend(common, 3, 1);
  CHECK(&tree.best() == a);
  auto b = extend(common, 3, 2); // equal work: the first seen stays best
  CHECK(&tree.best() == a);
  auto b2 = extend(b, 1, 2);
  CHECK(&tree.best() == b2); // more work: reorg
  CHECK(&tree.fork_point(*a, *b2) == common);
  CHECK(tree.ancestor(*b2, 5) == common);
  CHECK(tree.ancestor(*b2, 9) == b2);
  CHECK(tree.ancestor(*b2, 10) == nullptr);
}

TEST_CASE_FIXTURE(fixture, "ancestors by skip pointers are the ancestors by parents, on both "
                           "branches of a fork") {
  auto fork = extend(&tree.genesis(), 700);
  auto a = extend(fork, 600, 1);
  auto b = extend(fork, 300, 2);
  for (const auto* tip : {a, b}) {
    // Every height, against a walk by parents (the definition).
    const header_node* walk = tip;
    for (auto h = tip->height + 1; h-- > 0; walk = walk->parent) {
      REQUIRE(tree.ancestor(*tip, h) == walk);
      if (walk->height >= 2)
        CHECK(walk->skip != nullptr);
      if (walk->skip != nullptr)
        CHECK(walk->skip->height < walk->height);
    }
    // From every node, one far and one near target.
    for (walk = tip; walk->height > 0; walk = walk->parent) {
      CHECK(tree.ancestor(*walk, walk->height / 3)->height == walk->height / 3);
      CHECK(tree.ancestor(*walk, walk->height - 1) == walk->parent);
    }
  }
  CHECK(&tree.fork_point(*a, *b) == fork);
  CHECK(&tree.fork_point(*b, *a) == fork);
  CHECK(&tree.fork_point(*a, *fork) == fork);
}

TEST_CASE_FIXTURE(fixture, "locators step back one at a time, then doubling, ending at genesis") {
  auto tip = extend(&tree.genesis(), 40);
  auto loc = tree.locator(*tip);
  std::vector<std::uint32_t> heights;
  for (const auto& h : loc)
    heights.push_back(tree.find(h)->height);
  // Bitcoin Core's CChain::GetLocator for height 40.
  CHECK(
      heights
      == std::vector<std::uint32_t>{40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 27, 23, 15, 0});
  CHECK(tree.locator(tree.genesis()).size() == 1);
}

TEST_CASE("retargeting follows Bitcoin's rule, clamped to a factor of four") {
  chain_params p;
  p.pow_limit = uint256::from_big_endian(decode_compact(0x207fffff).value());
  p.retarget_interval = 4;
  p.target_spacing = 600;
  p.max_future_block_time = 7200;
  p.median_time_span = 3;
  block_header genesis;
  genesis.version = 1;
  genesis.time = 1'700'000'000;
  genesis.bits = 0x200fffff;
  header_tree tree{p, genesis};
  const header_node* tip = &tree.genesis();
  // Three blocks 150 s apart: the period (3 intervals = 450 s) is faster than 4 × 600 s, clamped
  // at a quarter, so the target shrinks to 1/4 — bits at height 4 must say so.
  for (int i = 0; i < 3; ++i) {
    auto r = tree.accept(mine(*tip, tip->header.time + 150, tip->header.bits, p.pow_limit), now);
    REQUIRE(r.rejection == header_rejection::none);
    tip = r.node;
  }
  auto expected = tree.expected_bits(*tip);
  auto old_target = uint256::from_big_endian(decode_compact(0x200fffff).value());
  auto new_target = uint256::from_big_endian(decode_compact(expected).value());
  CHECK(new_target
        == uint256::from_big_endian(
            decode_compact(encode_compact((old_target.times(600) / uint256{2400}).to_big_endian()))
                .value()));
  auto wrong = mine(*tip, tip->header.time + 150, tip->header.bits, p.pow_limit);
  CHECK(tree.accept(wrong, now).rejection == header_rejection::bad_difficulty);
  auto right = mine(*tip, tip->header.time + 150, expected, p.pow_limit);
  CHECK(tree.accept(right, now).rejection == header_rejection::none);
}

// The storage actor's typed protocol, on the simulation harness over a real LMDB store.
#include "actors/storage.hpp"
#include "messages/errors.hpp"
#include "runtime/chain/genesis.hpp"
#include "support/process.hpp"
#include "support/simulation.hpp"

#include <caf/actor_cast.hpp>

using namespace qtc;

namespace {

chain_spec regtest() {
  auto r = load_chain_spec(std::filesystem::path{QTC_SOURCE_DIR} / "config" / "regtest.toml");
  REQUIRE(r.spec);
  return *r.spec;
}

struct fixture : test::simulation {
  test::temp_dir dir;
  chain_spec spec = regtest();
  storage_actor store;

  fixture() {
    auto handle = start_storage(sys, dir.path(), spec);
    REQUIRE(handle);
    store = own(caf::actor_cast<storage_actor>(*handle));
    run();
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a new store holds the genesis block as its best block") {
  auto genesis = make_genesis_block(spec);
  auto best = request<hash256>(store, get_atom::value, best_atom::value);
  REQUIRE(best);
  CHECK(*best == block_hash(genesis.header));
  auto raw = request<bytes>(store, get_atom::value, block_atom::value, *best);
  REQUIRE(raw);
  CHECK(*raw == serialize(genesis));
  auto headers = request<std::vector<stored_header>>(store, get_atom::value, headers_atom::value);
  REQUIRE(headers);
  REQUIRE(headers->size() == 1);
  CHECK((*headers)[0].height == 0);
}

TEST_CASE_FIXTURE(fixture, "headers and blocks put through the actor are read back") {
  auto genesis = make_genesis_block(spec);
  block b = genesis;
  b.header.prev_block = block_hash(genesis.header);
  b.header.time += 600;
  auto hash = block_hash(b.header);
  CHECK(request<bool>(store, put_atom::value, headers_atom::value,
                      std::vector<stored_header>{{b.header, 1}})
        == true);
  CHECK(request<bool>(store, put_atom::value, block_atom::value, hash, serialize(b), true) == true);
  CHECK(request<hash256>(store, get_atom::value, best_atom::value) == hash);
  CHECK(request<std::vector<stored_header>>(store, get_atom::value, headers_atom::value)->size()
        == 2);
  auto report = request<status_report>(store, status_atom::value, status_verbosity::info);
  REQUIRE(report);
  CHECK(caf::get_or(*report, "blocks", caf::config_value::integer{0}) == 2);
}

TEST_CASE_FIXTURE(fixture, "a block that is not stored is a not_found error") {
  auto rp = self->request(store, caf::infinite, get_atom::value, block_atom::value, hash256{7});
  run();
  bool got_error = false;
  rp.receive([](const bytes&) {},
             [&](const caf::error& err) {
               got_error = true;
               CHECK(err.code() == static_cast<std::uint8_t>(errc::not_found));
             });
  CHECK(got_error);
}

TEST_CASE_FIXTURE(fixture, "several blocks are read in one request in the order asked, a block "
                           "not stored with empty bytes") {
  auto genesis = make_genesis_block(spec);
  std::vector<stored_block> chain;
  hash256 prev = block_hash(genesis.header);
  for (std::uint32_t i = 1; i <= 3; ++i) {
    block b = genesis;
    b.header.prev_block = prev;
    b.header.time += 600 * i;
    prev = block_hash(b.header);
    chain.push_back(stored_block{prev, serialize(b)});
  }
  REQUIRE(request<bool>(store, put_atom::value, block_atom::value, chain, true) == true);
  hash256 unknown{};
  unknown[0] = 9;
  std::vector<hash256> asked{chain[2].hash, unknown, chain[0].hash, chain[2].hash};
  auto got = request<std::vector<stored_block>>(store, get_atom::value, block_atom::value, asked);
  REQUIRE(got);
  REQUIRE(got->size() == 4);
  for (std::size_t k = 0; k < asked.size(); ++k)
    CHECK((*got)[k].hash == asked[k]);
  CHECK((*got)[0].raw == chain[2].raw);
  CHECK((*got)[1].raw.empty());
  CHECK((*got)[2].raw == chain[0].raw);
  CHECK((*got)[3].raw == chain[2].raw);
  auto none = request<std::vector<stored_block>>(store, get_atom::value, block_atom::value,
                                                 std::vector<hash256>{});
  REQUIRE(none);
  CHECK(none->empty());
}

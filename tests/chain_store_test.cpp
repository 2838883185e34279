// The LMDB chain store: durability across SIGKILL, foreign and corrupt data directories.
#include "runtime/chain/merkle.hpp"
#include "runtime/store/chain_store.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <lmdb.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>

#include <unistd.h>

using namespace qtc;

namespace {

const chain_identity regtest_id{"regtest", hash256{1, 2, 3}};

/// A block with a unique coinbase and `filler` bytes of script, linked to `prev`.
block make_block(const hash256& prev, std::uint32_t n, std::size_t filler) {
  block b;
  transaction cb;
  cb.inputs.push_back(
      tx_in{outpoint{hash256{}, 0xffffffff},
            bytes{4, static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8),
                  static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 24)},
            0xffffffff});
  cb.outputs.push_back(tx_out{50, bytes(filler, 0x51)});
  b.txs.push_back(cb);
  b.header.prev_block = prev;
  b.header.merkle_root = compute_merkle_root({txid(cb)}).root;
  b.header.time = 1735690000 + n;
  b.header.bits = 0x207fffff;
  return b;
}

std::unique_ptr<chain_store> open_store(const std::filesystem::path& dir,
                                        const chain_identity& id = regtest_id) {
  std::string error;
  auto store = chain_store::open(dir, id, error);
  REQUIRE_MESSAGE(store, error);
  return store;
}

} // namespace

TEST_CASE("headers and blocks survive closing and reopening") {
  test::temp_dir dir;
  std::vector<block> chain;
  hash256 prev{};
  for (std::uint32_t i = 0; i < 50; ++i) {
    chain.push_back(make_block(prev, i, 100));
    prev = block_hash(chain.back().header);
  }
  {
    auto store = open_store(dir.path());
    std::vector<stored_header> headers;
    for (std::uint32_t i = 0; i < chain.size(); ++i)
      headers.push_back(stored_header{chain[i].header, i});
    CHECK_FALSE(store->put_headers(headers));
    for (const auto& b : chain)
      CHECK_FALSE(store->put_block(block_hash(b.header), serialize(b), true));
  }
  auto store = open_store(dir.path());
  CHECK(store->header_count() == 50);
  CHECK(store->block_count() == 50);
  REQUIRE(store->best_block());
  CHECK(*store->best_block() == prev);
  auto h = store->header(block_hash(chain[17].header));
  REQUIRE(h);
  CHECK(h->height == 17);
  CHECK(h->header == chain[17].header);
  auto raw = store->block(prev);
  REQUIRE(raw);
  CHECK(*raw == serialize(chain.back()));
  CHECK(store->all_headers().size() == 50);
  CHECK_FALSE(store->has_block(hash256{9}));
}

TEST_CASE("a batch of blocks is one commit and the last becomes the best") {
  test::temp_dir dir;
  std::vector<stored_block> batch;
  hash256 prev{};
  for (std::uint32_t i = 0; i < 20; ++i) {
    auto b = make_block(prev, i, 50);
    prev = block_hash(b.header);
    batch.push_back(stored_block{prev, serialize(b)});
  }
  {
    auto store = open_store(dir.path());
    CHECK_FALSE(store->put_blocks(std::span{batch}.first(10), true));
    CHECK(*store->best_block() == batch[9].hash);
    // Without make_best the blocks are stored and the best stays where it was.
    CHECK_FALSE(store->put_blocks(std::span{batch}.subspan(10), false));
    CHECK(*store->best_block() == batch[9].hash);
    CHECK_FALSE(store->put_blocks({}, true)); // nothing to do is not an error
  }
  auto store = open_store(dir.path());
  CHECK(store->block_count() == 20);
  for (const auto& b : batch)
    CHECK(store->block(b.hash) == b.raw);
}

TEST_CASE("a data directory of another network is refused and left untouched") {
  test::temp_dir dir;
  {
    auto store = open_store(dir.path());
    CHECK_FALSE(store->put_block(hash256{7}, bytes{1, 2, 3}, true));
  }
  std::string error;
  auto other = chain_store::open(dir.path(), chain_identity{"mainnet", hash256{9}}, error);
  CHECK_FALSE(other);
  CHECK(error.find("holds network regtest") != std::string::npos);
  CHECK(error.find("not mainnet") != std::string::npos);
  auto again = open_store(dir.path());
  CHECK(again->block_count() == 1);
}

TEST_CASE("a store written by another schema version is refused") {
  test::temp_dir dir;
  open_store(dir.path()); // create
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 4);
    REQUIRE(mdb_env_open(env, dir.path().c_str(), 0, 0600) == 0);
    MDB_txn* t = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &t) == 0);
    MDB_dbi meta;
    REQUIRE(mdb_dbi_open(t, "meta", 0, &meta) == 0);
    MDB_val k{6, const_cast<char*>("schema")}, v{2, const_cast<char*>("99")};
    REQUIRE(mdb_put(t, meta, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(t) == 0);
    mdb_env_close(env);
  }
  std::string error;
  CHECK_FALSE(chain_store::open(dir.path(), regtest_id, error));
  CHECK(error.find("schema version 99") != std::string::npos);
}

TEST_CASE("a corrupt store file is a clear error, not a crash") {
  test::temp_dir dir;
  std::ofstream{dir.path() / "data.mdb", std::ios::binary} << std::string(65536, 'x');
  std::string error;
  CHECK_FALSE(chain_store::open(dir.path(), regtest_id, error));
  CHECK(error.find("not a usable LMDB environment") != std::string::npos);
}

namespace {

/// Forks a writer committing blocks in `mode` as fast as it can, kills it with SIGKILL after 300
/// commits, and checks that the reopened store holds every block it reported.
void check_killed_writer_loses_nothing(commit_mode mode) {
  test::temp_dir dir;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The writer: commits blocks as fast as it can and reports each commit's number.
    ::close(pipe_fds[0]);
    std::string error;
    auto store =
        chain_store::open(dir.path(), regtest_id, error, chain_store::default_map_size, mode);
    if (!store)
      ::_exit(3);
    hash256 prev{};
    for (std::uint32_t i = 0;; ++i) {
      auto b = make_block(prev, i, 9000); // under MAX_SCRIPT_SIZE
      prev = block_hash(b.header);
      if (store->put_headers(std::vector{stored_header{b.header, i}})
          || store->put_block(prev, serialize(b), true))
        ::_exit(4);
      if (::write(pipe_fds[1], &i, sizeof(i)) != sizeof(i))
        ::_exit(5);
    }
  }
  ::close(pipe_fds[1]);
  std::uint32_t last = 0;
  std::uint32_t reported = 0;
  while (reported < 300 && ::read(pipe_fds[0], &last, sizeof(last)) == sizeof(last))
    ++reported;
  ::kill(pid, SIGKILL); // mid-stream: the writer is inside its next transaction or close to it
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[0]);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(reported == 300);

  auto store = open_store(dir.path());
  // Everything reported as committed is there (the writer may have committed a few more).
  CHECK(store->block_count() >= last + 1);
  CHECK(store->header_count() >= last + 1);
  // The best pointer names a stored block that decodes and hashes to its key, and the chain
  // links back to the first block through stored blocks only.
  auto best = store->best_block();
  REQUIRE(best);
  std::size_t walked = 0;
  hash256 at = *best;
  while (at != hash256{}) {
    auto raw = store->block(at);
    REQUIRE(raw);
    byte_reader r{*raw};
    auto b = read_block(r, 10);
    r.expect_end();
    REQUIRE(r.ok());
    REQUIRE(block_hash(b.header) == at);
    at = b.header.prev_block;
    ++walked;
  }
  CHECK(walked == store->block_count());
  CHECK(walked >= last + 1);
}

} // namespace

TEST_CASE("a writer killed with SIGKILL mid-stream loses nothing it committed") {
  check_killed_writer_loses_nothing(commit_mode::flushed);
}

TEST_CASE("unflushed commits (the simulator's) also survive a writer killed with SIGKILL") {
  // commit_mode::unflushed writes into the file's pages and never flushes them: what it
  // committed outlives the process (not the machine), which is all a simulated crash needs.
  check_killed_writer_loses_nothing(commit_mode::unflushed);
}

TEST_CASE("the peer table is stored durably and replaced by the next one") {
  test::temp_dir dir;
  {
    auto store = open_store(dir.path());
    CHECK(store->peer_table().empty());
    bytes first(1000, 0x11), second(10, 0x22);
    REQUIRE_FALSE(store->put_peer_table(first));
    CHECK(store->peer_table() == first);
    REQUIRE_FALSE(store->put_peer_table(second));
    CHECK(store->peer_table() == second);
  }
  auto reopened = open_store(dir.path());
  CHECK(reopened->peer_table() == bytes(10, 0x22));
  // The chain is untouched by it.
  CHECK(reopened->header_count() == 0);
}

TEST_CASE("the ban table is stored durably beside the peer table, each replacing only itself") {
  test::temp_dir dir;
  {
    auto store = open_store(dir.path());
    CHECK(store->ban_table().empty());
    REQUIRE_FALSE(store->put_peer_table(bytes(5, 0x33)));
    REQUIRE_FALSE(store->put_ban_table(bytes(700, 0x44)));
    REQUIRE_FALSE(store->put_ban_table(bytes(7, 0x55)));
    CHECK(store->ban_table() == bytes(7, 0x55));
  }
  auto reopened = open_store(dir.path());
  CHECK(reopened->ban_table() == bytes(7, 0x55));
  CHECK(reopened->peer_table() == bytes(5, 0x33));
}

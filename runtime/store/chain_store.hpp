// The chain store: headers, blocks and the best-chain pointer in LMDB, under
// `<data-dir>/chain/`.
//
// Every write is one LMDB transaction, committed durably before the call returns, so a process
// killed at any moment (SIGKILL included) reopens with every committed header and block intact and
// the best pointer naming a block that is stored (commit_mode::unflushed, the simulator's, keeps
// that for the process, not for the machine). The store records its schema version, network
// and genesis hash; opening it for another network, another schema, or on a file that is not a
// usable LMDB environment is a clear error, never a crash, and touches nothing.
#pragma once

#include "messages/block.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qtc {

/// How a commit reaches the disk.
enum class commit_mode {
  /// Flushed before the commit returns: survives a crash of the process and of the machine (the
  /// node).
  flushed,
  /// Written to the file's pages and never flushed (LMDB's MDB_WRITEMAP | MDB_NOSYNC): survives
  /// the process, not the machine. The simulator's stores, on tmpfs, where a flush protects
  /// nothing and the commits' writes were 8 % of a 1,000-node run (docs/performance.md). The
  /// file's apparent size is the map size (LMDB sizes it so for MDB_WRITEMAP); it is sparse.
  unflushed,
};

/// What a data directory's chain must be.
struct chain_identity {
  std::string network;
  hash256 genesis{};
};

class chain_store {
public:
  static constexpr std::uint32_t schema_version = 1;
  static constexpr std::size_t default_map_size = std::size_t{1} << 36;

  /// Opens (and on first use creates) the store in `dir`. On failure returns nothing and sets
  /// `error` to one sentence naming the directory and the cause.
  static std::unique_ptr<chain_store> open(const std::filesystem::path& dir,
                                           const chain_identity& identity, std::string& error,
                                           std::size_t map_size = default_map_size,
                                           commit_mode mode = commit_mode::flushed);
  ~chain_store();
  chain_store(const chain_store&) = delete;
  chain_store& operator=(const chain_store&) = delete;

  // -- writes: each is one durable transaction; an error string, or nothing on success --------

  std::optional<std::string> put_headers(std::span<const stored_header> headers);
  /// Stores a block and, in the same transaction, makes it the best block.
  std::optional<std::string> put_block(const hash256& hash, std::span<const std::uint8_t> raw,
                                       bool make_best);
  /// Stores blocks in one transaction (one durable commit for all: initial sync and chain
  /// generation write many consecutive blocks); `make_best` makes the last one the best block.
  std::optional<std::string> put_blocks(std::span<const stored_block> blocks, bool make_best);

  // -- reads -----------------------------------------------------------------------------------

  /// Stores the address manager's tables (one durable transaction, replacing the last ones).
  std::optional<std::string> put_peer_table(std::span<const std::uint8_t> raw);
  /// The stored address manager tables; empty if none were stored.
  bytes peer_table() const;
  /// Stores the security manager's ban list and reputations (its own text format, replacing
  /// the last one, in one durable transaction).
  std::optional<std::string> put_ban_table(std::span<const std::uint8_t> raw);
  /// The stored ban list; empty if none was stored.
  bytes ban_table() const;

  std::optional<stored_header> header(const hash256& hash) const;
  std::optional<bytes> block(const hash256& hash) const;
  /// Several blocks in one read transaction (serving a getdata), in the order asked; a block
  /// not stored comes back with empty `raw` (a stored block never is: it has a header).
  std::vector<stored_block> blocks(std::span<const hash256> hashes) const;

private:
  /// Stores `raw` under `key` in the meta table (one durable transaction); `what` names it in
  /// errors.
  std::optional<std::string> put_meta_blob(std::string_view key, std::span<const std::uint8_t> raw,
                                           std::string_view what);
  /// The bytes under `key` in the meta table; empty if none.
  bytes meta_blob(std::string_view key) const;

public:
  bool has_block(const hash256& hash) const;
  std::optional<hash256> best_block() const;
  /// Every stored header (to rebuild the header tree at start-up), in no particular order.
  std::vector<stored_header> all_headers() const;
  std::size_t header_count() const;
  std::size_t block_count() const;

  const std::filesystem::path& path() const {
    return dir_;
  }

private:
  struct lmdb;
  chain_store(std::filesystem::path dir, std::unique_ptr<lmdb> db);
  std::filesystem::path dir_;
  std::unique_ptr<lmdb> db_;
};

} // namespace qtc

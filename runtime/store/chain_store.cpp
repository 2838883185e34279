#include "runtime/store/chain_store.hpp"

#include "messages/primitives/hex.hpp"

#include <lmdb.h>

#include <cstring>

namespace qtc {

struct chain_store::lmdb {
  MDB_env* env = nullptr;
  MDB_dbi meta = 0;
  MDB_dbi headers = 0;
  MDB_dbi blocks = 0;
  ~lmdb() {
    if (env != nullptr)
      mdb_env_close(env);
  }
};

namespace {

constexpr std::string_view key_schema = "schema";
constexpr std::string_view key_network = "network";
constexpr std::string_view key_genesis = "genesis";
constexpr std::string_view key_best = "best_block";
constexpr std::string_view key_peers = "peer_table";
constexpr std::string_view key_bans = "ban_table";

MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

MDB_val val(std::span<const std::uint8_t> s) {
  return MDB_val{s.size(), const_cast<std::uint8_t*>(s.data())};
}

std::span<const std::uint8_t> span_of(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}

/// A read or write transaction that aborts unless committed.
class txn {
public:
  txn(MDB_env* env, bool write) {
    rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &t_);
  }
  ~txn() {
    if (t_ != nullptr)
      mdb_txn_abort(t_);
  }
  int begin_error() const {
    return rc_;
  }
  MDB_txn* get() const {
    return t_;
  }
  int commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    return rc;
  }

private:
  MDB_txn* t_ = nullptr;
  int rc_ = 0;
};

std::string failure(const std::filesystem::path& dir, const std::string& what, int rc) {
  return "chain store " + dir.string() + ": " + what + ": " + mdb_strerror(rc);
}

std::optional<std::string> get_meta(MDB_txn* t, MDB_dbi dbi, std::string_view key) {
  auto k = val(key);
  MDB_val v;
  if (mdb_get(t, dbi, &k, &v) != 0)
    return std::nullopt;
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

bytes encode_header(const stored_header& h) {
  bytes out = serialize(h.header);
  byte_writer{out}.u32le(h.height);
  return out;
}

std::optional<stored_header> decode_header(std::span<const std::uint8_t> raw) {
  byte_reader r{raw};
  stored_header h;
  h.header = read_block_header(r);
  h.height = r.u32le();
  r.expect_end();
  if (!r.ok())
    return std::nullopt;
  return h;
}

} // namespace

chain_store::chain_store(std::filesystem::path dir, std::unique_ptr<lmdb> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

chain_store::~chain_store() = default;

std::unique_ptr<chain_store> chain_store::open(const std::filesystem::path& dir,
                                               const chain_identity& identity, std::string& error,
                                               std::size_t map_size, commit_mode mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "chain store " + dir.string() + ": cannot create: " + ec.message();
    return nullptr;
  }
  auto db = std::make_unique<lmdb>();
  int rc = mdb_env_create(&db->env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(db->env, 4);
  if (rc == 0)
    rc = mdb_env_set_mapsize(db->env, map_size);
  if (rc != 0) {
    error = failure(dir, "cannot set up LMDB", rc);
    return nullptr;
  }
  // MDB_NOTLS: actors move between threads, so read transactions must not be tied to one.
  unsigned flags = MDB_NOTLS;
  if (mode == commit_mode::unflushed)
    flags |= MDB_WRITEMAP | MDB_NOSYNC;
  rc = mdb_env_open(db->env, dir.c_str(), flags, 0600);
  if (rc != 0) {
    error = failure(dir, "not a usable LMDB environment", rc);
    return nullptr;
  }
  txn t{db->env, true};
  if (t.begin_error() != 0) {
    error = failure(dir, "cannot begin a transaction", t.begin_error());
    return nullptr;
  }
  for (auto [name, dbi] : {std::pair{"meta", &db->meta}, std::pair{"headers", &db->headers},
                           std::pair{"blocks", &db->blocks}}) {
    rc = mdb_dbi_open(t.get(), name, MDB_CREATE, dbi);
    if (rc != 0) {
      error = failure(dir, std::string{"cannot open table "} + name, rc);
      return nullptr;
    }
  }
  auto schema = get_meta(t.get(), db->meta, key_schema);
  auto genesis_hex = to_hex(identity.genesis);
  if (!schema) {
    // A new store: record what it is.
    auto version = std::to_string(schema_version);
    MDB_val k, v;
    for (auto [key, value] : {std::pair{key_schema, std::string_view{version}},
                              std::pair{key_network, std::string_view{identity.network}},
                              std::pair{key_genesis, std::string_view{genesis_hex}}}) {
      k = val(key);
      v = val(value);
      rc = mdb_put(t.get(), db->meta, &k, &v, 0);
      if (rc != 0) {
        error = failure(dir, "cannot initialize", rc);
        return nullptr;
      }
    }
    rc = t.commit();
    if (rc != 0) {
      error = failure(dir, "cannot initialize", rc);
      return nullptr;
    }
    return std::unique_ptr<chain_store>(new chain_store(dir, std::move(db)));
  }
  if (*schema != std::to_string(schema_version)) {
    error = "chain store " + dir.string() + ": schema version " + *schema + ", this node reads "
            + std::to_string(schema_version);
    return nullptr;
  }
  auto network = get_meta(t.get(), db->meta, key_network).value_or("?");
  auto genesis = get_meta(t.get(), db->meta, key_genesis).value_or("?");
  if (network != identity.network || genesis != genesis_hex) {
    error = "chain store " + dir.string() + ": holds network " + network + " (genesis " + genesis
            + "), not " + identity.network + " (genesis " + genesis_hex + ")";
    return nullptr;
  }
  // Table handles opened in a transaction last only if it commits.
  rc = t.commit();
  if (rc != 0) {
    error = failure(dir, "cannot open", rc);
    return nullptr;
  }
  return std::unique_ptr<chain_store>(new chain_store(dir, std::move(db)));
}

std::optional<std::string> chain_store::put_headers(std::span<const stored_header> headers) {
  txn t{db_->env, true};
  if (t.begin_error() != 0)
    return failure(dir_, "cannot begin a transaction", t.begin_error());
  for (const auto& h : headers) {
    auto hash = block_hash(h.header);
    auto raw = encode_header(h);
    MDB_val k = val(hash), v = val(raw);
    if (int rc = mdb_put(t.get(), db_->headers, &k, &v, 0); rc != 0)
      return failure(dir_, "cannot store a header", rc);
  }
  if (int rc = t.commit(); rc != 0)
    return failure(dir_, "cannot commit headers", rc);
  return std::nullopt;
}

std::optional<std::string>
chain_store::put_block(const hash256& hash, std::span<const std::uint8_t> raw, bool make_best) {
  txn t{db_->env, true};
  if (t.begin_error() != 0)
    return failure(dir_, "cannot begin a transaction", t.begin_error());
  MDB_val k = val(hash), v = val(raw);
  if (int rc = mdb_put(t.get(), db_->blocks, &k, &v, 0); rc != 0)
    return failure(dir_, "cannot store a block", rc);
  if (make_best) {
    MDB_val bk = val(key_best), bv = val(hash);
    if (int rc = mdb_put(t.get(), db_->meta, &bk, &bv, 0); rc != 0)
      return failure(dir_, "cannot store the best block", rc);
  }
  if (int rc = t.commit(); rc != 0)
    return failure(dir_, "cannot commit a block", rc);
  return std::nullopt;
}

std::optional<std::string> chain_store::put_blocks(std::span<const stored_block> blocks,
                                                   bool make_best) {
  if (blocks.empty())
    return std::nullopt;
  txn t{db_->env, true};
  if (t.begin_error() != 0)
    return failure(dir_, "cannot begin a transaction", t.begin_error());
  for (const auto& b : blocks) {
    MDB_val k = val(b.hash), v = val(b.raw);
    if (int rc = mdb_put(t.get(), db_->blocks, &k, &v, 0); rc != 0)
      return failure(dir_, "cannot store a block", rc);
  }
  if (make_best) {
    MDB_val bk = val(key_best), bv = val(blocks.back().hash);
    if (int rc = mdb_put(t.get(), db_->meta, &bk, &bv, 0); rc != 0)
      return failure(dir_, "cannot store the best block", rc);
  }
  if (int rc = t.commit(); rc != 0)
    return failure(dir_, "cannot commit blocks", rc);
  return std::nullopt;
}

std::optional<std::string> chain_store::put_meta_blob(std::string_view key,
                                                      std::span<const std::uint8_t> raw,
                                                      std::string_view what) {
  txn t{db_->env, true};
  if (t.begin_error() != 0)
    return failure(dir_, "cannot begin a transaction", t.begin_error());
  MDB_val k = val(key), v = val(raw);
  if (int rc = mdb_put(t.get(), db_->meta, &k, &v, 0); rc != 0)
    return failure(dir_, "cannot store the " + std::string{what}, rc);
  if (int rc = t.commit(); rc != 0)
    return failure(dir_, "cannot commit the " + std::string{what}, rc);
  return std::nullopt;
}

bytes chain_store::meta_blob(std::string_view key) const {
  txn t{db_->env, false};
  MDB_val k = val(key), v;
  if (t.begin_error() != 0 || mdb_get(t.get(), db_->meta, &k, &v) != 0)
    return {};
  auto* p = static_cast<const std::uint8_t*>(v.mv_data);
  return bytes(p, p + v.mv_size);
}

std::optional<std::string> chain_store::put_peer_table(std::span<const std::uint8_t> raw) {
  return put_meta_blob(key_peers, raw, "peer table");
}

bytes chain_store::peer_table() const {
  return meta_blob(key_peers);
}

std::optional<std::string> chain_store::put_ban_table(std::span<const std::uint8_t> raw) {
  return put_meta_blob(key_bans, raw, "ban table");
}

bytes chain_store::ban_table() const {
  return meta_blob(key_bans);
}

std::optional<stored_header> chain_store::header(const hash256& hash) const {
  txn t{db_->env, false};
  MDB_val k = val(hash), v;
  if (t.begin_error() != 0 || mdb_get(t.get(), db_->headers, &k, &v) != 0)
    return std::nullopt;
  return decode_header(span_of(v));
}

std::optional<bytes> chain_store::block(const hash256& hash) const {
  auto found = blocks(std::span<const hash256>{&hash, 1});
  if (found.front().raw.empty()) // a stored block has at least its 80-byte header
    return std::nullopt;
  return std::move(found.front().raw);
}

std::vector<stored_block> chain_store::blocks(std::span<const hash256> hashes) const {
  std::vector<stored_block> result(hashes.size());
  txn t{db_->env, false};
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    result[i].hash = hashes[i];
    MDB_val k = val(hashes[i]), v;
    if (t.begin_error() != 0 || mdb_get(t.get(), db_->blocks, &k, &v) != 0)
      continue;
    auto s = span_of(v);
    result[i].raw.assign(s.begin(), s.end());
  }
  return result;
}

bool chain_store::has_block(const hash256& hash) const {
  txn t{db_->env, false};
  MDB_val k = val(hash), v;
  return t.begin_error() == 0 && mdb_get(t.get(), db_->blocks, &k, &v) == 0;
}

std::optional<hash256> chain_store::best_block() const {
  txn t{db_->env, false};
  MDB_val k = val(key_best), v;
  if (t.begin_error() != 0 || mdb_get(t.get(), db_->meta, &k, &v) != 0 || v.mv_size != 32)
    return std::nullopt;
  hash256 h;
  std::memcpy(h.data(), v.mv_data, 32);
  return h;
}

std::vector<stored_header> chain_store::all_headers() const {
  std::vector<stored_header> out;
  txn t{db_->env, false};
  MDB_cursor* cursor = nullptr;
  if (t.begin_error() != 0 || mdb_cursor_open(t.get(), db_->headers, &cursor) != 0)
    return out;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
    if (auto h = decode_header(span_of(v)))
      out.push_back(*h);
  mdb_cursor_close(cursor);
  return out;
}

namespace {

std::size_t entries(MDB_env* env, MDB_dbi dbi) {
  txn t{env, false};
  MDB_stat st;
  if (t.begin_error() != 0 || mdb_stat(t.get(), dbi, &st) != 0)
    return 0;
  return st.ms_entries;
}

} // namespace

std::size_t chain_store::header_count() const {
  return entries(db_->env, db_->headers);
}

std::size_t chain_store::block_count() const {
  return entries(db_->env, db_->blocks);
}

} // namespace qtc

// Blocks and transactions in Bitcoin's serialization (legacy transaction format):
//
//   block_header (80 bytes): version i32 | prev_block hash256 | merkle_root hash256 |
//                            time u32 | bits u32 | nonce u32
//   transaction: version i32 | CompactSize n_in | tx_in* | CompactSize n_out | tx_out* | lock_time
//   u32 tx_in:  prev_txid hash256 | prev_index u32 | var_bytes script_sig | sequence u32 tx_out:
//   value i64 | var_bytes script_pubkey block:  block_header | CompactSize n_tx | transaction*
//
// Decoding bounds every count by the bytes left (each item has a minimum size) and every script
// by MAX_SCRIPT_SIZE before anything is allocated.
#pragma once

#include "messages/field.hpp"
#include "messages/primitives/byte_io.hpp"
#include "messages/primitives/hash.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace qtc {

constexpr std::size_t block_header_size = 80;
constexpr std::size_t max_script_size = 10'000;
/// Smallest possible encodings, used to bound counts by the bytes that remain.
constexpr std::size_t min_tx_in_size = 32 + 4 + 1 + 4;
constexpr std::size_t min_tx_out_size = 8 + 1;
constexpr std::size_t min_tx_size = 4 + 1 + min_tx_in_size + 1 + min_tx_out_size + 4;

struct block_header {
  std::int32_t version = 0;
  hash256 prev_block{};
  hash256 merkle_root{};
  std::uint32_t time = 0;
  std::uint32_t bits = 0;
  std::uint32_t nonce = 0;
  friend bool operator==(const block_header&, const block_header&) = default;
};

struct outpoint {
  hash256 txid{};
  std::uint32_t index = 0;
  friend bool operator==(const outpoint&, const outpoint&) = default;
};

struct tx_in {
  outpoint prevout;
  bytes script_sig;
  std::uint32_t sequence = 0xffffffff;
  friend bool operator==(const tx_in&, const tx_in&) = default;
};

struct tx_out {
  std::int64_t value = 0;
  bytes script_pubkey;
  friend bool operator==(const tx_out&, const tx_out&) = default;
};

struct transaction {
  std::int32_t version = 1;
  std::vector<tx_in> inputs;
  std::vector<tx_out> outputs;
  std::uint32_t lock_time = 0;
  friend bool operator==(const transaction&, const transaction&) = default;
  /// A coinbase spends the null outpoint (all-zero txid, index 0xffffffff) as its only input.
  bool is_coinbase() const;
};

struct block {
  block_header header;
  std::vector<transaction> txs;
  friend bool operator==(const block&, const block&) = default;
};

/// A header with its height, as the chain store keeps it and the storage actor hands it out.
struct stored_header {
  block_header header;
  std::uint32_t height = 0;
  friend bool operator==(const stored_header&, const stored_header&) = default;
};

/// A serialized block under its hash, as the chain store keeps it.
struct stored_block {
  hash256 hash{};
  bytes raw;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_block& x) {
  return f(caf::meta::type_name("stored_block"), field("hash"), x.hash, field("raw"), x.raw);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_header& x) {
  return f(caf::meta::type_name("block_header"), field("version"), x.version, field("prev_block"),
           x.prev_block, field("merkle_root"), x.merkle_root, field("time"), x.time, field("bits"),
           x.bits, field("nonce"), x.nonce);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_header& x) {
  return f(caf::meta::type_name("stored_header"), field("header"), x.header, field("height"),
           x.height);
}

void write(byte_writer& w, const block_header& x);
void write(byte_writer& w, const transaction& x);
void write(byte_writer& w, const block& x);

block_header read_block_header(byte_reader& r);
transaction read_transaction(byte_reader& r);
/// Reads a whole block; at most `max_txs` transactions.
block read_block(byte_reader& r, std::uint64_t max_txs);

bytes serialize(const block_header& x);
bytes serialize(const transaction& x);
bytes serialize(const block& x);

/// Block hash: SHA-256d of the 80-byte header.
hash256 block_hash(const block_header& x);
/// Transaction id: SHA-256d of its serialization.
hash256 txid(const transaction& x);

} // namespace qtc

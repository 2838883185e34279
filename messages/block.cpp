#include "messages/block.hpp"

#include <algorithm>

namespace qtc {

bool transaction::is_coinbase() const {
  return inputs.size() == 1 && inputs[0].prevout.index == 0xffffffff
         && std::all_of(inputs[0].prevout.txid.begin(), inputs[0].prevout.txid.end(),
                        [](std::uint8_t b) { return b == 0; });
}

void write(byte_writer& w, const block_header& x) {
  w.i32le(x.version);
  w.fixed(x.prev_block);
  w.fixed(x.merkle_root);
  w.u32le(x.time);
  w.u32le(x.bits);
  w.u32le(x.nonce);
}

void write(byte_writer& w, const transaction& x) {
  w.i32le(x.version);
  w.compact_size(x.inputs.size());
  for (const auto& in : x.inputs) {
    w.fixed(in.prevout.txid);
    w.u32le(in.prevout.index);
    w.var_bytes(in.script_sig);
    w.u32le(in.sequence);
  }
  w.compact_size(x.outputs.size());
  for (const auto& out : x.outputs) {
    w.i64le(out.value);
    w.var_bytes(out.script_pubkey);
  }
  w.u32le(x.lock_time);
}

void write(byte_writer& w, const block& x) {
  write(w, x.header);
  w.compact_size(x.txs.size());
  for (const auto& tx : x.txs)
    write(w, tx);
}

block_header read_block_header(byte_reader& r) {
  block_header x;
  x.version = r.i32le();
  x.prev_block = r.fixed<32>();
  x.merkle_root = r.fixed<32>();
  x.time = r.u32le();
  x.bits = r.u32le();
  x.nonce = r.u32le();
  return x;
}

transaction read_transaction(byte_reader& r) {
  transaction x;
  x.version = r.i32le();
  auto n_in = r.count(UINT32_MAX, min_tx_in_size);
  if (r.ok() && n_in == 0) {
    // Legacy format only: a zero input count is the segwit marker or an invalid transaction.
    r.fail(wire_error::invalid_value);
    return x;
  }
  x.inputs.reserve(static_cast<std::size_t>(n_in)); // bounded by the bytes left
  for (std::uint64_t i = 0; i < n_in && r.ok(); ++i) {
    tx_in in;
    in.prevout.txid = r.fixed<32>();
    in.prevout.index = r.u32le();
    in.script_sig = r.var_bytes(max_script_size);
    in.sequence = r.u32le();
    x.inputs.push_back(std::move(in));
  }
  auto n_out = r.count(UINT32_MAX, min_tx_out_size);
  x.outputs.reserve(static_cast<std::size_t>(n_out));
  for (std::uint64_t i = 0; i < n_out && r.ok(); ++i) {
    tx_out out;
    out.value = r.i64le();
    out.script_pubkey = r.var_bytes(max_script_size);
    x.outputs.push_back(std::move(out));
  }
  x.lock_time = r.u32le();
  return x;
}

block read_block(byte_reader& r, std::uint64_t max_txs) {
  block x;
  x.header = read_block_header(r);
  auto n = r.count(max_txs, min_tx_size);
  x.txs.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i)
    x.txs.push_back(read_transaction(r));
  return x;
}

namespace {

template <class T>
bytes serialize_any(const T& x) {
  bytes out;
  byte_writer w{out};
  write(w, x);
  return out;
}

} // namespace

bytes serialize(const block_header& x) {
  return serialize_any(x);
}

bytes serialize(const transaction& x) {
  return serialize_any(x);
}

bytes serialize(const block& x) {
  return serialize_any(x);
}

hash256 block_hash(const block_header& x) {
  // Serialized in place: hashing headers is the hot path of header sync.
  std::array<std::uint8_t, block_header_size> buf;
  auto put32 = [&buf](std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i)
      buf[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  put32(0, static_cast<std::uint32_t>(x.version));
  std::copy(x.prev_block.begin(), x.prev_block.end(), buf.begin() + 4);
  std::copy(x.merkle_root.begin(), x.merkle_root.end(), buf.begin() + 36);
  put32(68, x.time);
  put32(72, x.bits);
  put32(76, x.nonce);
  return sha256d(buf);
}

hash256 txid(const transaction& x) {
  return sha256d(serialize(x));
}

} // namespace qtc

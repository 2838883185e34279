// qtc-bench-chain: wire decoding, header validation and chain-store throughput, each reported
// next to the limit that bounds it, measured in the same run on the same core:
//
//   decode  — frames → messages (checksum + parse) vs SHA-256d over the same payload bytes (the
//             checksum alone must hash every byte twice) and vs memcpy of the same bytes
//   headers — header_tree::accept per second vs raw SHA-256d of 80 bytes per second (every
//             accepted header costs at least one)
//   store   — LMDB block writes (one durable transaction each) and reads vs writing the same
//             bytes to a plain file with one fdatasync per block (the disk's own limit)
//
//   qtc-bench-chain [--chain-spec=config/regtest.toml] [--dir=/tmp/qtc-bench]
//
// Each figure is the best of 5 runs.
#include "bench_util.hpp"
#include "messages/p2p.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/merkle.hpp"
#include "runtime/store/chain_store.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>

#include <fcntl.h>
#include <unistd.h>

using namespace qtc;
using clock_type = std::chrono::steady_clock;
using bench::best_of;
using bench::report;

namespace {

block make_block(const hash256& prev, std::uint32_t n, int txs, std::mt19937_64& rng) {
  block b;
  transaction cb;
  cb.inputs.push_back(
      tx_in{outpoint{hash256{}, 0xffffffff},
            bytes{4, std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(n >> 16), 0}, 0xffffffff});
  cb.outputs.push_back(tx_out{50, bytes(25, 0x76)});
  b.txs.push_back(cb);
  for (int t = 0; t < txs; ++t) {
    transaction tx;
    for (int i = 0; i < 2; ++i) {
      hash256 prevout;
      for (auto& x : prevout)
        x = static_cast<std::uint8_t>(rng());
      tx.inputs.push_back(tx_in{outpoint{prevout, 0}, bytes(107, std::uint8_t(rng())), 0xffffffff});
    }
    tx.outputs.push_back(tx_out{1000, bytes(25, 0xa9)});
    tx.outputs.push_back(tx_out{2000, bytes(25, 0xa9)});
    b.txs.push_back(std::move(tx));
  }
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  b.header.prev_block = prev;
  b.header.merkle_root = compute_merkle_root(ids).root;
  b.header.time = 1735690000 + n * 600;
  b.header.bits = 0x207fffff;
  return b;
}

} // namespace

int main(int argc, char** argv) {
  std::string spec_path = "config/regtest.toml";
  std::filesystem::path dir = "/tmp/qtc-bench";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--chain-spec=", 0) == 0)
      spec_path = a.substr(13);
    else if (a.rfind("--dir=", 0) == 0)
      dir = a.substr(6);
  }
  auto loaded = bench::load_spec(spec_path);
  if (!loaded)
    return 2;
  const auto& spec = *loaded;
  std::mt19937_64 rng{42};
  const network_magic magic = spec.magic;

  // -- decode ------------------------------------------------------------------------------------
  bytes stream;
  std::size_t payload_bytes = 0;
  {
    hash256 prev{};
    for (std::uint32_t i = 0; i < 400; ++i) {
      auto b = make_block(prev, i, 40, rng);
      prev = block_hash(b.header);
      auto before = stream.size();
      append_message(stream, magic, block_message{b});
      payload_bytes += stream.size() - before - frame_header_size;
    }
  }
  std::size_t decoded = 0;
  double t_decode = best_of(5, [&] {
    frame_decoder d{magic, spec.max_message_size};
    d.feed(stream);
    decoded = 0;
    while (auto f = d.next())
      decoded += decode_message(*f).error == wire_error::none;
  });
  double t_sha_payload = best_of(5, [&] {
    std::size_t pos = 0;
    volatile std::uint8_t sink = 0;
    while (pos < stream.size()) {
      byte_reader r{std::span{stream}.subspan(pos + 16, 4)};
      auto len = r.u32le();
      sink = sink ^ sha256d(std::span{stream}.subspan(pos + frame_header_size, len))[0];
      pos += frame_header_size + len;
    }
  });
  bytes copy(stream.size());
  double t_memcpy = best_of(5, [&] { std::memcpy(copy.data(), stream.data(), stream.size()); });
  double mb = static_cast<double>(stream.size()) / 1e6;
  std::printf("decode: %zu block messages, %.1f MB (%zu decoded)\n", decoded, mb, decoded);
  report("  frames + messages decoded", mb / t_decode, "MB/s");
  report("  SHA-256d over the payloads (checksum bound)",
         static_cast<double>(payload_bytes) / 1e6 / t_sha_payload, "MB/s");
  report("  memcpy of the same bytes", mb / t_memcpy, "MB/s");
  report("  ratio decode / checksum bound",
         (mb / t_decode) / (static_cast<double>(payload_bytes) / 1e6 / t_sha_payload), "");

  // -- headers -----------------------------------------------------------------------------------
  auto params = chain_params::from(spec);
  auto genesis = make_genesis_block(spec).header;
  std::vector<block_header> headers;
  {
    header_tree miner{params, genesis};
    const header_node* tip = &miner.genesis();
    auto limit = params.pow_limit.to_big_endian();
    for (std::uint32_t i = 0; i < 20000; ++i) {
      block_header h;
      h.version = 1;
      h.prev_block = tip->hash;
      h.merkle_root[0] = static_cast<std::uint8_t>(i);
      h.time = tip->header.time + 600;
      h.bits = tip->header.bits;
      for (h.nonce = 0; !check_proof_of_work(block_hash(h), h.bits, limit); ++h.nonce) {
      }
      tip = miner.accept(h, h.time).node;
      headers.push_back(h);
    }
  }
  double t_headers = best_of(5, [&] {
    header_tree tree{params, genesis};
    for (const auto& h : headers)
      if (tree.accept(h, h.time).rejection != header_rejection::none)
        std::abort();
  });
  auto raw_header = serialize(headers[0]);
  const std::size_t n_hash = 2'000'000;
  double t_hash = best_of(5, [&] {
    volatile std::uint8_t sink = 0;
    for (std::size_t i = 0; i < n_hash; ++i) {
      raw_header[76] = static_cast<std::uint8_t>(i);
      sink = sink ^ sha256d(raw_header)[0];
    }
  });
  double headers_per_s = static_cast<double>(headers.size()) / t_headers;
  double hashes_per_s = static_cast<double>(n_hash) / t_hash;
  std::printf("headers: %zu regtest headers into a fresh tree\n", headers.size());
  report("  headers validated and added", headers_per_s, "/s");
  report("  raw SHA-256d of 80 bytes", hashes_per_s, "/s");
  report("  ratio headers / raw hashes", headers_per_s / hashes_per_s, "");

  // -- store -------------------------------------------------------------------------------------
  std::vector<block> blocks;
  std::vector<bytes> raws;
  {
    hash256 prev{};
    for (std::uint32_t i = 0; i < 300; ++i) {
      blocks.push_back(make_block(prev, i, 120, rng)); // ~60 KB each
      prev = block_hash(blocks.back().header);
      raws.push_back(serialize(blocks.back()));
    }
  }
  std::size_t total = 0;
  for (auto& r : raws)
    total += r.size();
  double store_mb = static_cast<double>(total) / 1e6;
  double t_write = best_of(3, [&] {
    std::filesystem::remove_all(dir);
    std::string error;
    auto store = chain_store::open(dir / "chain", chain_identity{"bench", hash256{}}, error);
    if (!store) {
      std::cerr << error << "\n";
      std::abort();
    }
    for (std::size_t i = 0; i < blocks.size(); ++i)
      if (store->put_block(block_hash(blocks[i].header), raws[i], true))
        std::abort();
  });
  double t_read = best_of(5, [&] {
    std::string error;
    auto store = chain_store::open(dir / "chain", chain_identity{"bench", hash256{}}, error);
    std::size_t n = 0;
    for (const auto& b : blocks)
      n += store->block(block_hash(b.header))->size();
    if (n != total)
      std::abort();
  });
  double t_file = best_of(3, [&] {
    std::filesystem::create_directories(dir);
    int fd = ::open((dir / "plain.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    for (const auto& r : raws) {
      if (::write(fd, r.data(), r.size()) != static_cast<ssize_t>(r.size()))
        std::abort();
      ::fdatasync(fd);
    }
    ::close(fd);
  });
  std::printf("store: %zu blocks, %.1f MB, one durable transaction per block\n", blocks.size(),
              store_mb);
  report("  LMDB block writes", store_mb / t_write, "MB/s");
  report("  plain file, one fdatasync per block (disk bound)", store_mb / t_file, "MB/s");
  report("  ratio LMDB writes / disk bound", (store_mb / t_write) / (store_mb / t_file), "");
  report("  LMDB block reads (copied out)", store_mb / t_read, "MB/s");
  report("  ratio LMDB reads / memcpy", (store_mb / t_read) / (mb / t_memcpy), "");
  std::filesystem::remove_all(dir);
  return 0;
}

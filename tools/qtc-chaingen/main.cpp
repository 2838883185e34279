// qtc-chaingen: mines a deterministic chain on an easy-target chain spec (regtest), for tests,
// demos and benchmarks.
//
//   qtc-chaingen --chain-spec=FILE --blocks=N [--txs=M] [--seed=S] --data-dir=DIR
//       appends N blocks (each with a coinbase and M more transactions) to the chain store in
//       DIR/chain (created with the genesis block if new), as a node would store them
//   qtc-chaingen --chain-spec=FILE --blocks=N [--txs=M] [--seed=S] --print-hex
//       prints the N blocks after genesis, one hex-encoded serialized block per line
//   qtc-chaingen --chain-spec=FILE --mine-genesis [--threads=T]
//       searches the genesis nonce (and, when no nonce meets the target, later times) for the
//       spec's [genesis] table on T threads (default: all cores) and prints the `time`, `nonce`
//       and `hash` lines to put in the spec; works for any target, so it is slow for hard ones
//
// The same spec, N, M and seed always give the same blocks. Transactions spend made-up outpoints
// (scripts and UTXOs are out of the node's scope). Exit 0 on success, 2 on bad arguments, 1 on
// failure.
#include "chain_writer.hpp"
#include "messages/block.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/block_maker.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/store/chain_store.hpp"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>

using namespace qtc;

namespace {

struct options {
  std::string chain_spec;
  std::string data_dir;
  std::uint64_t blocks = 0;
  std::uint64_t txs = 0;
  std::uint64_t seed = 1;
  bool print_hex = false;
  bool mine_genesis = false;
  std::uint64_t threads = 0;
};

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* prefix) -> std::optional<std::string> {
      std::string p = prefix;
      if (arg.rfind(p, 0) == 0)
        return arg.substr(p.size());
      return std::nullopt;
    };
    auto number = [&](const std::string& s, std::uint64_t& out) {
      char* end = nullptr;
      out = std::strtoull(s.c_str(), &end, 10);
      return !s.empty() && *end == 0;
    };
    if (auto v = value("--chain-spec="))
      o.chain_spec = *v;
    else if (auto v = value("--data-dir="))
      o.data_dir = *v;
    else if (auto v = value("--blocks="); v && number(*v, o.blocks))
      ;
    else if (auto v = value("--txs="); v && number(*v, o.txs))
      ;
    else if (auto v = value("--seed="); v && number(*v, o.seed))
      ;
    else if (auto v = value("--threads="); v && number(*v, o.threads) && o.threads > 0)
      ;
    else if (arg == "--print-hex")
      o.print_hex = true;
    else if (arg == "--mine-genesis")
      o.mine_genesis = true;
    else {
      std::cerr << "qtc-chaingen: bad argument " << arg << "\n";
      return std::nullopt;
    }
  }
  if (o.mine_genesis && !o.chain_spec.empty() && o.blocks == 0 && !o.print_hex
      && o.data_dir.empty())
    return o;
  if (o.chain_spec.empty() || o.blocks == 0 || o.print_hex == !o.data_dir.empty()) {
    std::cerr << "usage: qtc-chaingen --chain-spec=FILE --blocks=N [--txs=M] [--seed=S] "
                 "(--data-dir=DIR | --print-hex)\n"
                 "       qtc-chaingen --chain-spec=FILE --mine-genesis [--threads=T]\n";
    return std::nullopt;
  }
  return o;
}

/// Finds a time >= the spec's and a nonce for which the genesis header meets its own target.
/// Threads take interleaved nonces of the same time; all move to the next second together when
/// the 2^32 nonces of a time are exhausted (which happens for about 1 time in e for a 2^32 target).
/// Prints the lowest working nonce of the first time that has one.
int mine_genesis(const chain_spec& spec, unsigned threads) {
  auto genesis = make_genesis_block(spec);
  auto limit = chain_params::from(spec).pow_limit.to_big_endian();
  if (!decode_compact(spec.genesis_bits)) {
    std::cerr << "qtc-chaingen: " << spec.source.string()
              << ": genesis.bits is not a valid target\n";
    return 2;
  }
  for (std::uint32_t time = spec.genesis_time;; ++time) {
    // The lowest nonce that works, so the answer does not depend on the thread count: a thread
    // stops once its next nonce is above the best one found so far.
    constexpr std::uint64_t none = ~std::uint64_t{0};
    std::atomic<std::uint64_t> best{none};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        auto header = genesis.header;
        header.time = time;
        auto raw = serialize(header);
        for (std::uint64_t n = t; n <= 0xffffffffu; n += threads) {
          if (n > best.load(std::memory_order_relaxed))
            return;
          auto nonce = static_cast<std::uint32_t>(n);
          for (int i = 0; i < 4; ++i)
            raw[76 + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
          if (check_proof_of_work(sha256d(raw), header.bits, limit)) {
            auto seen = best.load();
            while (n < seen && !best.compare_exchange_weak(seen, n))
              ;
            return;
          }
        }
      });
    for (auto& w : workers)
      w.join();
    if (best != none) {
      auto header = genesis.header;
      header.time = time;
      header.nonce = static_cast<std::uint32_t>(best.load());
      std::cout << "time = " << header.time << "\nnonce = " << header.nonce << "\nhash = \""
                << to_display_hex(block_hash(header)) << "\"\n";
      return 0;
    }
    std::cerr << "qtc-chaingen: no nonce at time " << time << "; trying the next second\n";
  }
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  if (!opts)
    return 2;
  auto loaded = load_chain_spec(opts->chain_spec);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.spec)
    return 2;
  const auto& spec = *loaded.spec;
  if (opts->mine_genesis)
    return mine_genesis(spec, opts->threads ? static_cast<unsigned>(opts->threads)
                                            : std::max(1u, std::thread::hardware_concurrency()));
  auto target = decode_compact(spec.genesis_bits);
  // Expected tries per block = 2^256 / target; refuse anything that would take real mining.
  if (!target || block_work(uint256::from_big_endian(*target)) > uint256{1u << 20}) {
    std::cerr << "qtc-chaingen: " << spec.source.string()
              << ": the target is too hard to mine here; use an easy-target chain (regtest)\n";
    return 2;
  }
  chain_request request;
  request.blocks = opts->blocks;
  request.txs = opts->txs;
  request.seed = opts->seed;
  if (opts->print_hex)
    request.hex_out = &std::cout;
  else
    request.data_dir = opts->data_dir;
  auto outcome = write_chain(spec, request);
  if (!outcome.error.empty()) {
    std::cerr << "qtc-chaingen: " << outcome.error << "\n";
    return 1;
  }
  std::cerr << "qtc-chaingen: " << opts->blocks << " blocks, tip " << to_display_hex(outcome.tip)
            << " at height " << outcome.height << "\n";
  return 0;
}

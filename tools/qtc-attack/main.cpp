// qtc-attack: runs one named attack against one node, bounded in time, connections and rate,
// from many loopback source addresses, and reports what it saw — for testing how a node
// defends itself (docs/testing.md, "The attack tool").
//
//   qtc-attack --target=IP:PORT --chain-spec=FILE --attack=NAME [--sources=N] [--subnets=K]
//              [--connections=N] [--duration=S] [--rate=R] [...]
//
// Built from the node's own pieces, like qtc-badpeer: fresh node identities (or one shared),
// the Noise/TLS initiator of channel_select, peer_session_core for the version handshake and
// pongs, the wire codec, the chain store. What an attack sends beyond an honest session goes
// through a tap on the session's channel (connection.hpp).
//
// Linux routes all of 127.0.0.0/8 to the loopback interface, so binding each socket to its own
// 127.x.y.z before connect gives the node as many distinct peers as there are sources. The
// tool refuses any target outside 127.0.0.0/8 and ::1: its traffic never leaves the machine.
//
// Output: one JSON object on stdout at the end (report.hpp); one line per event on stderr.
// Exit 0 when the attack ran, 1 when no connection reached the target at all, 2 on bad
// arguments.
#include "messages/block.hpp"
#include "messages/primitives/hash.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/pow.hpp"
#include "runtime/store/chain_store.hpp"

#include <botan/hex.h>
#include <botan/system_rng.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sys/resource.h>

using namespace qtc;
using namespace qtc::attack;

namespace {

int usage_error(const std::string& why) {
  std::cerr << "qtc-attack: " << why << "\n";
  return exit_usage;
}

/// The attack's defaults for --bytes, and its bound, now that the spec's limit is known.
std::optional<std::string> resolve_bytes(options& o, const chain_spec& spec) {
  if (o.attack == attack_kind::partial_frame) {
    if (o.bytes == 0)
      o.bytes = std::min<std::uint64_t>(1 << 20, spec.max_message_size - 1);
    if (o.bytes >= spec.max_message_size)
      return "--bytes: partial-frame sends less than the announced "
             + std::to_string(spec.max_message_size) + " bytes (the chain spec's limit)";
  } else if (o.attack == attack_kind::junk_handshake && o.bytes == 0) {
    o.bytes = 65537; // a 2-byte length and the longest Noise message it can announce
  } else if ((o.attack == attack_kind::low_work_headers || o.attack == attack_kind::header_spam)
             && work_of_bits(spec.genesis_bits) > uint256{1 << 16}) {
    return "--attack=" + std::string{info(o.attack).name} + " mines its headers: " + spec.network
           + "'s target is too hard (an easy-target chain such as regtest only)";
  }
  return std::nullopt;
}

/// The best chain's block hashes in `dir`/chain, genesis first; nothing with `error`.
std::optional<std::vector<hash256>> stored_hashes(const std::string& dir, const chain_spec& spec,
                                                  const hash256& genesis, std::string& error) {
  auto path = std::filesystem::path{dir} / "chain";
  if (!std::filesystem::is_directory(path)) {
    error = "--data-dir: " + path.string() + " holds no chain";
    return std::nullopt;
  }
  auto store = chain_store::open(path, chain_identity{spec.network, genesis}, error);
  if (!store) {
    error = "--data-dir: " + error;
    return std::nullopt;
  }
  std::vector<hash256> hashes;
  for (auto best = store->best_block(); best;) {
    hashes.push_back(*best);
    auto h = store->header(*best);
    if (!h || h->height == 0)
      break;
    best = h->header.prev_block;
  }
  if (hashes.empty() || hashes.back() != genesis) {
    error = "--data-dir: " + path.string() + " holds no complete chain";
    return std::nullopt;
  }
  std::reverse(hashes.begin(), hashes.end());
  return hashes;
}

/// shared-identity's key: --key-file's, or a fixed one (the same every run, so that runs and
/// the node's records of it can be compared).
std::shared_ptr<const node_identity>
shared_identity(const options& o, Botan::RandomNumberGenerator& rng, std::string& error) {
  if (o.attack != attack_kind::shared_identity)
    return nullptr;
  if (o.key_file.empty()) {
    std::string text = "qtc-attack shared identity";
    auto seed = sha256d(std::span{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    return std::make_shared<const node_identity>(node_identity::from_seed(seed));
  }
  if (!std::filesystem::is_regular_file(o.key_file)) {
    error = "--key-file: " + o.key_file + " does not exist";
    return nullptr;
  }
  auto identity = node_identity::load_or_create(o.key_file, rng, error);
  if (!identity) {
    error = "--key-file: " + error;
    return nullptr;
  }
  return std::make_shared<const node_identity>(std::move(*identity));
}

/// Room for every connection's descriptor: the soft limit raised toward the hard one.
bool enough_descriptors(const options& o, std::string& error) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t need = o.slots() + 64;
  if (lim.rlim_cur >= need)
    return true;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
    error = "--connections: " + std::to_string(o.slots()) + " connections need "
            + std::to_string(need) + " file descriptors; the limit is "
            + std::to_string(lim.rlim_max);
    return false;
  }
  lim.rlim_cur = need;
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed))
    return *code;
  auto o = std::get<options>(parsed);
  auto loaded = load_chain_spec(o.chain_spec);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.spec)
    return usage_error("--chain-spec: " + o.chain_spec + " is not a usable chain spec");
  const auto& spec = *loaded.spec;
  if (auto why = resolve_bytes(o, spec))
    return usage_error(*why);
  std::string error;
  if (!enough_descriptors(o, error))
    return usage_error(error);

  Botan::System_RNG rng;
  chain_view chain;
  chain.hashes.push_back(block_hash(make_genesis_block(spec).header));
  if (!o.data_dir.empty()) {
    auto hashes = stored_hashes(o.data_dir, spec, chain.hashes.front(), error);
    if (!hashes)
      return usage_error(error);
    chain.hashes = std::move(*hashes);
    chain.complete = true;
  }
  auto identity = shared_identity(o, rng, error);
  if (!error.empty())
    return usage_error(error);

  runner run{o, spec, std::move(chain), identity, rng};
  try {
    run.run();
  } catch (const std::exception& e) {
    std::cerr << "qtc-attack: " << e.what() << "\n";
    return exit_failed;
  }
  run_summary summary{o, run.elapsed_seconds(), {}};
  if (identity)
    summary.shared_key_hex = Botan::hex_encode(identity->static_public().data(), 32, false);
  std::cout << make_report(summary, run.connections()).dump() << std::endl;
  if (!run.reached_target()) {
    std::cerr << "qtc-attack: no connection reached " << format_endpoint(o.target_ip, o.target_port)
              << "\n";
    return exit_failed;
  }
  return 0;
}

// qtc-bench-sync: a fresh qtcnode syncing from four serving qtcnode processes over loopback, with
// real sockets, the Noise transport and durable LMDB stores; each rate is reported next to the
// single-core rates of the pieces it is made of, measured in the same run:
//
//   header sync    — headers/s from the fresh node's first ready peer until its header tree holds
//                    the whole chain (polled through its inspector every 10 ms), vs
//                    qtc-bench-chain's header validation rate (header_tree::accept on one core)
//   block download — block bytes/s from the first ready peer until "sync complete" (the node's
//                    own log timestamps), vs qtc-bench-chain's frame + message decode rate,
//                    qtc-bench-transport's Noise channel rate, and qtc-bench-chain's LMDB write
//                    rate with one durable transaction per block, and — since a shared disk's
//                    fsync rate drifts by the minute — the durable commit rate of this chain's
//                    own blocks in a fresh store, measured right after each run on the same file
//                    system: one block per transaction (300 blocks), and all of them in the sync
//                    coordinator's largest batches (sync_commit_batch_blocks / _bytes), the
//                    most the disk allows a download that commits as the node does
//
// The chain comes from qtc-chaingen (generated once, kept in --dir between runs). The serving
// nodes listen on 127.0.88.11-14:18444; the fresh node (127.0.88.20 in run 1, .21 in run 2, ...)
// reaches them with --qtcnode.connect, so no DNS is involved and the clock starts at its first
// "peer connected".
//
//   qtc-bench-sync [--chain-spec=config/regtest.toml] [--blocks=10000] [--txs=10] [--runs=3]
//                  [--dir=/tmp/qtc-bench-sync] [--no-component-benches] [--keep-logs]
//                  [--headers-only] [--node-arg=ARG ...]
//
// --headers-only stops each run once the headers are in (for long header chains whose blocks
// would take too long to download).
//
// Every store (the chain, the nodes', the probes) lives under --dir: --dir=/dev/shm/... puts them
// on tmpfs, where fsync costs nothing — the sync rate without the disk.
//
// --node-arg adds an argument to every qtcnode's command line (after the bench's own, so it
// wins), e.g. --node-arg=--work-stealing.moderate-poll-attempts=500 to compare scheduler settings.
//
// The best (fastest) of --runs runs is reported, for headers and blocks separately.
#include "actors/sync_coordinator.hpp"
#include "bench_node.hpp"
#include "bench_util.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/config/node_options.hpp"
#include "runtime/store/chain_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>

using namespace qtc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string bench_net = "127.0.88."; // the bench's loopback addresses

struct chain_info {
  std::uint64_t blocks = 0;      ///< after genesis
  std::uint64_t block_bytes = 0; ///< serialized blocks after genesis
};

/// Generates the chain once (qtc-chaingen into dir/chain-B-T), then measures its blocks' bytes.
std::optional<chain_info> prepare_chain(const fs::path& chaingen, const fs::path& spec_file,
                                        const chain_spec& spec, const fs::path& dir,
                                        std::uint64_t blocks, std::uint64_t txs) {
  auto done = dir / "done";
  if (!fs::exists(done)) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::fprintf(stderr, "generating %llu blocks of %llu extra transactions in %s\n",
                 static_cast<unsigned long long>(blocks), static_cast<unsigned long long>(txs),
                 dir.c_str());
    auto r = test::run_to_completion(chaingen.string(),
                                     {"--chain-spec=" + spec_file.string(),
                                      "--blocks=" + std::to_string(blocks),
                                      "--txs=" + std::to_string(txs), "--data-dir=" + dir.string()},
                                     3600s);
    if (r.exit_code != 0) {
      std::cerr << r.output;
      return std::nullopt;
    }
    std::string error;
    auto store = chain_store::open(
        dir / "chain", chain_identity{spec.network, block_hash(make_genesis_block(spec).header)},
        error);
    if (!store) {
      std::cerr << error << "\n";
      return std::nullopt;
    }
    chain_info info;
    for (const auto& h : store->all_headers())
      if (h.height > 0) {
        ++info.blocks;
        info.block_bytes += store->block(block_hash(h.header))->size();
      }
    store.reset();
    bench::write_text(done, std::to_string(info.blocks) + " " + std::to_string(info.block_bytes));
  }
  chain_info info;
  std::istringstream in{bench::read_text(done)};
  in >> info.blocks >> info.block_bytes;
  return info;
}

/// A TCP port nothing listens on right now on `host` (the kernel's choice).
std::uint16_t free_tcp_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// The value reported as `label` by one of the component benchmarks (a bench::report line).
std::optional<double> reported(const std::string& output, const std::string& label) {
  for (const auto& line : bench::lines_with(output, label))
    if (line.rfind("  " + label, 0) == 0) {
      std::istringstream in{line.substr(2 + label.size())};
      double v = 0;
      if (in >> v)
        return v;
    }
  return std::nullopt;
}

/// The sync coordinator's header count in an inspector report, if present.
std::optional<std::int64_t> headers_in(const status_report& report) {
  auto components = caf::get_if<caf::config_value::list>(&report, "components");
  if (!components)
    return std::nullopt;
  for (const auto& c : *components) {
    auto s = caf::get_if<caf::settings>(&c);
    if (!s)
      continue;
    auto name = caf::get_if<std::string>(s, "name");
    if (name && *name == "sync")
      if (auto h = caf::get_if<caf::config_value::integer>(s, "headers"))
        return *h;
  }
  return std::nullopt;
}

/// The first `n` blocks after genesis of the generated chain, serialized.
std::vector<bytes> sample_blocks(const fs::path& chain_dir, const chain_spec& spec, std::size_t n) {
  std::string error;
  auto store = chain_store::open(
      chain_dir / "chain",
      chain_identity{spec.network, block_hash(make_genesis_block(spec).header)}, error);
  std::vector<bytes> out;
  if (!store)
    return out;
  auto headers = store->all_headers();
  std::sort(headers.begin(), headers.end(),
            [](const auto& a, const auto& b) { return a.height < b.height; });
  for (const auto& h : headers)
    if (h.height > 0 && out.size() < n)
      out.push_back(*store->block(block_hash(h.header)));
  return out;
}

/// Durable block commits per second on this file system right now: `blocks` written to a fresh
/// chain store in `dir`, in transactions of at most `batch_blocks` blocks and `batch_bytes` bytes
/// (a block at least): 1 block is how blocks are stored once a node follows the tip, the sync
/// coordinator's largest batch how its initial sync stores them at best.
double commit_rate(const fs::path& dir, const std::vector<bytes>& blocks,
                   std::size_t batch_blocks = 1, std::size_t batch_bytes = 0) {
  fs::remove_all(dir);
  std::string error;
  auto store = chain_store::open(dir, chain_identity{"probe", hash256{}}, error);
  if (!store || blocks.empty())
    return 0;
  auto start = std::chrono::steady_clock::now();
  std::vector<stored_block> batch;
  std::size_t bytes_in_batch = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    hash256 key{};
    std::memcpy(key.data(), &i, sizeof i);
    batch.push_back(stored_block{key, blocks[i]});
    bytes_in_batch += blocks[i].size();
    if (batch.size() < batch_blocks && bytes_in_batch < batch_bytes && i + 1 < blocks.size())
      continue;
    if (store->put_blocks(batch, true))
      return 0;
    batch.clear();
    bytes_in_batch = 0;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  store.reset();
  fs::remove_all(dir);
  return static_cast<double>(blocks.size()) / seconds;
}

struct run_result {
  double header_seconds = 0;
  double block_seconds = 0;
  std::int64_t first_poll_headers = -1;
  double fresh_cpu = 0;      ///< CPU seconds of the fresh node, start to sync complete
  double serving_cpu = 0;    ///< CPU seconds of the four serving nodes during the run
  double fresh_peak_mib = 0; ///< the fresh node's peak resident memory (VmHWM) at sync complete
  double commits_per_s = 0;  ///< durable commits of this chain's blocks/s, right after the run
  double batched_commits_per_s = 0; ///< the same in the sync's largest batches (all its blocks)
  bool ok = false;
};

} // namespace

int main(int argc, char** argv) {
  fs::path spec_path = "config/regtest.toml";
  fs::path dir = "/tmp/qtc-bench-sync";
  std::uint64_t blocks = 10000, txs = 10;
  int runs = 3;
  bool component_benches = true, keep_logs = false, headers_only = false;
  std::vector<std::string> extra_node_args; ///< --node-arg: given to every qtcnode (last wins)
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& p) -> std::optional<std::string> {
      return a.rfind(p, 0) == 0 ? std::optional{a.substr(p.size())} : std::nullopt;
    };
    if (auto v = value("--chain-spec="))
      spec_path = *v;
    else if (auto v = value("--dir="))
      dir = *v;
    else if (auto v = value("--blocks="))
      blocks = std::stoull(*v);
    else if (auto v = value("--txs="))
      txs = std::stoull(*v);
    else if (auto v = value("--runs="))
      runs = std::stoi(*v);
    else if (a == "--no-component-benches")
      component_benches = false;
    else if (a == "--keep-logs")
      keep_logs = true;
    else if (a == "--headers-only")
      headers_only = true;
    else if (auto v = value("--node-arg="))
      extra_node_args.push_back(*v);
    else {
      std::cerr << "qtc-bench-sync: unknown argument " << a << "\n";
      return 2;
    }
  }
  spec_path = fs::absolute(spec_path);
  auto loaded = bench::load_spec(spec_path);
  if (!loaded)
    return 2;
  const auto& spec = *loaded;
  auto bin = bench::own_dir();
  auto qtcnode = (bin.parent_path() / "qtcnode").string();
  auto chaingen = bin.parent_path() / "qtc-chaingen";
  fs::create_directories(dir);

  // -- the single-core rates of the pieces, first, while nothing else of ours runs ---------------
  std::optional<double> decode_rate, header_rate, lmdb_rate, lmdb_blocks_per_s, noise_rate;
  if (component_benches) {
    auto chain = test::run_to_completion(
        (bin / "qtc-bench-chain").string(),
        {"--chain-spec=" + spec_path.string(), "--dir=" + (dir / "chain-bench").string()}, 600s);
    std::cout << chain.output;
    decode_rate = reported(chain.output, "frames + messages decoded");
    header_rate = reported(chain.output, "headers validated and added");
    lmdb_rate = reported(chain.output, "LMDB block writes");
    // "store: 300 blocks, 18.0 MB, ...": durable block commits per second at that block size.
    for (const auto& line : bench::lines_with(chain.output, "store: ")) {
      unsigned n = 0;
      double mb = 0;
      if (lmdb_rate && std::sscanf(line.c_str(), "store: %u blocks, %lf MB", &n, &mb) == 2)
        lmdb_blocks_per_s = *lmdb_rate * n / mb;
    }
    auto transport = test::run_to_completion((bin / "qtc-bench-transport").string(), {}, 600s);
    std::cout << transport.output;
    noise_rate = reported(transport.output, "Noise channel (send + receive)");
  }

  // -- the chain and the serving nodes ------------------------------------------------------------
  auto chain_dir = dir / ("chain-" + std::to_string(blocks) + "-" + std::to_string(txs));
  auto info = prepare_chain(chaingen, spec_path, spec, chain_dir, blocks, txs);
  if (!info)
    return 1;
  // The disk's durable-commit rate can change by the minute on a shared machine: it is measured
  // right after each run, with this chain's own blocks.
  auto all_blocks = sample_blocks(chain_dir, spec, blocks);
  std::vector<bytes> probe_blocks(
      all_blocks.begin(),
      all_blocks.begin()
          + static_cast<std::ptrdiff_t>(std::min<std::size_t>(300, all_blocks.size())));
  auto work = dir / "run";
  fs::remove_all(work);
  fs::create_directories(work);
  auto spec_file = work / "regtest.toml";
  bench::write_spec(spec_path, spec_file, "", static_cast<int>(spec.max_connections));
  // DNS is not used: the resolver is a port where nothing listens, the peers come from --connect.
  auto no_dns = "127.0.0.1:" + std::to_string(free_tcp_port("127.0.0.1"));
  auto node_args = [&](const std::string& name, const std::string& host) {
    auto args = std::vector<std::string>{"--qtcnode.node-name=" + name,
                                         "--qtcnode.chain-spec=" + spec_file.string(),
                                         "--qtcnode.data-dir=" + (work / name).string(),
                                         "--qtcnode.p2p-host=" + host,
                                         "--qtcnode.p2p-port=18444",
                                         "--qtcnode.metrics-port=-1",
                                         "--qtcnode.rpc-port=0",
                                         "--qtcnode.dns-servers=" + no_dns,
                                         "--qtcnode.log-level=info"};
    return args;
  };
  std::vector<std::unique_ptr<test::child_process>> serving;
  std::string connect;
  for (int i = 1; i <= 4; ++i) {
    auto name = "serving" + std::to_string(i);
    auto host = bench_net + std::to_string(10 + i);
    fs::create_directories(work / name);
    fs::copy(chain_dir / "chain", work / name / "chain", fs::copy_options::recursive);
    auto args = node_args(name, host);
    args.insert(args.end(), {"--qtcnode.outbound-full-relay=0", "--qtcnode.outbound-block-relay=0",
                             "--scheduler.max-threads=1"}); // as tools/run-regtest.sh runs them
    args.insert(args.end(), extra_node_args.begin(), extra_node_args.end());
    serving.push_back(std::make_unique<test::child_process>(qtcnode, args, work / (name + ".log")));
    connect += (connect.empty() ? "" : ",") + host + ":18444";
  }
  for (auto& s : serving)
    if (!s->wait_for_line("msg=\"node running\"", 300s)) {
      std::cerr << s->output();
      return 1;
    }
  std::vector<pid_t> serving_pids;
  for (int i = 1; i <= 4; ++i)
    serving_pids.push_back(bench::node_pid(work / ("serving" + std::to_string(i))));

  // -- the fresh node, --runs times
  // -----------------------------------------------------------------
  node_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("scheduler.max-threads", 1); // the poller should take as little CPU as it can
  caf::actor_system sys{cfg};
  std::vector<run_result> results;
  for (int r = 0; r < runs; ++r) {
    run_result res;
    auto name = "fresh" + std::to_string(r + 1);
    auto inspector_port = free_tcp_port("127.0.0.1");
    // Each run's fresh node has an address of its own, as a new node would: the serving nodes'
    // per-address budgets (rate limits, upload target) start afresh for it.
    auto args = node_args(name, bench_net + std::to_string(20 + r % 200));
    args.insert(args.end(), {"--qtcnode.connect=" + connect,
                             "--qtcnode.inspector-port=" + std::to_string(inspector_port),
                             "--scheduler.max-threads=2"}); // as config/regtest.ini
    args.insert(args.end(), extra_node_args.begin(), extra_node_args.end());
    std::vector<double> serving_cpu_before;
    for (auto pid : serving_pids)
      serving_cpu_before.push_back(bench::cpu_seconds(pid));
    test::child_process fresh{qtcnode, args, work / (name + ".log")};
    // Attach to the inspector as soon as it listens; poll the header count every 10 ms.
    std::optional<inspector_actor> inspector;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!inspector && std::chrono::steady_clock::now() < deadline && fresh.running()) {
      auto a = sys.middleman().remote_actor<inspector_actor>("127.0.0.1", inspector_port);
      if (a)
        inspector = *a;
      else
        std::this_thread::sleep_for(5ms);
    }
    std::int64_t headers_done_ms = 0;
    caf::scoped_actor self{sys};
    while (inspector && headers_done_ms == 0 && std::chrono::steady_clock::now() < deadline) {
      std::optional<std::int64_t> headers;
      self->request(*inspector, 10s, tree_atom::value, std::string{}, status_verbosity::info)
          .receive([&](const status_report& report) { headers = headers_in(report); },
                   [&](const caf::error&) {});
      auto now = bench::wall_ms();
      if (headers && res.first_poll_headers < 0)
        res.first_poll_headers = *headers;
      if (headers && static_cast<std::uint64_t>(*headers) >= info->blocks)
        headers_done_ms = now;
      else
        std::this_thread::sleep_for(10ms);
    }
    auto complete =
        headers_only ? std::nullopt : fresh.wait_for_line("msg=\"sync complete\"", 1800s);
    // CPU the processes used (the fresh node since its start, the serving nodes during the run).
    res.fresh_cpu = bench::cpu_seconds(bench::node_pid(work / name));
    res.fresh_peak_mib =
        static_cast<double>(bench::peak_rss_bytes(bench::node_pid(work / name))) / (1 << 20);
    for (std::size_t i = 0; i < serving.size(); ++i)
      res.serving_cpu += bench::cpu_seconds(serving_pids[i]) - serving_cpu_before[i];
    auto log = fresh.output();
    auto connected = bench::lines_with(log, "msg=\"peer connected\"");
    std::optional<std::int64_t> start_ms, end_ms;
    if (!connected.empty())
      start_ms = bench::log_time_ms(connected.front());
    if (complete)
      end_ms = bench::log_time_ms(*complete);
    fresh.signal(SIGTERM);
    fresh.wait(10s);
    if (!start_ms || headers_done_ms == 0
        || (!headers_only
            && (!end_ms
                || test::field_value(*complete, "height") != std::to_string(info->blocks)))) {
      std::cerr << "run " << r + 1
                << ": the fresh node did not sync (log: " << (work / (name + ".log")).string()
                << ")\n";
      return 1;
    }
    res.header_seconds = static_cast<double>(headers_done_ms - *start_ms) / 1000;
    res.block_seconds = headers_only ? 0 : static_cast<double>(*end_ms - *start_ms) / 1000;
    // A first poll that already saw every header would make the header time meaningless.
    res.ok = res.first_poll_headers >= 0
             && static_cast<std::uint64_t>(res.first_poll_headers) < info->blocks;
    std::printf("run %d: headers %.3f s (first poll saw %lld), blocks %.3f s, %zu peers connected, "
                "CPU: fresh node %.2f s, serving nodes %.2f s; fresh node peak RSS %.1f MiB; "
                "load %s\n",
                r + 1, res.header_seconds, static_cast<long long>(res.first_poll_headers),
                res.block_seconds, connected.size(), res.fresh_cpu, res.serving_cpu,
                res.fresh_peak_mib, bench::load_average().c_str());
    if (headers_only) {
      results.push_back(res);
      continue;
    }
    res.commits_per_s = commit_rate(work / "probe", probe_blocks);
    res.batched_commits_per_s =
        commit_rate(work / "probe", all_blocks, sync_commit_batch_blocks, sync_commit_batch_bytes);
    std::printf("run %d: durable commits right after: %.0f blocks/s one per transaction, %.0f in "
                "the sync's batches (sync: %.0f blocks/s, ratios %.3f, %.3f)\n",
                r + 1, res.commits_per_s, res.batched_commits_per_s,
                static_cast<double>(info->blocks) / res.block_seconds,
                static_cast<double>(info->blocks) / res.block_seconds / res.commits_per_s,
                static_cast<double>(info->blocks) / res.block_seconds / res.batched_commits_per_s);
    results.push_back(res);
    fs::remove_all(work / name);
  }
  for (auto& s : serving)
    s->signal(SIGTERM);
  for (auto& s : serving)
    s->wait(10s);

  // -- report -------------------------------------------------------------------------------------
  double best_headers = 1e100, best_blocks = 1e100;
  const run_result* best_run = nullptr;
  for (const auto& r : results) {
    if (r.ok)
      best_headers = std::min(best_headers, r.header_seconds);
    if (r.block_seconds < best_blocks) {
      best_blocks = r.block_seconds;
      best_run = &r;
    }
  }
  double mb = static_cast<double>(info->block_bytes) / 1e6;
  std::printf("sync: %llu blocks after genesis (%llu headers), %.1f MB of blocks (%.0f bytes "
              "each), 4 serving nodes, best of %d\n",
              static_cast<unsigned long long>(info->blocks),
              static_cast<unsigned long long>(info->blocks), mb,
              static_cast<double>(info->block_bytes) / static_cast<double>(info->blocks), runs);
  if (best_headers < 1e100) {
    double hps = static_cast<double>(info->blocks) / best_headers;
    bench::report("  header sync (first peer ready -> all headers)", hps, "headers/s");
    if (header_rate)
      bench::report_ratio("  ratio header sync / header validation (one core)", hps / *header_rate);
  } else {
    std::printf("  header sync: no valid run (the first poll already saw every header)\n");
  }
  if (headers_only) {
    if (!keep_logs)
      fs::remove_all(work);
    return 0;
  }
  double bps = mb / best_blocks;
  double blocks_per_s = static_cast<double>(info->blocks) / best_blocks;
  bench::report("  block download (first peer ready -> sync complete)", bps, "MB/s");
  bench::report("  block download", blocks_per_s, "blocks/s");
  if (decode_rate)
    bench::report_ratio("  ratio block download / frame + message decode", bps / *decode_rate);
  if (noise_rate)
    bench::report_ratio("  ratio block download / Noise channel", bps / *noise_rate);
  if (lmdb_rate)
    bench::report_ratio("  ratio block download / LMDB durable writes (MB/s)", bps / *lmdb_rate);
  bench::report_ratio("  fresh node CPU / wall time of the sync (2 cores = 2.0)",
                      best_run->fresh_cpu / best_blocks);
  bench::report_ratio("  serving nodes' CPU / wall time (4 processes)",
                      best_run->serving_cpu / best_blocks);
  bench::report("  fresh node peak resident memory (VmHWM) at sync complete",
                best_run->fresh_peak_mib, "MiB");
  bench::report("  durable commits of this chain's blocks, right after that run",
                best_run->commits_per_s, "blocks/s");
  bench::report_ratio("  ratio blocks/s / durable commits/s (same minute)",
                      blocks_per_s / best_run->commits_per_s);
  bench::report("  durable commits in the sync's largest batches (1000 blocks or 32 MiB)",
                best_run->batched_commits_per_s, "blocks/s");
  bench::report_ratio("  ratio blocks/s / batched commits/s (same minute; goal on disk 0.8)",
                      blocks_per_s / best_run->batched_commits_per_s);
  if (lmdb_blocks_per_s) {
    bench::report("  LMDB durable block commits (chain bench's block size)", *lmdb_blocks_per_s,
                  "blocks/s");
    bench::report_ratio("  ratio blocks/s / those commits/s", blocks_per_s / *lmdb_blocks_per_s);
  }
  if (!keep_logs)
    fs::remove_all(work);
  return 0;
}

// qtc-bench-peers: the memory one qtcnode spends per connected, idle peer.
//
// For each N (default 100 and 1000) a fresh qtcnode starts (empty data directory, no outbound
// slots, max_connections = N + 100 in a copy of the chain spec); its VmRSS is read once it runs
// and has settled. This process then opens N real peer sessions to it — the project's own
// peer_session_core over the Noise transport, one TCP socket each, driven by a poll loop, each
// from its own loopback address 127.1.S.H (8 per /24, so neither the per-address nor the
// per-subnet inbound limit of the chain spec's [dos] table refuses them) — in batches of 50, and
// keeps them ready and idle (answering pings). Once every session is ready and the node has
// logged N "peer connected" lines, both sides settle for --settle seconds and the node's VmRSS is
// read again: (after - before) / ready is the node's cost per peer.
//
// The same N sessions' cost on this side — session core, Noise channel, RNG, buffers, without any
// actor or link — is measured as this process's heap in use (malloc's own count, mallinfo2): the
// floor for what a node must keep per peer, measured in the same run. Kernel socket buffers are
// in neither figure.
//
// The node's CPU while idle is read from /proc/<pid>/stat over --idle seconds twice: with no peer
// (after it settled) and with the N peers connected and quiet (they answer pings, nothing else).
//
//   qtc-bench-peers [--peers=8,100,1000] [--chain-spec=config/regtest.toml]
//                   [--dir=/tmp/qtc-bench-peers] [--settle=5] [--idle=10] [--runs=3]
//
// Each N runs --runs times on a fresh node; the run with the smallest per-peer memory is
// reported (best of), with its CPU figures. 10,000 peers need 10,000 source addresses (127.B.S.H
// covers them) and descriptors on both sides: the bench raises its open-files limit to the hard
// limit, which the node inherits.
#include "actors/node.hpp"
#include "bench_node.hpp"
#include "bench_util.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/transport/node_identity.hpp"
#include "runtime/transport/noise_channel.hpp"

#include <botan/chacha_rng.h>

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <netinet/in.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>

using namespace qtc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string node_host = "127.0.77.1";
constexpr std::uint16_t node_port = 18444;
constexpr std::size_t batch = 50;

/// The i-th peer's source address: 127.B.S.H, H in 1..8, 8 per /24, 2,048 per 127.B/16.
std::string peer_address(std::size_t i) {
  return "127." + std::to_string(1 + i / 2048) + "." + std::to_string((i / 8) % 256) + "."
         + std::to_string(1 + i % 8);
}

struct session {
  int fd = -1;
  bool connected = false;
  bool ready = false;
  std::unique_ptr<Botan::ChaCha_RNG> rng;
  const node_identity* identity = nullptr; ///< signs the session's QuantumProof
  std::unique_ptr<peer_session_core> core;
  bytes out;                 ///< taken from the core, not yet written
  std::uint64_t written = 0; ///< bytes written to the socket so far
};

/// Opens a non-blocking connection from `source` to the node; -1 on failure.
int open_socket(const std::string& source) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(node_port);
  ::inet_pton(AF_INET, node_host.c_str(), &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0
      || (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0
          && errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Peer i's seed: its identity and its RNG.
std::array<std::uint8_t, 32> seed_of(std::size_t i) {
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t k = 0; k < 8; ++k)
    seed[k] = static_cast<std::uint8_t>((i + 1) >> (8 * k));
  seed[31] = 0x5a;
  return seed;
}

class peer_pool {
public:
  peer_pool(session_settings settings, const chain_spec& spec)
      : settings_(std::move(settings)), magic_(spec.magic) {}

  ~peer_pool() {
    for (auto& s : sessions_)
      if (s.fd >= 0)
        ::close(s.fd);
  }

  /// Makes the identities of peers [0, n) and has each sign once. Each bench peer is a node of
  /// its own (the node closes a second session with a known static key), and an identity keeps a
  /// ready ML-DSA signer (about 78 KiB) once it has signed: made before the heap is measured, so
  /// that the bare session's figure holds what a node keeps per peer, not the peers' identities.
  void make_identities(std::size_t n) {
    for (std::size_t i = identities_.size(); i < n; ++i) {
      identities_.push_back(std::make_unique<node_identity>(node_identity::from_seed(seed_of(i))));
      identities_.back()->sign({});
    }
  }

  /// Opens sessions [from, to) (their identities made by make_identities).
  bool open(std::size_t from, std::size_t to) {
    auto now = peer_session_core::clock::now();
    for (std::size_t i = from; i < to; ++i) {
      session s;
      s.fd = open_socket(peer_address(i));
      if (s.fd < 0) {
        std::fprintf(stderr, "cannot connect from %s: %s\n", peer_address(i).c_str(),
                     std::strerror(errno));
        return false;
      }
      auto seed = seed_of(i);
      s.identity = identities_.at(i).get();
      const auto& identity = *s.identity;
      s.rng = std::make_unique<Botan::ChaCha_RNG>(
          Botan::secure_vector<std::uint8_t>(seed.begin(), seed.end()));
      auto channel = std::make_unique<noise_channel>(
          channel_role::initiator, noise::keypair::from_private(identity.static_private()), magic_,
          std::nullopt, *s.rng);
      net_address remote;
      remote.ip = *parse_ip(node_host);
      remote.port = node_port;
      auto settings = settings_;
      settings.local_nonce = 0x1000 + i;
      settings.identity = s.identity;
      s.core = std::make_unique<peer_session_core>(settings, channel_role::initiator,
                                                   std::move(channel), remote, i, now);
      s.core->start(now);
      sessions_.push_back(std::move(s));
    }
    return true;
  }

  /// Drives every session for `duration` (or until all opened ones are ready, with `until_ready`).
  void run(std::chrono::milliseconds duration, bool until_ready) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    std::vector<pollfd> fds;
    while (std::chrono::steady_clock::now() < deadline) {
      if (until_ready && ready() + closed() == sessions_.size())
        return;
      fds.clear();
      for (auto& s : sessions_) {
        short events = 0;
        if (s.fd >= 0) {
          events = POLLIN;
          if (!s.connected || !s.out.empty())
            events |= POLLOUT;
        }
        fds.push_back(pollfd{s.fd, events, 0});
      }
      ::poll(fds.data(), fds.size(), 100);
      auto now = peer_session_core::clock::now();
      for (std::size_t i = 0; i < sessions_.size(); ++i) {
        auto& s = sessions_[i];
        if (s.fd < 0)
          continue;
        auto ev = fds[i].revents;
        if (!s.connected && (ev & (POLLOUT | POLLERR | POLLHUP))) {
          int err = 0;
          socklen_t len = sizeof(err);
          ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            s.core->link_down(now, false);
            drop(s);
            continue;
          }
          s.connected = true;
        }
        if (ev & (POLLIN | POLLHUP | POLLERR)) {
          std::uint8_t buf[65536];
          for (;;) {
            auto n = ::read(s.fd, buf, sizeof buf);
            if (n > 0) {
              s.core->received(std::span{buf, static_cast<std::size_t>(n)}, now);
              continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
              s.core->link_down(now, true);
              drop(s);
            }
            break;
          }
          if (s.fd < 0)
            continue;
        }
        s.core->tick(now);
        (void)s.core->take_messages(); // idle: whatever the node asks is ignored
        if (s.core->take_ready())
          s.ready = true;
        flush(s, now);
        if (s.core->phase() == session_phase::closed) {
          if (reasons_.empty())
            reasons_ = to_string(s.core->reason()) + ": " + s.core->detail();
          drop(s);
        }
      }
    }
  }

  std::size_t size() const {
    return sessions_.size();
  }
  std::size_t ready() const {
    std::size_t n = 0;
    for (const auto& s : sessions_)
      n += s.ready && s.fd >= 0 ? 1 : 0;
    return n;
  }
  std::size_t closed() const {
    std::size_t n = 0;
    for (const auto& s : sessions_)
      n += s.fd < 0 ? 1 : 0;
    return n;
  }
  const std::string& first_close_reason() const {
    return reasons_;
  }

private:
  void flush(session& s, peer_session_core::time_point now) {
    if (!s.connected)
      return;
    auto more = s.core->take_output(now);
    s.out.insert(s.out.end(), more.begin(), more.end());
    if (s.out.empty())
      return;
    auto n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      s.out.erase(s.out.begin(), s.out.begin() + n);
      s.written += static_cast<std::uint64_t>(n);
      s.core->written(s.written, now);
    }
  }

  void drop(session& s) {
    if (s.fd >= 0)
      ::close(s.fd);
    s.fd = -1;
  }

  session_settings settings_;
  std::array<std::uint8_t, 4> magic_;
  std::vector<std::unique_ptr<node_identity>> identities_;
  std::vector<session> sessions_;
  std::string reasons_;
};

/// Bytes this process has allocated and not freed (the heap and malloc's own mappings).
std::uint64_t heap_in_use() {
  auto mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

struct measurement {
  std::size_t ready = 0;          ///< sessions ready on our side
  std::size_t node_connected = 0; ///< "peer connected" lines in the node's log
  std::uint64_t node_before = 0;  ///< node VmRSS with no peer
  std::uint64_t node_after = 0;   ///< node VmRSS with the peers connected and idle
  std::uint64_t own_before = 0;   ///< this process's heap in use before opening sessions
  std::uint64_t own_after = 0;    ///< and with them
  double cpu_before = 0;          ///< node CPU, fraction of one core, idle with no peer
  double cpu_after = 0;           ///< and idle with the peers
  bool ok = false;
};

/// The node's CPU over `seconds` while `wait` passes them, as a fraction of one core.
template <class Wait>
double cpu_share(pid_t pid, int seconds, Wait wait) {
  auto before = bench::cpu_seconds(pid);
  auto start = std::chrono::steady_clock::now();
  wait(std::chrono::seconds{seconds});
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return (bench::cpu_seconds(pid) - before) / elapsed;
}

measurement measure(std::size_t peers, const fs::path& spec_source, const chain_spec& spec,
                    const fs::path& work, int settle, int idle) {
  measurement m;
  fs::remove_all(work);
  fs::create_directories(work);
  auto spec_file = work / "regtest.toml";
  bench::write_spec(spec_source, spec_file, "", static_cast<int>(peers + 100));
  auto data = work / "node";
  test::child_process node{
      (bench::own_dir().parent_path() / "qtcnode").string(),
      {"--qtcnode.node-name=bench", "--qtcnode.chain-spec=" + spec_file.string(),
       "--qtcnode.data-dir=" + data.string(), "--qtcnode.p2p-host=" + node_host,
       "--qtcnode.p2p-port=" + std::to_string(node_port), "--qtcnode.metrics-port=-1",
       "--qtcnode.rpc-port=0", "--qtcnode.outbound-full-relay=0",
       "--qtcnode.outbound-block-relay=0", "--qtcnode.dns-servers=127.0.0.1:9",
       "--qtcnode.log-level=info", "--scheduler.max-threads=2"},
      work / "node.log"};
  if (!node.wait_for_line("msg=\"node running\"", 60s)) {
    std::cerr << node.output();
    return m;
  }
  auto pid = bench::node_pid(data);
  std::this_thread::sleep_for(std::chrono::seconds{settle});
  m.cpu_before = cpu_share(pid, idle, [](auto d) { std::this_thread::sleep_for(d); });
  m.node_before = bench::rss_bytes(pid);
  {
    peer_pool pool{session_settings_for(spec), spec};
    pool.make_identities(peers);
    m.own_before = heap_in_use();
    for (std::size_t from = 0; from < peers; from += batch) {
      if (!pool.open(from, std::min(peers, from + batch)))
        break;
      pool.run(30s, true);
    }
    // Wait for the node to have logged every session, then let both sides settle (the node sends
    // getheaders, getaddr, sendheaders... to new peers; they are read and ignored here).
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      m.node_connected = bench::lines_with(node.output(), "msg=\"peer connected\"").size();
      if (m.node_connected >= pool.ready())
        break;
      pool.run(200ms, false);
    }
    pool.run(std::chrono::seconds{settle}, false);
    // Idle, but the peers still answer pings: the bench's loop keeps running meanwhile.
    m.cpu_after = cpu_share(pid, idle, [&](auto d) {
      pool.run(std::chrono::duration_cast<std::chrono::milliseconds>(d), false);
    });
    m.ready = pool.ready();
    m.node_connected = bench::lines_with(node.output(), "msg=\"peer connected\"").size();
    m.node_after = bench::rss_bytes(pid);
    m.own_after = heap_in_use();
    if (m.ready < peers)
      std::fprintf(stderr, "%zu of %zu sessions ready, %zu closed (first: %s)\n", m.ready, peers,
                   pool.closed(), pool.first_close_reason().c_str());
    auto disconnected = bench::lines_with(node.output(), "msg=\"peer disconnected\"").size();
    auto refused = bench::lines_with(node.output(), "msg=\"inbound connection refused\"").size();
    if (disconnected + refused > 0)
      std::fprintf(stderr, "the node logged %zu disconnections and %zu refusals\n", disconnected,
                   refused);
    m.ok = m.ready == peers && m.node_connected == peers && disconnected == 0;
  }
  node.signal(SIGTERM);
  node.wait(10s);
  return m;
}

} // namespace

int main(int argc, char** argv) {
  fs::path spec_path = "config/regtest.toml";
  fs::path dir = "/tmp/qtc-bench-peers";
  std::vector<std::size_t> counts{8, 100, 1000};
  int settle = 5, runs = 3, idle = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& p) -> std::optional<std::string> {
      return a.rfind(p, 0) == 0 ? std::optional{a.substr(p.size())} : std::nullopt;
    };
    if (auto v = value("--chain-spec=")) {
      spec_path = *v;
    } else if (auto v = value("--dir=")) {
      dir = *v;
    } else if (auto v = value("--settle=")) {
      settle = std::stoi(*v);
    } else if (auto v = value("--idle=")) {
      idle = std::stoi(*v);
    } else if (auto v = value("--runs=")) {
      runs = std::stoi(*v);
    } else if (auto v = value("--peers=")) {
      counts.clear();
      std::istringstream in{*v};
      for (std::string n; std::getline(in, n, ',');)
        counts.push_back(std::stoul(n));
    } else {
      std::cerr << "qtc-bench-peers: unknown argument " << a << "\n";
      return 2;
    }
  }
  spec_path = fs::absolute(spec_path);
  auto spec = bench::load_spec(spec_path);
  if (!spec)
    return 2;
  // Both this process and the node (which inherits the limit) hold one descriptor per peer.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  std::printf("open files limit: %llu\n", static_cast<unsigned long long>(lim.rlim_cur));
  for (auto n : counts) {
    std::optional<measurement> best;
    for (int r = 0; r < runs; ++r) {
      auto m = measure(n, spec_path, *spec, dir / ("peers-" + std::to_string(n)), settle, idle);
      if (!m.ok) {
        std::fprintf(stderr, "%zu peers, run %d: not every session became ready\n", n, r + 1);
        continue;
      }
      double per = static_cast<double>(m.node_after - m.node_before) / static_cast<double>(m.ready);
      std::printf("%zu peers, run %d: node %.1f -> %.1f MB (%.0f bytes/peer); bench heap in use "
                  "%.1f -> %.1f MB; node CPU idle %.2f%% of a core, with the peers %.2f%%\n",
                  n, r + 1, static_cast<double>(m.node_before) / 1e6,
                  static_cast<double>(m.node_after) / 1e6, per,
                  static_cast<double>(m.own_before) / 1e6, static_cast<double>(m.own_after) / 1e6,
                  100 * m.cpu_before, 100 * m.cpu_after);
      if (!best || m.node_after - m.node_before < best->node_after - best->node_before)
        best = m;
    }
    if (!best) {
      std::printf("%zu peers: no run where every session became ready\n", n);
      continue;
    }
    auto ready = static_cast<double>(best->ready);
    double node_per = static_cast<double>(best->node_after - best->node_before) / ready;
    double own_per = static_cast<double>(best->own_after - best->own_before) / ready;
    std::printf("%zu idle peers (%zu ready here, %zu 'peer connected' in the node's log), best of "
                "%d\n",
                n, best->ready, best->node_connected, runs);
    bench::report("  node VmRSS before", static_cast<double>(best->node_before) / 1e6, "MB");
    bench::report("  node VmRSS with the peers", static_cast<double>(best->node_after) / 1e6, "MB");
    bench::report("  node memory per idle peer", node_per / 1024, "KiB");
    bench::report("  bare session (core + Noise + RNG), heap in use here", own_per / 1024, "KiB");
    bench::report_ratio("  ratio bare session / node per peer", own_per / node_per);
    bench::report("  node CPU idle, no peer (of one core)", 100 * best->cpu_before, "%");
    bench::report("  node CPU idle, with the peers (of one core)", 100 * best->cpu_after, "%");
  }
  fs::remove_all(dir);
  return 0;
}

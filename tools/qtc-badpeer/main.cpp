// qtc-badpeer: a peer that serves an invalid header chain, for tests of how a node treats
// misbehaving peers (tests/e2e_test.cpp).
//
//   qtc-badpeer --chain-spec=FILE --data-dir=DIR --listen=IP:PORT [--corrupt=MODE]
//               [--bad-height=H] [--check]
//
// It reads the chain a node (or qtc-chaingen) stored in DIR/chain and serves it up to height H
// with the header at H replaced by one the header tree rejects:
//   pow         another nonce, so that the hash misses the target        (bad_proof_of_work)
//   difficulty  half the target the chain requires, mined to meet it     (bad_difficulty)
//   time        the median time past of its parent, mined                (time_too_old)
//   gap         a parent that does not exist: the chain is not continuous (unknown_parent)
// Before it listens, it replays the chain into a real header tree and checks that the tree
// rejects the header for exactly that reason, so a test that uses it never meets a "bad" header
// that is in fact valid. --check stops after that check.
//
// Connections are handled like a node's inbound ones, with the node's own pieces: the identity
// in DIR/node.key, the Noise/TLS responder, peer_session_core for the version handshake, pings
// and the wire codec. Once a peer is ready it is sent the (at most 2000) headers ending at the
// bad one unasked, so a syncing node meets them whichever peer it downloads from; getheaders is
// answered from the same chain, getdata with the stored blocks below H (notfound otherwise).
// Messages always start before the bad header: a first header that does not connect is excused
// by a node as an announcement it is behind on, one inside a message is not.
//
// A single-threaded poll() loop: this is a test tool, not part of the node. Every event goes to
// stderr as one line. Exit 2 on bad arguments or a broken chain spec, 1 on failure (no chain,
// bind error, a mutation the tree would accept).
#include "actors/node.hpp"
#include "messages/block.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/pow.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/store/chain_store.hpp"
#include "runtime/transport/channel_select.hpp"

#include <botan/system_rng.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <list>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unordered_map>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

using namespace qtc;

namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

enum class corruption { pow, difficulty, time, gap };

constexpr const char* usage =
    "usage: qtc-badpeer --chain-spec=FILE --data-dir=DIR --listen=IP:PORT [--corrupt=MODE]\n"
    "                   [--bad-height=H] [--check]\n"
    "Serves the chain stored in DIR/chain up to height H with the header at H made invalid.\n"
    "  --chain-spec=FILE  the network's chain spec (as the node's)\n"
    "  --data-dir=DIR     holds chain/ (a node's or qtc-chaingen's store) and node.key (created\n"
    "                     if missing)\n"
    "  --listen=IP:PORT   where to accept connections (IPv6 as [addr]:port)\n"
    "  --corrupt=MODE     pow (default): the hash misses the target; difficulty: bits are not\n"
    "                     the required ones; time: not after the median time past; gap: the\n"
    "                     parent does not exist\n"
    "  --bad-height=H     the height of the invalid header, 2 up to the stored tip (default: half\n"
    "                     the stored chain's height)\n"
    "  --check            only build the bad header, check the header tree rejects it, and exit\n"
    "  --help             this text\n";

struct options {
  std::string chain_spec;
  std::string data_dir;
  std::optional<ip_bytes> ip;
  std::uint16_t port = 0;
  corruption mode = corruption::pow;
  std::uint64_t bad_height = 0; ///< 0: half the stored chain
  bool check_only = false;
};

/// Each mode's name (as --corrupt takes it) and what the header tree must say about its header.
struct corruption_mode {
  corruption mode;
  std::string_view name;
  header_rejection rejection;
};
constexpr corruption_mode corruption_modes[] = {
    {corruption::pow, "pow", header_rejection::bad_proof_of_work},
    {corruption::difficulty, "difficulty", header_rejection::bad_difficulty},
    {corruption::time, "time", header_rejection::time_too_old},
    {corruption::gap, "gap", header_rejection::unknown_parent},
};

const corruption_mode& mode_info(corruption m) {
  return *std::find_if(std::begin(corruption_modes), std::end(corruption_modes),
                       [m](const auto& x) { return x.mode == m; });
}

std::string to_string(corruption m) {
  return std::string{mode_info(m).name};
}

/// "a.b.c.d:port" or "[v6]:port".
bool parse_listen(const std::string& text, options& o) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return false;
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return false; // an IPv6 address needs brackets
  char* end = nullptr;
  auto port = std::strtoul(text.c_str() + colon + 1, &end, 10);
  if (*end != 0 || port == 0 || port > 65535)
    return false;
  o.ip = parse_ip(host);
  o.port = static_cast<std::uint16_t>(port);
  return o.ip.has_value();
}

/// Options, or an exit code (0 after --help).
std::variant<options, int> parse(int argc, char** argv) {
  options o;
  auto bad = [](const std::string& why) -> int {
    std::cerr << "qtc-badpeer: " << why << "\n" << usage;
    return exit_usage;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    auto key = arg.substr(0, eq);
    auto value = eq == std::string::npos ? std::string{} : arg.substr(eq + 1);
    auto has_value = eq != std::string::npos && !value.empty();
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    } else if (arg == "--check") {
      o.check_only = true;
    } else if (key == "--chain-spec" && has_value) {
      o.chain_spec = value;
    } else if (key == "--data-dir" && has_value) {
      o.data_dir = value;
    } else if (key == "--listen" && has_value) {
      if (!parse_listen(value, o))
        return bad("--listen: expected IP:PORT (IPv6 as [addr]:PORT), got \"" + value + "\"");
    } else if (key == "--corrupt" && has_value) {
      auto known = std::find_if(std::begin(corruption_modes), std::end(corruption_modes),
                                [&](const auto& x) { return x.name == value; });
      if (known == std::end(corruption_modes))
        return bad("--corrupt: expected pow, difficulty, time or gap, got \"" + value + "\"");
      o.mode = known->mode;
    } else if (key == "--bad-height" && has_value) {
      char* end = nullptr;
      o.bad_height = std::strtoull(value.c_str(), &end, 10);
      if (*end != 0 || value.front() == '-' || o.bad_height < 2 || o.bad_height > 0xffffffffu)
        return bad("--bad-height: expected a height of at least 2, got \"" + value + "\"");
    } else {
      return bad("unknown option or missing value: " + arg);
    }
  }
  if (o.chain_spec.empty() || o.data_dir.empty())
    return bad("--chain-spec and --data-dir are required");
  if (!o.check_only && !o.ip)
    return bad("--listen is required (unless --check)");
  return o;
}

/// The header with the next nonce after `h`'s for which the proof of work passes
/// (`want_valid`) or fails; nothing after 2^24 tries (a target too hard for a test chain).
std::optional<block_header> search_nonce(block_header h, const uint256_be& limit, bool want_valid) {
  for (std::uint32_t tries = 0; tries < (1u << 24); ++tries) {
    ++h.nonce;
    if (check_proof_of_work(block_hash(h), h.bits, limit) == want_valid)
      return h;
  }
  return std::nullopt;
}

/// The invalid replacement of `real` (the stored header at its height), whose parent is `parent`
/// in `tree`; nothing (with `error`) when this chain's target makes the mode impractical.
std::optional<block_header> make_bad_header(corruption mode, const header_tree& tree,
                                            const header_node& parent, const block_header& real,
                                            const uint256_be& limit, std::string& error) {
  auto h = real;
  std::optional<block_header> out;
  switch (mode) {
  case corruption::pow:
    out = search_nonce(h, limit, false);
    break;
  case corruption::difficulty: {
    // Harder than required rather than easier: an easier target may exceed the network's limit,
    // which the tree reports as bad_proof_of_work instead.
    auto target = decode_compact(tree.expected_bits(parent));
    if (!target)
      break;
    h.bits = encode_compact((uint256::from_big_endian(*target) >> 1).to_big_endian());
    if (h.bits != real.bits)
      out = search_nonce(h, limit, true);
    break;
  }
  case corruption::time:
    h.time = static_cast<std::uint32_t>(tree.median_time_past(parent));
    out = search_nonce(h, limit, true);
    break;
  case corruption::gap: {
    // A parent hash no chain has: the hash of a text instead of a header.
    std::string text = "qtc-badpeer: no block has this hash";
    h.prev_block =
        sha256d(std::span{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    out = h;
    break;
  }
  }
  if (!out)
    error = "cannot make a " + to_string(mode) + " header: the chain's target is too hard";
  return out;
}

/// The chain this peer serves: the stored headers below the bad height, then the bad header.
struct bad_chain {
  std::vector<block_header> headers; ///< index = height; the last one is invalid
  std::unordered_map<hash256, std::uint32_t, header_hasher> heights; ///< of the valid ones
  header_rejection rejection = header_rejection::none;

  std::uint32_t bad_height() const {
    return static_cast<std::uint32_t>(headers.size() - 1);
  }

  /// At most 2000 headers from `first` (≥ 1) on, cut after `stop` when it is among them.
  std::vector<block_header> from(std::uint32_t first, const hash256& stop = {}) const {
    std::vector<block_header> out;
    for (auto h = first; h <= bad_height() && out.size() < max_headers_results; ++h) {
      out.push_back(headers[h]);
      if (stop != hash256{} && block_hash(headers[h]) == stop)
        break;
    }
    return out;
  }

  /// The answer to a locator: from the first hash we know, but never starting at the bad header.
  std::vector<block_header> answer(const getheaders_message& gh) const {
    std::uint32_t fork = 0;
    for (const auto& hash : gh.locator)
      if (auto i = heights.find(hash); i != heights.end()) {
        fork = i->second;
        break;
      }
    return from(std::min(fork + 1, bad_height() - 1), gh.stop);
  }

  /// What a peer is sent unasked: the headers ending at the bad one.
  std::vector<block_header> announcement() const {
    return from(bad_height() >= max_headers_results ? bad_height() - max_headers_results + 1 : 1);
  }
};

/// Reads the stored best chain and builds the bad one; nothing (with `error`) on failure.
std::optional<bad_chain> build_chain(const chain_spec& spec, const chain_store& store,
                                     const options& o, std::string& error) {
  auto genesis = make_genesis_block(spec).header;
  auto best = store.best_block();
  if (!best) {
    error = store.path().string() + " holds no chain";
    return std::nullopt;
  }
  // Walk back from the best block: the stored headers of the best chain, tip first.
  std::vector<block_header> real;
  for (auto hash = *best;;) {
    auto h = store.header(hash);
    if (!h) {
      error = store.path().string() + ": the header of " + to_display_hex(hash) + " is missing";
      return std::nullopt;
    }
    real.push_back(h->header);
    if (h->height == 0)
      break;
    hash = h->header.prev_block;
  }
  std::reverse(real.begin(), real.end());
  auto tip = real.size() - 1;
  auto bad_height = o.bad_height != 0 ? o.bad_height : std::max<std::size_t>(2, tip / 2);
  if (bad_height > tip) {
    error = "--bad-height=" + std::to_string(bad_height) + " is above the stored chain's tip ("
            + std::to_string(tip) + ")";
    return std::nullopt;
  }
  auto params = chain_params::from(spec);
  header_tree tree{params, genesis};
  bad_chain chain;
  chain.headers.push_back(genesis);
  chain.heights.emplace(block_hash(genesis), 0);
  // Stored headers were valid when stored: no future limit, as when a node loads its store.
  constexpr auto far_future = std::numeric_limits<std::int64_t>::max() / 2;
  for (std::size_t h = 1; h < bad_height; ++h) {
    auto r = tree.accept(real[h], far_future);
    if (r.rejection != header_rejection::none) {
      error = "the stored header at height " + std::to_string(h)
              + " is invalid: " + to_string(r.rejection);
      return std::nullopt;
    }
    chain.headers.push_back(real[h]);
    chain.heights.emplace(r.node->hash, static_cast<std::uint32_t>(h));
  }
  auto& parent = tree.best();
  auto bad = make_bad_header(o.mode, tree, parent, real[bad_height],
                             params.pow_limit.to_big_endian(), error);
  if (!bad)
    return std::nullopt;
  // The header tree itself must reject it, for the mode's reason (at the wall clock's now, as a
  // node would judge it).
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  chain.rejection = tree.accept(*bad, now).rejection;
  if (chain.rejection != mode_info(o.mode).rejection) {
    error = "internal error: the " + to_string(o.mode) + " header at height "
            + std::to_string(bad_height) + " is judged " + to_string(chain.rejection) + ", not "
            + to_string(mode_info(o.mode).rejection);
    return std::nullopt;
  }
  chain.headers.push_back(*bad);
  return chain;
}

/// One accepted connection.
struct connection {
  int fd = -1;
  std::string remote;
  std::unique_ptr<peer_session_core> core;
  bytes pending;             ///< produced by the core, not yet accepted by the socket
  std::uint64_t written = 0; ///< bytes the socket accepted (the core's send-queue bound)
  bool peer_closed = false;  ///< the peer hung up (or the socket failed)
};

void log_line(const std::string& what) {
  std::cerr << "qtc-badpeer: " << what << std::endl;
}

std::string headers_text(const std::vector<block_header>& headers, const bad_chain& chain) {
  auto first = chain.heights.contains(headers.front().prev_block)
                   ? chain.heights.at(headers.front().prev_block) + 1
                   : chain.bad_height();
  auto last = first + static_cast<std::uint32_t>(headers.size()) - 1;
  return "count=" + std::to_string(headers.size()) + " heights=" + std::to_string(first) + "-"
         + std::to_string(last) + (last == chain.bad_height() ? " invalid=yes" : " invalid=no");
}

/// Answers what the peer asked for (and announces the bad chain once it is ready).
void serve(connection& c, const bad_chain& chain, const chain_store& store) {
  auto& core = *c.core;
  if (core.take_ready()) {
    const auto& v = *core.peer_version();
    log_line("peer ready remote=" + c.remote + " user_agent=" + v.user_agent
             + " height=" + std::to_string(v.start_height));
    auto headers = chain.announcement();
    log_line("announcing headers remote=" + c.remote + " " + headers_text(headers, chain));
    core.send(p2p_message{headers_message{std::move(headers)}});
  }
  for (auto& msg : core.take_messages()) {
    if (auto* gh = std::get_if<getheaders_message>(&msg)) {
      auto headers = chain.answer(*gh);
      log_line("answering getheaders remote=" + c.remote + " " + headers_text(headers, chain));
      core.send(p2p_message{headers_message{std::move(headers)}});
    } else if (auto* gd = std::get_if<getdata_message>(&msg)) {
      notfound_message missing;
      for (const auto& item : gd->items) {
        auto i = chain.heights.find(item.hash);
        std::optional<bytes> raw;
        if (item.type == static_cast<std::uint32_t>(inv_type::block) && i != chain.heights.end())
          raw = store.block(item.hash);
        if (raw)
          core.send_raw("block", *raw);
        else
          missing.items.push_back(item);
      }
      if (!missing.items.empty())
        core.send(p2p_message{std::move(missing)});
    }
    // Everything else (addresses, sendheaders, inventory...) needs no answer from this peer.
  }
}

/// Moves the core's output to the socket, as far as the socket takes it without blocking.
void flush(connection& c, std::chrono::steady_clock::time_point now) {
  auto out = c.core->take_output(now);
  c.pending.insert(c.pending.end(), out.begin(), out.end());
  std::size_t done = 0;
  while (done < c.pending.size() && !c.peer_closed) {
    auto n = ::send(c.fd, c.pending.data() + done, c.pending.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        c.peer_closed = true;
        c.core->link_down(now, true);
      }
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(done));
  c.written += done;
  if (done > 0)
    c.core->written(c.written, now);
}

int listen_on(const ip_bytes& ip, std::uint16_t port, std::string& error) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = is_ipv4(ip) ? AF_INET : AF_INET6;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, ip.data() + 12, 4);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, ip.data(), 16);
    len = sizeof(*a);
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 16) != 0) {
    error = "cannot listen on " + format_endpoint(ip, port) + ": " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  return fd;
}

/// The peer's address as the protocol carries it.
net_address remote_address(const sockaddr_storage& s) {
  net_address a;
  if (s.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(s);
    auto* b = reinterpret_cast<const std::uint8_t*>(&v4.sin_addr);
    a.ip = ipv4(b[0], b[1], b[2], b[3]);
    a.port = ntohs(v4.sin_port);
  } else {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(s);
    std::memcpy(a.ip.data(), &v6.sin6_addr, 16);
    a.port = ntohs(v6.sin6_port);
  }
  return a;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse(argc, argv);
  if (auto* code = std::get_if<int>(&parsed))
    return *code;
  const auto& o = std::get<options>(parsed);
  auto loaded = load_chain_spec(o.chain_spec);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.spec)
    return exit_usage;
  const auto& spec = *loaded.spec;
  std::string error;
  auto store = chain_store::open(
      std::filesystem::path{o.data_dir} / "chain",
      chain_identity{spec.network, block_hash(make_genesis_block(spec).header)}, error);
  if (!store) {
    std::cerr << "qtc-badpeer: " << error << "\n";
    return exit_failed;
  }
  auto chain = build_chain(spec, *store, o, error);
  if (!chain) {
    std::cerr << "qtc-badpeer: " << error << "\n";
    return exit_failed;
  }
  auto bad_hash = block_hash(chain->headers.back());
  auto description =
      "corrupt=" + to_string(o.mode) + " bad_height=" + std::to_string(chain->bad_height())
      + " bad_hash=" + to_display_hex(bad_hash) + " rejection=" + to_string(chain->rejection);
  if (o.check_only) {
    log_line("checked " + description);
    return 0;
  }

  Botan::System_RNG rng;
  auto identity =
      node_identity::load_or_create(std::filesystem::path{o.data_dir} / "node.key", rng, error);
  if (!identity) {
    std::cerr << "qtc-badpeer: " << error << "\n";
    return exit_failed;
  }
  auto shared_identity = std::make_shared<const node_identity>(std::move(*identity));
  auto context = *make_channel_context(shared_identity, spec);
  context.rng = &rng;
  auto settings = session_settings_for(spec);
  settings.identity = shared_identity.get();
  settings.user_agent = std::string{"/qtc-badpeer:"} + QTC_VERSION + "/";
  // It claims the height of its own chain: no more, so that a node does not wait for blocks it
  // cannot have, and no less, so that it looks like a peer worth syncing from.
  settings.start_height = static_cast<std::int32_t>(chain->bad_height());

  int listener = listen_on(*o.ip, o.port, error);
  if (listener < 0) {
    std::cerr << "qtc-badpeer: " << error << "\n";
    return exit_failed;
  }
  log_line("listening on " + format_endpoint(*o.ip, o.port) + " " + description);

  std::list<connection> connections;
  for (;;) {
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (const auto& c : connections)
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.pending.empty() ? 0 : POLLOUT)), 0});
    // The timeout paces the sessions' ticks (pings, handshake timeouts).
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      std::cerr << "qtc-badpeer: poll: " << std::strerror(errno) << "\n";
      return exit_failed;
    }
    auto now = std::chrono::steady_clock::now();
    std::size_t k = 1;
    for (auto& c : connections) {
      auto events = fds[k++].revents;
      if ((events & (POLLIN | POLLHUP | POLLERR)) != 0) {
        std::uint8_t buf[65536];
        auto n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n > 0) {
          c.core->received(std::span{buf, static_cast<std::size_t>(n)}, now);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          c.peer_closed = true;
          c.core->link_down(now, true);
        }
      }
      c.core->tick(now);
      serve(c, *chain, *store);
      flush(c, now);
    }
    for (auto i = connections.begin(); i != connections.end();) {
      // A session this side closed still gets its last bytes out when the socket takes them.
      if (i->core->phase() == session_phase::closed && (i->pending.empty() || i->peer_closed)) {
        log_line("connection closed remote=" + i->remote + " reason=" + to_string(i->core->reason())
                 + " detail=\"" + i->core->detail() + "\"");
        ::close(i->fd);
        i = connections.erase(i);
      } else {
        ++i;
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        auto remote = remote_address(peer);
        connection c;
        c.fd = fd;
        c.remote = format_endpoint(remote.ip, remote.port);
        // A fresh version nonce per connection, as a node's (self-connection detection).
        rng.randomize(reinterpret_cast<std::uint8_t*>(&settings.local_nonce),
                      sizeof(settings.local_nonce));
        c.core = std::make_unique<peer_session_core>(settings, channel_role::responder,
                                                     std::make_unique<sniffing_responder>(context),
                                                     remote, settings.local_nonce, now);
        c.core->start(now);
        log_line("connection accepted remote=" + c.remote);
        connections.push_back(std::move(c));
      }
    }
  }
}

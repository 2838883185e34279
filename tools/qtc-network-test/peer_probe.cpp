#include "peer_probe.hpp"

#include "actors/node.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/io/tcp_connect.hpp"
#include "runtime/session/peer_session_core.hpp"

#include <botan/system_rng.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <sys/socket.h>

#include <poll.h>
#include <unistd.h>

namespace qtc::nettest {

namespace {

using clock = std::chrono::steady_clock;

double ms_since(clock::time_point t) {
  return std::chrono::duration<double, std::milli>(clock::now() - t).count();
}

/// One socket and the session core on it. Nothing here runs in the node: the loop blocks in
/// poll() for at most 100 ms at a time.
class probe_connection {
public:
  explicit probe_connection(int fd) : fd_(fd) {}
  ~probe_connection() {
    ::close(fd_);
  }
  probe_connection(const probe_connection&) = delete;
  probe_connection& operator=(const probe_connection&) = delete;

  /// Waits for the non-blocking connect to finish.
  bool wait_connected(clock::time_point deadline, std::string& error) {
    pollfd p{fd_, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    auto n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n == 0) {
      error = "no connection within the timeout";
      return false;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (n < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if (err != 0)
      error = std::string{"connect: "} + std::strerror(err);
    return err == 0;
  }

  void start(std::unique_ptr<peer_session_core> core) {
    core_ = std::move(core);
    core_->start(clock::now());
  }

  peer_session_core& core() {
    return *core_;
  }

  /// Runs the session until `done()`, the deadline, or its end (false, with `error`).
  bool drive(const std::function<bool()>& done, clock::time_point deadline, std::string& error) {
    for (;;) {
      if (!flush(error))
        return false;
      for (auto& m : core_->take_messages())
        inbox.push_back(std::move(m));
      if (core_->phase() == session_phase::closed) {
        error = "closed: " + to_string(core_->reason())
                + (core_->detail().empty() ? "" : " (" + core_->detail() + ")");
        return false;
      }
      if (done())
        return true;
      auto now = clock::now();
      if (now >= deadline) {
        error = "no answer within the timeout";
        return false;
      }
      wait_and_read(std::min(deadline - now, clock::duration{std::chrono::milliseconds{100}}));
      core_->tick(clock::now());
    }
  }

  std::vector<p2p_message> inbox;

private:
  bool flush(std::string& error) {
    auto more = core_->take_output(clock::now());
    out_.insert(out_.end(), more.begin(), more.end());
    while (offset_ < out_.size()) {
      auto n = ::send(fd_, out_.data() + offset_, out_.size() - offset_, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        error = std::string{"send: "} + std::strerror(errno);
        return false;
      }
      offset_ += static_cast<std::size_t>(n);
      written_ += static_cast<std::uint64_t>(n);
    }
    if (offset_ == out_.size()) {
      out_.clear();
      offset_ = 0;
    }
    core_->written(written_, clock::now());
    return true;
  }

  void wait_and_read(clock::duration wait) {
    pollfd p{fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
    if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(ms, 1))) <= 0)
      return;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
      return;
    std::uint8_t buf[65536];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        core_->received(std::span{buf, static_cast<std::size_t>(n)}, clock::now());
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        core_->link_down(clock::now(), true);
      return;
    }
  }

  int fd_;
  std::unique_ptr<peer_session_core> core_;
  bytes out_;
  std::size_t offset_ = 0;
  std::uint64_t written_ = 0;
};

/// The headers from genesis, checked by the node's header tree as they arrive.
class header_check {
public:
  explicit header_check(const chain_spec& spec)
      : genesis_(make_genesis_block(spec).header), tree_(chain_params::from(spec), genesis_) {}

  /// Adds one `headers` answer; false (with `error`) at the first header the tree rejects.
  bool add(const std::vector<block_header>& headers, std::string& error) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    for (const auto& h : headers) {
      auto r = tree_.accept(h, now);
      if (r.rejection == header_rejection::none) {
        if (!r.duplicate)
          ++count_;
        last_ = r.node;
        continue;
      }
      error = "header " + to_display_hex(block_hash(h)) + " after height " + std::to_string(count_)
              + ": " + to_string(r.rejection);
      return false;
    }
    return true;
  }

  /// Whether an answer continues what we know (an empty one does too): anything else is an
  /// announcement of a block far ahead, or a chain from another genesis.
  bool connects(const headers_message& m) const {
    return m.headers.empty() || tree_.find(m.headers.front().prev_block) != nullptr;
  }

  std::vector<hash256> locator() const {
    return {last_ != nullptr ? last_->hash : block_hash(genesis_)};
  }
  std::uint64_t count() const {
    return count_;
  }
  std::string tip() const {
    return to_display_hex(last_ != nullptr ? last_->hash : block_hash(genesis_));
  }

private:
  block_header genesis_;
  header_tree tree_;
  std::uint64_t count_ = 0;
  const header_node* last_ = nullptr;
};

session_settings settings_for(const chain_spec& spec, const node_identity& identity,
                              const peer_target& target) {
  auto settings = session_settings_for(spec);
  settings.user_agent = std::string{"/qtc-network-test:"} + QTC_VERSION + "/";
  settings.services = 0; // serves nothing
  settings.identity = &identity;
  if (!target.pubkey_hex.empty())
    if (auto raw = from_hex(target.pubkey_hex); raw && raw->size() == sizeof(node_id)) {
      node_id pin{};
      std::copy(raw->begin(), raw->end(), pin.begin());
      settings.pinned = pin;
    }
  return settings;
}

/// Takes the first message of type T out of the inbox.
template <class T>
std::optional<T> take(std::vector<p2p_message>& inbox) {
  for (auto i = inbox.begin(); i != inbox.end(); ++i)
    if (auto* m = std::get_if<T>(&*i)) {
      auto out = std::move(*m);
      inbox.erase(i);
      return out;
    }
  return std::nullopt;
}

bool has_addresses(const std::vector<p2p_message>& inbox) {
  for (const auto& m : inbox)
    if (std::holds_alternative<addr_message>(m) || std::holds_alternative<addrv2_message>(m))
      return true;
  return false;
}

/// Waits for the answer to a getheaders: the first `headers` that connects to what `check`
/// knows. Others are put aside (a peer may announce new blocks unasked); if only those come,
/// the error names the first.
std::optional<headers_message> await_headers(probe_connection& c, const header_check& check,
                                             clock::time_point deadline, std::string& error) {
  std::optional<headers_message> answer;
  std::optional<block_header> unconnected;
  auto arrived = [&] {
    while (!answer) {
      auto m = take<headers_message>(c.inbox);
      if (!m)
        return false;
      if (check.connects(*m))
        answer = std::move(m);
      else if (!unconnected)
        unconnected = m->headers.front();
    }
    return true;
  };
  if (c.drive(arrived, deadline, error))
    return answer;
  if (unconnected)
    error = "its headers do not follow the chain spec's genesis (the first, "
            + to_display_hex(block_hash(*unconnected)) + ", follows unknown "
            + to_display_hex(unconnected->prev_block) + ")";
  return std::nullopt;
}

void record_handshake(const peer_session_core& core, peer_probe& r) {
  r.post_quantum = core.channel().post_quantum();
  if (core.peer_id())
    r.node_id = to_hex(*core.peer_id());
  if (const auto& v = core.peer_version()) {
    r.user_agent = v->user_agent;
    r.protocol_version = v->version;
    r.start_height = v->start_height;
  }
}

/// getheaders from genesis until an answer is short of the maximum: every header checked.
bool fetch_headers(probe_connection& c, const chain_spec& spec, const options& o, peer_probe& r) {
  header_check check{spec};
  for (bool first = true;; first = false) {
    getheaders_message gh;
    gh.version = static_cast<std::uint32_t>(spec.protocol_version);
    gh.locator = check.locator();
    c.core().send(p2p_message{std::move(gh)});
    auto asked = clock::now();
    auto answer = await_headers(c, check, asked + o.timeout, r.error);
    if (!answer)
      return false;
    if (first)
      r.headers_ms = ms_since(asked);
    auto ok = check.add(answer->headers, r.error);
    r.headers = check.count();
    r.tip_hash = check.tip();
    if (!ok)
      return false;
    if (answer->headers.size() < max_headers_results)
      break;
    // Bounded by what the peer announced: a peer that keeps sending cheap headers (a test
    // network's easiest target) must not grow our memory forever.
    if (r.headers > static_cast<std::uint64_t>(std::max(r.start_height, 0)) + max_headers_results) {
      r.error = "served more than " + std::to_string(r.headers)
                + " headers; its version announced height " + std::to_string(r.start_height);
      return false;
    }
  }
  if (r.headers < static_cast<std::uint64_t>(std::max(r.start_height, 0))) {
    r.error = "served " + std::to_string(r.headers) + " headers; its version announced height "
              + std::to_string(r.start_height);
    return false;
  }
  return true;
}

/// The steps after the TCP connect; false with `r.failed_step` and `r.error` set.
bool run_session(probe_connection& c, const chain_spec& spec, const options& o, peer_probe& r) {
  auto started = clock::now();
  r.failed_step = "handshake";
  if (!c.drive([&] { return c.core().phase() == session_phase::ready; }, started + o.timeout,
               r.error))
    return false;
  r.handshake_ms = ms_since(started);
  record_handshake(c.core(), r);
  c.core().send(p2p_message{getaddr_message{}});
  r.failed_step = "headers";
  if (!fetch_headers(c, spec, o, r))
    return false;
  r.failed_step = "addresses";
  if (!c.drive([&] { return has_addresses(c.inbox); }, clock::now() + o.timeout, r.error))
    return false;
  if (auto a = take<addr_message>(c.inbox))
    r.addresses = a->addresses.size();
  else if (auto a2 = take<addrv2_message>(c.inbox))
    r.addresses = a2->addresses.size();
  r.failed_step.clear();
  return true;
}

} // namespace

peer_probe probe_peer(const chain_spec& spec, const peer_target& target, const options& o) {
  peer_probe r;
  r.address = format_endpoint(target.ip, target.port);
  r.transport = target.transport == transport_kind::tls ? "tls" : "noise";
  r.source = target.source;
  r.failed_step = "connect";
  auto started = clock::now();
  auto fd = start_tcp_connect(target.ip, target.port);
  if (auto* error = std::get_if<std::string>(&fd)) {
    r.error = *error;
    return r;
  }
  probe_connection c{std::get<int>(fd)};
  if (!c.wait_connected(started + o.timeout, r.error))
    return r;
  r.connect_ms = ms_since(started);
  std::array<std::uint8_t, 32> key_seed{};
  Botan::system_rng().randomize(key_seed.data(), key_seed.size());
  auto identity = std::make_shared<const node_identity>(node_identity::from_seed(key_seed));
  auto context = *make_channel_context(identity, spec, pq_policy::required);
  context.rng = &Botan::system_rng(); // thread-safe: the probes run in parallel
  auto settings = settings_for(spec, *identity, target);
  net_address remote;
  remote.ip = target.ip;
  remote.port = target.port;
  std::uint64_t seed = 0;
  Botan::system_rng().randomize(reinterpret_cast<std::uint8_t*>(&seed), sizeof(seed));
  c.start(std::make_unique<peer_session_core>(
      settings, channel_role::initiator, make_initiator(target.transport, context, std::nullopt),
      remote, seed, clock::now()));
  run_session(c, spec, o, r);
  return r;
}

} // namespace qtc::nettest

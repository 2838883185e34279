#include "connection.hpp"

#include "messages/primitives/hash.hpp"
#include "runtime/io/socket_address.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

#include <unistd.h>

namespace qtc::attack {

namespace {

/// Plaintext encrypted per step: large enough for throughput, small enough that a stalled
/// socket leaves little ciphertext behind.
constexpr std::size_t encrypt_piece = 64 * 1024;
/// Ciphertext kept ready for the socket before the queue stops encrypting.
constexpr std::size_t pending_high_water = 256 * 1024;
/// What counts as "the node is not reading ours" for paced sends.
constexpr std::size_t backlog_limit = 512 * 1024;
/// Bytes read per step: one connection never starves the others.
constexpr std::size_t read_budget = 1 << 20;

/// The command of a frame the core handed us (it sends one frame per call).
std::string command_in(std::span<const std::uint8_t> frame_bytes) {
  if (frame_bytes.size() < frame_header_size)
    return "(partial)";
  std::string out;
  for (std::size_t i = 4; i < 4 + command_size && frame_bytes[i] != 0; ++i)
    out.push_back(static_cast<char>(frame_bytes[i]));
  return out;
}

} // namespace

transport_error tapped_channel::receive(std::span<const std::uint8_t> in, bytes& out,
                                        bytes& plain) {
  auto before = plain.size();
  auto e = inner_->receive(in, out, plain);
  if (plain.size() > before)
    owner_.tapped_in(std::span{plain}.subspan(before));
  return e;
}

transport_error tapped_channel::send(std::span<const std::uint8_t> plain, bytes&) {
  if (core_sends_allowed == 0)
    return transport_error::none; // muted: the node never sees it
  if (core_sends_allowed != SIZE_MAX)
    --core_sends_allowed;
  owner_.tapped_core_send(plain);
  return transport_error::none;
}

connection::connection(std::uint64_t id, unsigned source, const ip_bytes& source_ip, time_point now)
    : id(id), source(source), source_ip(source_ip), started(now), connected_at(now), ended_at(now) {
}

connection::~connection() {
  close_socket();
}

void connection::close_socket() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

bool connection::open(const ip_bytes& target, std::uint16_t port, bool small_receive_buffer,
                      std::string& error) {
  int family = is_ipv4(target) ? AF_INET : AF_INET6;
  fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error = std::string{"socket: "} + std::strerror(errno);
    return false;
  }
  int one = 1;
  // The port is chosen at connect time, per (source, target) pair: churn through one source
  // address is not limited by its ports in TIME_WAIT.
  ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  if (small_receive_buffer) {
    // Before connect, so that the window announced in the handshake is this small too.
    int size = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  sockaddr_storage local{}, remote{};
  auto local_len = to_sockaddr(source_ip, 0, local);
  auto remote_len = to_sockaddr(target, port, remote);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
    error = "bind " + format_ip(source_ip) + ": " + std::strerror(errno);
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&remote), remote_len) != 0
      && errno != EINPROGRESS) {
    error = std::string{"connect: "} + std::strerror(errno);
    return false;
  }
  return true;
}

bool connection::finish_connect(std::string& error) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err != 0) {
    error = std::string{"connect: "} + std::strerror(err);
    return false;
  }
  return true;
}

bool connection::read_some(time_point now, std::string& error, bool draining) {
  std::uint8_t buf[65536];
  for (std::size_t done = 0; done < read_budget;) {
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      (draining ? t.bytes_drained : t.bytes_received) += static_cast<std::size_t>(n);
      if (core_ && !draining) {
        core_->received(std::span{buf, static_cast<std::size_t>(n)}, now);
        absorb_core_output();
      }
      continue;
    }
    if (n == 0) {
      error = "the node closed the connection";
      return false;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return true;
    error = std::string{"the node reset the connection ("} + std::strerror(errno) + ")";
    return false;
  }
  return true;
}

bool connection::flush(std::string& error) {
  for (;;) {
    pump();
    if (pending_start_ == pending_.size())
      return true;
    auto n = ::send(fd_, pending_.data() + pending_start_, pending_.size() - pending_start_,
                    MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return true;
      error = std::string{"the node reset the connection ("} + std::strerror(errno) + ")";
      return false;
    }
    pending_start_ += static_cast<std::size_t>(n);
    t.bytes_sent += static_cast<std::size_t>(n);
    if (pending_start_ == pending_.size()) {
      pending_.clear();
      pending_start_ = 0;
    }
  }
}

bool connection::backlogged() const {
  return plain_bytes_ + (pending_.size() - pending_start_) > backlog_limit;
}

void connection::pump() {
  // Compact first: the written prefix is dead weight.
  if (pending_start_ > 0 && pending_start_ * 2 >= pending_.size()) {
    pending_.erase(pending_.begin(),
                   pending_.begin() + static_cast<std::ptrdiff_t>(pending_start_));
    pending_start_ = 0;
  }
  while (!plain_.empty() && pending_.size() - pending_start_ < pending_high_water && tap_) {
    auto& [piece, offset] = plain_.front();
    auto n = std::min(encrypt_piece, piece->size() - offset);
    tap_->encrypt(std::span{piece->data() + offset, n}, pending_);
    offset += n;
    plain_bytes_ -= n;
    if (offset == piece->size())
      plain_.pop_front();
  }
}

void connection::start_session(const session_settings& settings,
                               std::unique_ptr<secure_channel> channel, const net_address& remote,
                               std::uint64_t seed, time_point now) {
  auto tap = std::make_unique<tapped_channel>(std::move(channel), *this);
  tap_ = tap.get();
  magic_ = settings.magic;
  frames_in_ = std::make_unique<frame_decoder>(settings.magic, settings.max_message_size);
  core_ = std::make_unique<peer_session_core>(settings, channel_role::initiator, std::move(tap),
                                              remote, seed, now);
  core_->start(now);
  absorb_core_output();
}

void connection::tick(time_point now) {
  if (!core_)
    return;
  core_->tick(now);
  absorb_core_output();
}

void connection::absorb_core_output() {
  auto out = core_->take_output(clock::now());
  core_taken_ += out.size();
  pending_.insert(pending_.end(), out.begin(), out.end());
  // Written as far as the core is concerned: its send-queue bound is a node's, not ours.
  core_->written(core_taken_, clock::now());
  core_->take_messages(); // the tap has them already, as frames
}

std::vector<frame> connection::take_frames() {
  std::vector<frame> out;
  out.swap(inbox_);
  return out;
}

bool connection::take_ready() {
  return core_ && core_->take_ready();
}

void connection::queue_message(const p2p_message& msg) {
  auto plain = std::make_shared<bytes>();
  append_message(*plain, magic_, msg);
  queue_plain(std::move(plain), command_of(msg));
}

void connection::queue_frame(std::string_view command, std::span<const std::uint8_t> payload,
                             bool corrupt_checksum) {
  auto plain = std::make_shared<bytes>();
  append_frame(*plain, magic_, command, payload);
  if (corrupt_checksum)
    (*plain)[20] ^= 0xff; // the checksum's first byte
  queue_plain(std::move(plain), std::string{command} + (corrupt_checksum ? "(bad-checksum)" : ""));
}

void connection::queue_plain(std::shared_ptr<const bytes> plain, const std::string& command) {
  if (!command.empty()) {
    ++t.messages_sent;
    ++t.sent[command];
  }
  plain_bytes_ += plain->size();
  plain_.emplace_back(std::move(plain), 0);
}

void connection::queue_wire(std::span<const std::uint8_t> raw) {
  pending_.insert(pending_.end(), raw.begin(), raw.end());
}

void connection::tapped_in(std::span<const std::uint8_t> plain) {
  frames_in_->feed(plain);
  while (auto f = frames_in_->next()) {
    ++t.messages_received;
    ++t.received[f->command];
    inbox_.push_back(std::move(*f));
  }
}

void connection::tapped_core_send(std::span<const std::uint8_t> plain) {
  ++t.messages_sent;
  ++t.sent[command_in(plain)];
  plain_bytes_ += plain.size();
  plain_.emplace_back(std::make_shared<bytes>(plain.begin(), plain.end()), 0);
}

} // namespace qtc::attack

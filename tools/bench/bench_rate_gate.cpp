// qtc-bench-rate-gate: what the per-message rate checks cost, against a bare message dispatch.
//
// Two session cores joined in memory (Noise, version handshake done); one sends N small
// unsolicited messages (`inv` of one transaction), the other receives their ciphertext in 64 KiB
// reads — decryption, framing, decoding, the message handed out: a bare dispatch. Then the same
// with the receiver's rate limits on, its allowance granted by a real runtime/net/rate_budget in
// the chunks the security manager grants (10 messages, 64 KiB) whenever the session asks: the
// per-message check, the chunked grants, and the budget's bookkeeping. The budget is set so high
// that it never throttles: this measures the checks, not a throttled peer. Not included: the
// actor round trip for a grant (one request to the security manager per 10 messages; see
// docs/performance.md). Best of 7 runs each, alternating.
//
//   qtc-bench-rate-gate [--messages=200000]
#include "bench_util.hpp"
#include "runtime/net/rate_budget.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/transport/channel_select.hpp"

#include <botan/chacha_rng.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

using namespace qtc;
using time_point = peer_session_core::time_point;

namespace {

const network_magic magic{0x51, 0x54, 0x43, 0x4d};

struct side {
  node_identity id;
  Botan::ChaCha_RNG rng;
  channel_context ctx;
  explicit side(std::uint8_t seed)
      : id(node_identity::from_seed(std::array<std::uint8_t, 32>{seed, 9})),
        rng(Botan::secure_vector<std::uint8_t>(32, seed)) {
    ctx.identity = &id;
    ctx.noise_static = noise::keypair::from_private(id.static_private());
    ctx.magic = magic;
    ctx.rng = &rng;
  }
  session_settings settings(std::uint64_t nonce, bool limited) const {
    session_settings s;
    s.magic = magic;
    s.local_nonce = nonce;
    s.rate_limited = limited;
    s.identity = &id;
    s.ping_interval = std::chrono::hours{24}; // no pings in the measured stream
    return s;
  }
};

/// A sender and a receiver past their handshakes, and the ciphertext of `n` messages.
struct stream {
  side a{1}, b{2};
  time_point now{std::chrono::hours{1}};
  std::unique_ptr<peer_session_core> sender, receiver;
  bytes wire;

  stream(std::size_t n, bool limited) {
    sender = std::make_unique<peer_session_core>(
        a.settings(11, false), channel_role::initiator,
        make_initiator(transport_kind::noise, a.ctx, std::nullopt), net_address{}, 1, now);
    receiver = std::make_unique<peer_session_core>(b.settings(22, limited), channel_role::responder,
                                                   std::make_unique<sniffing_responder>(b.ctx),
                                                   net_address{}, 2, now);
    sender->start(now);
    receiver->start(now);
    for (int i = 0; i < 20; ++i) {
      auto to_b = sender->take_output(now);
      auto to_a = receiver->take_output(now);
      if (to_b.empty() && to_a.empty())
        break;
      receiver->received(to_b, now);
      sender->received(to_a, now);
    }
    if (receiver->phase() != session_phase::ready) {
      std::fprintf(stderr, "handshake failed\n");
      std::exit(1);
    }
    (void)receiver->take_messages();
    inv_message inv;
    inv.items.push_back(inv_item{1, hash256{}});
    for (std::size_t i = 0; i < n; ++i) {
      inv.items[0].hash[0] = static_cast<std::uint8_t>(i);
      sender->send(inv);
    }
    wire = sender->take_output(now);
  }
};

/// Feeds the stream to its receiver; with `budget`, grants allowance as the security manager
/// would. Returns the messages handed out.
std::size_t receive(stream& s, rate_budget* budget) {
  const ip_bytes ip{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  std::size_t handed = 0;
  for (std::size_t at = 0; at < s.wire.size(); at += 65536) {
    auto end = std::min(s.wire.size(), at + 65536);
    s.receiver->received(std::span{s.wire}.subspan(at, end - at), s.now);
    while (budget) {
      auto lacking = s.receiver->allowance_wanted();
      if (!lacking)
        break;
      auto g = budget->request(ip, std::max(lacking->messages, rate_budget::default_chunk_messages),
                               std::max(lacking->bytes, rate_budget::default_chunk_bytes), s.now);
      s.receiver->grant(g.messages, g.bytes, s.now);
    }
    handed += s.receiver->take_messages().size();
  }
  return handed;
}

double seconds_for(std::size_t n, bool limited) {
  stream s{n, limited};
  rate_budget::config c;
  c.max_messages_per_minute = 1'000'000'000; // never throttles: the checks alone
  c.max_bytes_per_minute = 1'000'000'000'000ull;
  rate_budget budget{c};
  auto start = std::chrono::steady_clock::now();
  auto handed = receive(s, limited ? &budget : nullptr);
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (handed != n) {
    std::fprintf(stderr, "handed out %zu of %zu messages\n", handed, n);
    std::exit(1);
  }
  return took;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = 200'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--messages=", 11) == 0)
      n = std::stoul(argv[i] + 11);
    else {
      std::fprintf(stderr, "usage: qtc-bench-rate-gate [--messages=N]\n");
      return 2;
    }
  }
  double bare = 1e100, gated = 1e100;
  for (int run = 0; run < 7; ++run) {
    bare = std::min(bare, seconds_for(n, false));
    gated = std::min(gated, seconds_for(n, true));
  }
  bench::report("bare dispatch (decrypt, frame, decode, hand out)", bare / n * 1e9, "ns/msg");
  bench::report("with rate checks and chunked grants", gated / n * 1e9, "ns/msg");
  bench::report_ratio("checked / bare (goal <= 1.05)", gated / bare);
  return 0;
}

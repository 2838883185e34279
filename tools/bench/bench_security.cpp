// qtc-bench-security: what the security policy costs per attacking address, in memory and time.
//
//   memory — N distinct addresses (random IPv4 /24s, one in eight IPv6 /48s) each record one
//            offence below a ban: this process's heap in use (malloc's own count, mallinfo2)
//            before and after, per tracked entry. Then the same N are each banned: per address,
//            its reputation entry and its ban. The tables' bounds are raised to N for both, so
//            that every address is kept; with the default bounds (65,536 each) the whole table
//            is also reported, as the most an attack can make the policy hold.
//   time   — standing() against N bans plus a few hundred operator subnet bans of several
//            prefix lengths (half the queries are banned addresses, half unknown ones), and
//            record() of a fresh address into a full table (each one evicts an entry), below a
//            ban and up to one. Best of 5 runs each.
//
//   tables — the same N addresses each with a rate budget in use (heap per address) and each
//            reporting an offence and a connection to the attack detectors (their whole
//            tables, bounded per subnet whatever N is).
//
//   qtc-bench-security [--addresses=100000]
#include "bench_util.hpp"
#include "runtime/net/attack_detectors.hpp"
#include "runtime/net/rate_budget.hpp"
#include "runtime/net/security_policy.hpp"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <malloc.h>

using namespace qtc;
using namespace std::chrono_literals;
using bench::best_of;
using bench::report;
using time_point = security_policy::time_point;

namespace {

std::size_t heap_in_use() {
  auto mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/// `n` distinct attacker addresses: random IPv4 in distinct /24s, every eighth an IPv6 address
/// in its own /48.
std::vector<ip_bytes> attackers(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<ip_bytes> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ip_bytes a{};
    auto r = rng();
    if (i % 8 == 7) {
      a[0] = 0x2a;
      for (int b = 1; b < 16; ++b)
        a[b] = static_cast<std::uint8_t>(b < 6 ? i >> (8 * (b - 1)) : rng());
    } else {
      // The /24 is i itself, spread over the space by a multiplier: distinct for n < 2^24.
      auto prefix = static_cast<std::uint32_t>((i * 0x9e3779b1u) & 0xffffff);
      a = ipv4(static_cast<std::uint8_t>(prefix >> 16), static_cast<std::uint8_t>(prefix >> 8),
               static_cast<std::uint8_t>(prefix), static_cast<std::uint8_t>(1 + r % 254));
    }
    out.push_back(a);
  }
  return out;
}

/// `ips` moved to other networks (the first byte of the address flipped by `flip`).
std::vector<ip_bytes> elsewhere(std::vector<ip_bytes> ips, std::uint8_t flip) {
  for (auto& a : ips)
    a[is_ipv4(a) ? 12 : 1] ^= flip;
  return ips;
}

security_policy::config bounds(std::size_t n) {
  security_policy::config cfg;
  cfg.max_tracked_addresses = n;
  cfg.max_bans = n + 1000;
  return cfg;
}

/// Heap bytes per address of `n` addresses each recording `kind` once.
double bytes_per_address(const std::vector<ip_bytes>& ips, offence kind, std::size_t& tracked,
                         std::size_t& bans) {
  auto before = heap_in_use();
  double per = 0;
  {
    security_policy p(bounds(ips.size()));
    time_point now{1h};
    for (const auto& a : ips)
      p.record(a, kind, now += 1ms);
    tracked = p.tracked();
    bans = p.ban_count();
    per = static_cast<double>(heap_in_use() - before) / static_cast<double>(tracked);
  }
  return per;
}

void memory(const std::vector<ip_bytes>& ips) {
  std::size_t tracked = 0, bans = 0;
  auto per_entry = bytes_per_address(ips, offence::rate_exceeded, tracked, bans);
  std::printf("%zu addresses, one offence each: %zu tracked, %zu bans\n", ips.size(), tracked,
              bans);
  report("  heap per tracked address (reputation entry)", per_entry, "bytes");
  auto per_banned = bytes_per_address(ips, offence::invalid_block, tracked, bans);
  std::printf("%zu addresses, each banned: %zu tracked, %zu bans\n", ips.size(), tracked, bans);
  report("  heap per banned address (reputation entry + ban)", per_banned, "bytes");

  auto before = heap_in_use();
  security_policy p;
  time_point now{1h};
  for (const auto& a : ips)
    p.record(a, offence::invalid_block, now += 1ms);
  std::printf("default bounds (%zu tracked, %zu bans): %zu tracked, %zu bans\n",
              p.settings().max_tracked_addresses, p.settings().max_bans, p.tracked(),
              p.ban_count());
  report("  heap of the whole policy at its bounds",
         static_cast<double>(heap_in_use() - before) / (1 << 20), "MB");
}

void timing(const std::vector<ip_bytes>& ips) {
  security_policy p(bounds(ips.size()));
  time_point now{1h};
  for (const auto& a : ips)
    p.record(a, offence::invalid_block, now += 1ms);
  // Operator bans of several prefix lengths: each length in use is one more map lookup.
  for (std::uint8_t i = 0; i < 200; ++i) {
    p.ban(subnet::of(ipv4(100, i, 0, 0), 96 + 16), std::nullopt, "", now);
    p.ban(subnet::of(ipv4(101, i, 7, 0), 96 + 24), std::nullopt, "", now);
    ip_bytes v6{0x20, 0x01, 0x0d, 0xb8, i};
    p.ban(subnet::of(v6, 40), std::nullopt, "", now);
  }
  auto unknown = elsewhere(attackers(ips.size(), 99), 0x80);
  constexpr std::size_t queries = 1'000'000;
  std::size_t banned = 0;
  auto t = best_of(5, [&] {
    banned = 0;
    for (std::size_t i = 0; i < queries; ++i) {
      const auto& a = i % 2 ? ips[i % ips.size()] : unknown[i % unknown.size()];
      banned += p.standing(a, now) >= verdict::ban ? 1 : 0;
    }
  });
  std::printf("standing(): %zu bans, %zu of %zu queries banned\n", p.ban_count(), banned, queries);
  report("  standing() per query", t / queries * 1e9, "ns");

  for (auto [kind, label] :
       {std::pair{offence::rate_exceeded, "  record() per offence, new address, "
                                          "table full (below a ban)"},
        std::pair{offence::invalid_block, "  record() per offence, new address, "
                                          "table full (a ban)"}}) {
    auto fresh = elsewhere(attackers(ips.size(), 7), 0x55);
    double best = 1e100;
    for (int run = 0; run < 5; ++run) {
      security_policy q; // default bounds: full after 65,536, then every record evicts
      time_point at{1h};
      for (const auto& a : ips)
        q.record(a, kind, at += 1ms);
      auto start = std::chrono::steady_clock::now();
      for (const auto& a : fresh)
        q.record(a, kind, at += 1ms);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    report(label, best / static_cast<double>(fresh.size()) * 1e9, "ns");
  }
}

/// The rate budgets and the attack detectors with `ips` each active: heap per address (the
/// budget's bound raised to hold them all) and the detectors' whole tables (bounded per subnet).
void other_tables(const std::vector<ip_bytes>& ips) {
  time_point now{1h};
  auto before = heap_in_use();
  {
    rate_budget::config c;
    c.max_tracked = ips.size();
    rate_budget budget{c};
    for (const auto& ip : ips)
      budget.request(ip, 10, 65536, now);
    report("rate budget: heap per address with a budget in use",
           static_cast<double>(heap_in_use() - before) / static_cast<double>(ips.size()), "bytes");
  }
  before = heap_in_use();
  attack_detectors d;
  for (const auto& ip : ips) {
    d.observe(offence::bad_checksum, ip, now);
    d.observe_connection(ip, now);
  }
  report("attack detectors: whole tables after every address (bounded)",
         static_cast<double>(heap_in_use() - before) / (1 << 20), "MB");
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = 100'000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--addresses=", 0) == 0)
      n = std::stoul(a.substr(12));
  }
  auto ips = attackers(n, 1);
  memory(ips);
  other_tables(ips);
  timing(ips);
  return 0;
}

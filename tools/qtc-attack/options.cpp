#include "options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>

namespace qtc::attack {

namespace {

constexpr attack_info attacks[] = {
    {attack_kind::ping_flood, "ping-flood", handshake_goal::version, true},
    {attack_kind::getheaders_flood, "getheaders-flood", handshake_goal::version, true},
    {attack_kind::getdata_nonreader, "getdata-nonreader", handshake_goal::version, false},
    {attack_kind::getdata_amplify, "getdata-amplify", handshake_goal::version, false},
    {attack_kind::partial_frame, "partial-frame", handshake_goal::version, false},
    {attack_kind::slow_version, "slow-version", handshake_goal::transport, false},
    {attack_kind::no_verack, "no-verack", handshake_goal::transport, false},
    {attack_kind::silent, "silent", handshake_goal::transport, false},
    {attack_kind::junk_handshake, "junk-handshake", handshake_goal::tcp, false},
    {attack_kind::bad_checksum, "bad-checksum", handshake_goal::version, true},
    {attack_kind::unknown_flood, "unknown-flood", handshake_goal::version, true},
    {attack_kind::addr_flood, "addr-flood", handshake_goal::version, true},
    {attack_kind::inv_flood, "inv-flood", handshake_goal::version, true},
    {attack_kind::header_spam, "header-spam", handshake_goal::version, true},
    {attack_kind::low_work_headers, "low-work-headers", handshake_goal::version, true},
    {attack_kind::connection_churn, "connection-churn", handshake_goal::version, true},
    {attack_kind::shared_identity, "shared-identity", handshake_goal::version, false},
};

/// A whole unsigned number in [lo, hi], or nothing.
std::optional<std::uint64_t> parse_uint(const std::string& text, std::uint64_t lo,
                                        std::uint64_t hi) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    return std::nullopt;
  auto v = std::strtoull(text.c_str(), nullptr, 10);
  if (v < lo || v > hi)
    return std::nullopt;
  return v;
}

/// A positive decimal number up to `hi`, or nothing.
std::optional<double> parse_positive(const std::string& text, double hi) {
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos)
    return std::nullopt;
  char* end = nullptr;
  auto v = std::strtod(text.c_str(), &end);
  if (*end != 0 || !std::isfinite(v) || v <= 0 || v > hi)
    return std::nullopt;
  return v;
}

/// "a.b.c.d:port" or "[::1]:port", loopback only: this tool never sends anywhere else.
std::optional<std::string> parse_target(const std::string& text, options& o) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return "expected IP:PORT (IPv6 as [::1]:PORT), got \"" + text + "\"";
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return "expected IP:PORT (IPv6 as [::1]:PORT), got \"" + text + "\"";
  auto port = parse_uint(text.substr(colon + 1), 1, 65535);
  auto ip = parse_ip(host);
  if (!port || !ip)
    return "expected IP:PORT (IPv6 as [::1]:PORT), got \"" + text + "\"";
  if (classify(*ip) != ip_class::loopback)
    return host + " is not a loopback address: qtc-attack only sends to 127.0.0.0/8 and ::1";
  o.target_ip = *ip;
  o.target_port = static_cast<std::uint16_t>(*port);
  return std::nullopt;
}

struct parse_state {
  options o;
  bool attack_given = false;
  bool items_given = false;
};

/// Applies one --key=value; an error sentence naming the option, or nothing.
std::optional<std::string> apply(parse_state& s, const std::string& key, const std::string& value) {
  auto& o = s.o;
  auto number = [&](auto& field, std::uint64_t lo, std::uint64_t hi) -> std::optional<std::string> {
    auto v = parse_uint(value, lo, hi);
    if (!v)
      return key + ": expected a whole number from " + std::to_string(lo) + " to "
             + std::to_string(hi) + ", got \"" + value + "\"";
    field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
    return std::nullopt;
  };
  if (key == "--target") {
    if (auto why = parse_target(value, o))
      return "--target: " + *why;
    return std::nullopt;
  }
  if (key == "--chain-spec") {
    o.chain_spec = value;
  } else if (key == "--attack") {
    auto i = std::find_if(std::begin(attacks), std::end(attacks),
                          [&](const auto& a) { return a.name == value; });
    if (i == std::end(attacks))
      return "--attack: unknown attack \"" + value + "\" (see --help for the list)";
    o.attack = i->kind;
    s.attack_given = true;
  } else if (key == "--sources") {
    return number(o.sources, 1, max_total_connections);
  } else if (key == "--subnets") {
    return number(o.subnets, 1, max_subnets);
  } else if (key == "--first-subnet") {
    return number(o.first_subnet, 1, max_subnets);
  } else if (key == "--connections") {
    return number(o.connections, 1, max_total_connections);
  } else if (key == "--bursts") {
    return number(o.bursts, 1, max_bursts);
  } else if (key == "--items") {
    s.items_given = true;
    return number(o.items, 1, 50000);
  } else if (key == "--bytes") {
    return number(o.bytes, 1, 64ull << 20);
  } else if (key == "--interval-ms") {
    return number(o.interval_ms, 1, 600000);
  } else if (key == "--duration" || key == "--rate") {
    auto v = parse_positive(value, key == "--rate" ? max_rate : max_duration);
    if (!v)
      return key + ": expected a number above 0 and at most "
             + std::to_string(static_cast<int>(key == "--rate" ? max_rate : max_duration))
             + ", got \"" + value + "\"";
    (key == "--rate" ? o.rate : o.duration) = *v;
  } else if (key == "--handshake") {
    if (value != "yes" && value != "no")
      return "--handshake: expected yes or no, got \"" + value + "\"";
    o.handshake = value == "yes";
  } else if (key == "--transport") {
    if (value != "noise" && value != "tls")
      return "--transport: expected noise or tls, got \"" + value + "\"";
    o.transport = value == "tls" ? transport_kind::tls : transport_kind::noise;
  } else if (key == "--key-file") {
    o.key_file = value;
  } else if (key == "--data-dir") {
    o.data_dir = value;
  } else {
    return "unknown option: " + key;
  }
  return std::nullopt;
}

/// The checks that need more than one option.
std::optional<std::string> check(parse_state& s) {
  auto& o = s.o;
  if (!s.attack_given || o.chain_spec.empty() || o.target_port == 0)
    return "--target, --chain-spec and --attack are required";
  if (o.slots() > max_total_connections)
    return "--sources × --connections is " + std::to_string(o.slots()) + ", above the limit of "
           + std::to_string(max_total_connections) + " connections";
  if (o.subnets > o.sources)
    return "--subnets: " + std::to_string(o.subnets) + " subnets need at least as many sources";
  if (o.first_subnet + o.subnets - 1 > max_subnets)
    return "--first-subnet: the subnets 127." + std::to_string(o.first_subnet) + " to 127."
           + std::to_string(o.first_subnet + o.subnets - 1) + " go past 127."
           + std::to_string(max_subnets);
  if (!is_ipv4(o.target_ip) && o.sources > 1)
    return "--sources: an IPv6 target (::1) has one loopback source address";
  auto headers = o.attack == attack_kind::header_spam || o.attack == attack_kind::low_work_headers;
  if (headers && o.items > 2000)
    return "--items: a headers message holds at most 2000 headers";
  if (!o.key_file.empty() && o.attack != attack_kind::shared_identity)
    return "--key-file: only shared-identity uses a key file";
  if (!s.items_given)
    o.items = headers ? 2000 : 50000;
  return std::nullopt;
}

} // namespace

std::string_view to_string(handshake_goal g) {
  switch (g) {
  case handshake_goal::tcp:
    return "tcp";
  case handshake_goal::transport:
    return "transport";
  case handshake_goal::version:
    return "version";
  }
  return "?";
}

const attack_info& info(attack_kind k) {
  return *std::find_if(std::begin(attacks), std::end(attacks),
                       [k](const auto& a) { return a.kind == k; });
}

handshake_goal goal_of(const options& o) {
  if (o.attack == attack_kind::connection_churn && !o.handshake)
    return handshake_goal::tcp;
  return info(o.attack).goal;
}

const char* const usage =
    "usage: qtc-attack --target=IP:PORT --chain-spec=FILE --attack=NAME [options]\n"
    "Runs one attack against one node on loopback, from many loopback source addresses, for a\n"
    "bounded time, and prints what happened as one JSON object on stdout (events on stderr).\n"
    "  --target=IP:PORT     the node: an address in 127.0.0.0/8, or [::1]:PORT\n"
    "  --chain-spec=FILE    the node's chain spec (network magic, limits, genesis)\n"
    "  --attack=NAME        one of:\n"
    "      ping-flood         handshake, then pings at --rate; pongs are counted\n"
    "      getheaders-flood   getheaders from genesis at --rate; headers are counted\n"
    "      getdata-nonreader  learn the chain's hashes, send --bursts getdata of --items blocks,\n"
    "                         then never read again (small receive buffer) and hold\n"
    "      getdata-amplify    the same getdata, reading everything (bytes out vs in)\n"
    "      partial-frame      a frame header announcing the largest payload, --bytes of it, hold\n"
    "      slow-version       after the transport handshake, the version one byte every\n"
    "                         --interval-ms\n"
    "      no-verack          quantumproof and version, never verack, hold\n"
    "      silent             transport handshake, then nothing (no quantumproof), hold\n"
    "      junk-handshake     --bytes of garbage instead of a Noise handshake, hold\n"
    "      bad-checksum       frames with a wrong checksum at --rate\n"
    "      unknown-flood      messages with an unknown command at --rate\n"
    "      addr-flood         addr of 1000 random routable addresses at --rate\n"
    "      inv-flood          inv of --items random transaction hashes at --rate\n"
    "      header-spam        headers (--items, at most 2000) that do not connect, mined\n"
    "                         (easy-target chains only), at --rate\n"
    "      low-work-headers   a new fork from genesis of --items valid headers (mined: "
    "easy-target\n"
    "                         chains only) in each headers message, at --rate\n"
    "      connection-churn   connect, handshake (unless --handshake=no), disconnect, at --rate\n"
    "      shared-identity    every connection with the same static key (--key-file), hold\n"
    "  --sources=N          distinct source addresses, 1-1000 (default 1)\n"
    "  --subnets=K          spread the sources over K /16s, 127.F.y.z to 127.(F+K-1).y.z; each\n"
    "                       fills a /24 before the next (default 1)\n"
    "  --first-subnet=F     the first of those /16s (default 1): runs against one node from\n"
    "                       different addresses\n"
    "  --connections=N      connections per source (default 1; at most 1000 in all)\n"
    "  --duration=SECONDS   how long the attack runs, at most 600 (default 10)\n"
    "  --rate=PER_SECOND    messages (churn: connections) per second per connection (default 10)\n"
    "  --bursts=B           getdata messages per connection (default 1)\n"
    "  --items=M            entries per getdata/inv (default 50000) or headers (default 2000)\n"
    "  --bytes=N            partial-frame: payload bytes sent (default 1 MiB); junk-handshake:\n"
    "                       garbage bytes (default 65537, enough to finish any Noise message)\n"
    "  --interval-ms=MS     slow-version: between two bytes (default 2000)\n"
    "  --handshake=yes|no   connection-churn: complete the handshake first (default yes)\n"
    "  --key-file=FILE      shared-identity: a node.key (32-byte seed); default a fixed key\n"
    "  --data-dir=DIR       getdata-*: read the block hashes from DIR/chain instead of asking\n"
    "  --transport=noise|tls  the transport handshake (default noise, the node's default)\n"
    "  --help               this text\n"
    "Exit 0 when the attack ran, 1 when the target could not be reached at all, 2 on bad\n"
    "arguments.\n";

std::variant<options, int> parse_options(int argc, char** argv) {
  parse_state s;
  auto bad = [](const std::string& why) -> int {
    std::cerr << "qtc-attack: " << why << "\n" << usage;
    return exit_usage;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq + 1 == arg.size())
      return bad("unknown option or missing value: " + arg);
    if (auto why = apply(s, arg.substr(0, eq), arg.substr(eq + 1)))
      return bad(*why);
  }
  if (auto why = check(s))
    return bad(*why);
  return s.o;
}

ip_bytes source_address(const options& o, unsigned index) {
  if (!is_ipv4(o.target_ip))
    return o.target_ip; // ::1, the only IPv6 loopback address
  auto subnet = index % o.subnets;
  auto host = index / o.subnets;
  return ipv4(127, static_cast<std::uint8_t>(o.first_subnet + subnet),
              static_cast<std::uint8_t>(host / 254), static_cast<std::uint8_t>(1 + host % 254));
}

} // namespace qtc::attack

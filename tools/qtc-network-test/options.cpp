#include "options.hpp"

#include "runtime/config/node_options.hpp"

#include <charconv>
#include <iostream>

namespace qtc::nettest {

const char* const usage =
    "usage: qtc-network-test --chain-spec=FILE [--dns-servers=IP:PORT,...] [--peers=N]\n"
    "                        [--timeout=S] [--connect=ADDR,...] [--transports=noise,tls] [--json]\n"
    "Validates a live QuantumCoin network as an operator does before and after a deployment:\n"
    "resolves every DNS seed of the chain spec (A, AAAA, SRV, TXT), connects to peers found over\n"
    "each transport, completes the handshake and QuantumProof, asks for addresses and for the\n"
    "headers from genesis, checks them, and prints a table and a verdict.\n"
    "  --chain-spec=FILE       the network's chain spec\n"
    "  --dns-servers=LIST      resolvers to ask (IPv6 as [addr]:port); default: /etc/resolv.conf\n"
    "  --peers=N               connect to at most N of the addresses found (default 8; 0: none)\n"
    "  --timeout=S             seconds each step may take: a DNS query, a connect, a handshake,\n"
    "                          an answer (default 10)\n"
    "  --connect=LIST          more peers to test, as the node's --qtcnode.connect takes them\n"
    "                          ([tls:][<node id>@]host:port; a host must be an address)\n"
    "  --transports=LIST       noise (hybrid, post-quantum) and/or tls (default both)\n"
    "  --json                  one JSON document instead of the table\n"
    "Exit: 0 healthy, 1 degraded (the failed checks are named), 2 bad arguments or chain spec.\n";

namespace {

template <class T>
bool parse_number(const std::string& text, T& out, T min, T max) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    return false;
  out = v;
  return true;
}

/// Sets one option from `key`/`value`; an error sentence if it is not one or malformed.
std::optional<std::string> apply(options& o, const std::string& key, const std::string& value) {
  if (key == "--chain-spec") {
    o.chain_spec_file = value;
  } else if (key == "--dns-servers") {
    o.dns_servers = split_list(value);
  } else if (key == "--peers") {
    if (!parse_number<std::size_t>(value, o.peers, 0, 1000))
      return "--peers: expected a number from 0 to 1000, got \"" + value + "\"";
  } else if (key == "--timeout") {
    unsigned seconds = 0;
    if (!parse_number<unsigned>(value, seconds, 1, 3600))
      return "--timeout: expected seconds from 1 to 3600, got \"" + value + "\"";
    o.timeout = std::chrono::seconds{seconds};
  } else if (key == "--connect") {
    for (const auto& word : split_list(value)) {
      std::string error;
      auto entry = parse_address_entry(word, error);
      if (!entry)
        return "--connect: \"" + word + "\": " + error;
      if (!parse_ip(entry->host))
        return "--connect: \"" + word + "\": the host must be an IP address";
      o.connect.push_back(*entry);
    }
  } else if (key == "--transports") {
    o.transports.clear();
    for (const auto& word : split_list(value)) {
      if (word == "noise")
        o.transports.push_back(transport_kind::noise);
      else if (word == "tls")
        o.transports.push_back(transport_kind::tls);
      else
        return "--transports: expected noise and/or tls, got \"" + word + "\"";
    }
    if (o.transports.empty())
      return "--transports: name at least one of noise, tls";
  } else {
    return "unknown option: " + key;
  }
  return std::nullopt;
}

} // namespace

std::variant<options, int> parse_options(int argc, char** argv) {
  options o;
  auto bad = [](const std::string& why) -> int {
    std::cerr << "qtc-network-test: " << why << "\n" << usage;
    return exit_usage;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq + 1 == arg.size())
      return bad("expected --option=value, got \"" + arg + "\"");
    if (auto error = apply(o, arg.substr(0, eq), arg.substr(eq + 1)))
      return bad(*error);
  }
  if (o.chain_spec_file.empty())
    return bad("--chain-spec is required");
  return o;
}

} // namespace qtc::nettest

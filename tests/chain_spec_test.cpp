// Chain spec loading: the shipped specs, and every class of mistake reported as
// `file:line: key: what`.
#include "runtime/chain/chain_spec.hpp"
#include "runtime/chain/genesis.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

using namespace qtc;

namespace {

const std::filesystem::path config_dir = std::filesystem::path{QTC_SOURCE_DIR} / "config";

std::string regtest_text() {
  std::ifstream in{config_dir / "regtest.toml"};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// The 1-based line of the first occurrence of `needle` in `text`.
std::size_t line_of(const std::string& text, const std::string& needle) {
  auto pos = text.find(needle);
  REQUIRE_MESSAGE(pos != std::string::npos, needle);
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
}

/// The regtest spec with one edit.
std::string edited(const std::string& from, const std::string& to) {
  auto text = regtest_text();
  auto pos = text.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, from);
  text.replace(pos, from.size(), to);
  return text;
}

/// The errors of a text as "file:line: key: what" strings.
std::vector<std::string> errors_of(const std::string& text) {
  auto result = parse_chain_spec(text, "spec.toml");
  CHECK_FALSE(result.spec);
  std::vector<std::string> out;
  for (auto& e : result.errors)
    out.push_back(e.to_string());
  return out;
}

std::string at(std::size_t line, const std::string& rest) {
  return "spec.toml:" + std::to_string(line) + ": " + rest;
}

} // namespace

TEST_CASE("the shipped chain specs load") {
  auto regtest = load_chain_spec(config_dir / "regtest.toml");
  for (auto& e : regtest.errors)
    FAIL_CHECK(e.to_string());
  REQUIRE(regtest.spec);
  CHECK(regtest.spec->network == "regtest");
  CHECK(regtest.spec->magic == std::array<std::uint8_t, 4>{'Q', 'T', 'C', 'M'});
  CHECK(regtest.spec->protocol_version == 70015);
  CHECK(regtest.spec->default_port == 18444);
  CHECK(regtest.spec->max_connections == 125);
  CHECK(regtest.spec->connection_timeout == std::chrono::seconds{5});
  CHECK(regtest.spec->max_message_size == 4'000'000);
  CHECK(regtest.spec->allow_private_addresses);
  REQUIRE(regtest.spec->bootstrap_nodes.size() == 1);
  CHECK(regtest.spec->bootstrap_nodes[0].host == "127.0.0.1");
  CHECK(regtest.spec->bootstrap_nodes[0].port == 18444);
  CHECK(regtest.spec->genesis_bits == 0x207fffff);
  CHECK(regtest.spec->retarget_interval == 0);
  CHECK(regtest.spec->max_connections_per_ip == 3);
  CHECK(regtest.spec->max_connections_per_subnet == 10);
  CHECK(regtest.spec->max_messages_per_minute == 100);
  CHECK(regtest.spec->max_bytes_per_minute == 1'000'000);

  auto mainnet = load_chain_spec(config_dir / "mainnet.toml");
  for (auto& e : mainnet.errors)
    FAIL_CHECK(e.to_string());
  REQUIRE(mainnet.spec);
  CHECK(mainnet.spec->default_port == 8333);
  CHECK(mainnet.spec->dns_seeds.size() == 4);
  CHECK(mainnet.spec->dns_seeds[0] == "seed1.quantumcoin.network");
  CHECK_FALSE(mainnet.spec->allow_private_addresses);
  CHECK(mainnet.spec->retarget_interval == 2016);
  // Mainnet's genesis is mined: the pinned hash matches and meets bits 0x1d00ffff.
  CHECK(mainnet.spec->genesis_hash_hex
        == "0000000017bb2fddc16046eac0e7dca3edd8535435bf885cbc0605e4f6a60cfe");
  auto problem = check_genesis(*mainnet.spec);
  CHECK_MESSAGE(!problem, (problem ? problem->to_string() : ""));
  // The NAT mapper: on for mainnet with public STUN servers, off in the offline regtest demo.
  CHECK(mainnet.spec->nat.enabled);
  CHECK(mainnet.spec->nat.stun_servers.size() == 3);
  CHECK(mainnet.spec->nat.lease_time == std::chrono::seconds{1200});
  CHECK_FALSE(regtest.spec->nat.enabled);
}

TEST_CASE("the [nat] table is optional and checked like the rest") {
  auto text = regtest_text();
  auto without = text.substr(0, text.find("\n[nat]"));
  auto plain = parse_chain_spec(without, "spec.toml");
  REQUIRE(plain.spec);
  CHECK_FALSE(plain.spec->nat.enabled);
  auto with = [&](const std::string& table) { return without + "\n[nat]\n" + table; };
  auto ok = parse_chain_spec(with("enabled = true\nstun_servers = [\"stun.example.org:3478\", "
                                  "\"[2001:db8::1]:3478\"]\nupnp = false\nlease_time = 60\n"),
                             "spec.toml");
  REQUIRE(ok.spec);
  CHECK(ok.spec->nat.stun_servers.size() == 2);
  CHECK_FALSE(ok.spec->nat.upnp);
  CHECK(ok.spec->nat.pcp); // defaults for what is not given
  CHECK(ok.spec->nat.lease_time == std::chrono::seconds{60});
  auto nat_line =
      1 + static_cast<std::size_t>(std::count(without.begin(), without.end(), '\n')) + 1;
  struct mistake {
    std::string table;
    std::string expected;
  };
  for (const auto& m : std::vector<mistake>{
           {"enabled = true\nstun_servers = []\n",
            at(nat_line + 2, "nat.stun_servers: must name at least one server when nat.enabled "
                             "and nat.stun are true")},
           {"enabled = true\nstun_servers = [\"stun.example.org\"]\n",
            at(nat_line + 2, "nat.stun_servers[0]: \"stun.example.org\": must be "
                             "[tls:][<pubkey>@]host:port, with [IPv6]:port for IPv6")},
           {"enabled = true\nstun_servers = [\"tls:stun.example.org:3478\"]\n",
            at(nat_line + 2, "nat.stun_servers[0]: \"tls:stun.example.org:3478\": a STUN server "
                             "is \"host:port\", without tls: or a key")},
           {"enabled = true\nstun_servers = [\"a.example:1\"]\nlease_time = 2\n",
            at(nat_line + 3, "nat.lease_time: must be in [4, 604800], got 2")},
           {"enabled = \"yes\"\nstun_servers = []\n",
            at(nat_line + 1, "nat.enabled: expected a boolean, got a string")},
           {"stun_servers = []\n", at(nat_line, "nat.enabled: missing")},
           {"enabled = false\nstun_servers = []\nstun_server = 1\n",
            at(nat_line + 3, "nat.stun_server: unknown key")},
       }) {
    CAPTURE(m.table);
    auto errors = errors_of(with(m.table));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == m.expected);
  }
}

TEST_CASE("each mistake is reported as file:line: key: what") {
  auto text = regtest_text();
  auto port_line = line_of(text, "default_port = 18444");
  struct mistake {
    const char* name;
    std::string text;
    std::string expected;
  };
  std::vector<mistake> mistakes{
      {"wrong type", edited("default_port = 18444", "default_port = \"18444\""),
       at(port_line, "network_protocol.default_port: expected an integer, got a string")},
      {"out of range", edited("default_port = 18444", "default_port = 70000"),
       at(port_line, "network_protocol.default_port: must be in [1, 65535], got 70000")},
      {"missing key", edited("max_connections = 125\n", ""),
       at(line_of(text, "[network_protocol]"), "network_protocol.max_connections: missing")},
      {"missing table", edited("[dos]", "[dos_limits]"), ""},
      {"unknown key",
       edited("max_connections = 125\n", "max_connections = 125\nmax_conections = 12\n"),
       at(line_of(text, "max_connections = 125") + 1,
          "network_protocol.max_conections: unknown key")},
      {"bad magic length",
       edited("magic_bytes = [0x51, 0x54, 0x43, 0x4D]", "magic_bytes = [0x51, 0x54, 0x43]"),
       at(line_of(text, "magic_bytes"),
          "network_protocol.magic_bytes: must have exactly 4 elements, got 3")},
      {"magic byte out of range",
       edited("magic_bytes = [0x51, 0x54, 0x43, 0x4D]", "magic_bytes = [0x51, 0x54, 0x43, 0x14D]"),
       at(line_of(text, "magic_bytes"),
          "network_protocol.magic_bytes[3]: must be in [0, 255], got 333")},
      {"bad bootstrap node", edited("\"127.0.0.1:18444\"", "\"127.0.0.1\""),
       at(line_of(text, "bootstrap_nodes"),
          "discovery.bootstrap_nodes[0]: \"127.0.0.1\": must be "
          "[tls:][<pubkey>@]host:port, with [IPv6]:port for IPv6")},
      {"bad pinned key", edited("\"127.0.0.1:18444\"", "\"abcd@127.0.0.1:18444\""),
       at(line_of(text, "bootstrap_nodes"),
          "discovery.bootstrap_nodes[0]: \"abcd@127.0.0.1:18444\": the public key before '@' must "
          "be 64 hex characters")},
      {"bad seed host name", edited("\"seed2.regtest.quantumcoin.test\"", "\"seed 2.example\""),
       at(line_of(text, "dns_seeds"),
          "discovery.dns_seeds[1]: \"seed 2.example\" is not a valid DNS host name")},
      {"min version above version",
       edited("min_protocol_version = 70015", "min_protocol_version = 70016"),
       at(line_of(text, "min_protocol_version"), "network_protocol.min_protocol_version: must not "
                                                 "exceed protocol_version (70015), got 70016")},
      {"subnet limit below per-ip limit",
       edited("max_connections_per_subnet = 10", "max_connections_per_subnet = 2"),
       at(line_of(text, "max_connections_per_subnet"),
          "dos.max_connections_per_subnet: must be at least max_connections_per_ip (3), got 2")},
      {"even median window", edited("median_time_span = 11", "median_time_span = 10"),
       at(line_of(text, "median_time_span"),
          "proof_of_work.median_time_span: must be odd, got 10")},
      {"bad pow limit", edited("pow_limit = \"7fffff", "pow_limit = \"zzffff"),
       at(line_of(text, "pow_limit"),
          "proof_of_work.pow_limit: must be 64 hex characters (a big-endian 256-bit target)")},
      {"bad minimum chain work", edited("minimum_chain_work = \"0000", "minimum_chain_work = \"00"),
       at(line_of(text, "minimum_chain_work"),
          "proof_of_work.minimum_chain_work: must be 64 hex characters (a big-endian 256-bit "
          "amount of work)")},
      {"syntax error", edited("max_connections = 125", "max_connections = = 125"), ""},
  };
  for (const auto& m : mistakes) {
    CAPTURE(m.name);
    auto errors = errors_of(m.text);
    REQUIRE(errors.size() >= 1);
    if (std::string{m.name} == "missing table") {
      CHECK(std::find(errors.begin(), errors.end(), at(1, "dos: missing table [dos]"))
            != errors.end());
      CHECK(std::find(errors.begin(), errors.end(),
                      at(line_of(m.text, "[dos_limits]"), "dos_limits: unknown key"))
            != errors.end());
    } else if (std::string{m.name} == "syntax error") {
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].rfind(at(line_of(text, "max_connections = 125"), ""), 0) == 0);
    } else {
      CHECK(errors.size() == 1);
      CHECK(errors[0] == m.expected);
    }
  }
}

TEST_CASE("all problems in a file are reported, in file order") {
  auto text = regtest_text();
  auto broken = text;
  auto swap = [&](const std::string& from, const std::string& to) {
    broken.replace(broken.find(from), from.size(), to);
  };
  swap("ban_duration = 86400", "ban_duration = 1");
  swap("default_port = 18444", "default_port = 0");
  swap("name = \"regtest\"", "name = \"Reg Test\"");
  auto errors = errors_of(broken);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0]
        == at(line_of(text, "name = \"regtest\""),
              "chain.name: must be 1 to 32 characters of a-z, 0-9, '_' or '-', got \"Reg Test\""));
  CHECK(errors[1]
        == at(line_of(text, "default_port"),
              "network_protocol.default_port: must be in [1, 65535], got 0"));
  CHECK(errors[2]
        == at(line_of(text, "ban_duration"), "dos.ban_duration: must be in [60, 31536000], got 1"));
}

TEST_CASE("an unreadable file is one clear error") {
  auto missing = load_chain_spec("/nonexistent/spec.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string()
        == "/nonexistent/spec.toml: cannot read: No such file or directory");
  auto directory = load_chain_spec(config_dir);
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].to_string() == config_dir.string() + ": cannot read: is a directory");
}

TEST_CASE("address entries") {
  std::string err;
  auto v6 = parse_address_entry("[::1]:18444", err);
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 18444);
  auto pinned = parse_address_entry(std::string(64, 'a') + "@node.example:8333", err);
  REQUIRE(pinned);
  CHECK(pinned->pubkey_hex == std::string(64, 'a'));
  CHECK(pinned->host == "node.example");
  CHECK_FALSE(pinned->tls_only);
  auto tls = parse_address_entry("tls:" + std::string(64, 'b') + "@[2001:db8::1]:18444", err);
  REQUIRE(tls);
  CHECK(tls->tls_only);
  CHECK(tls->pubkey_hex == std::string(64, 'b'));
  CHECK(tls->host == "2001:db8::1");
  CHECK_FALSE(parse_address_entry("abc@1.2.3.4:1", err));
  CHECK_FALSE(parse_address_entry("host:0", err));
  CHECK_FALSE(parse_address_entry("host:65536", err));
  CHECK_FALSE(parse_address_entry("::1:8333", err));
  CHECK_FALSE(parse_address_entry("[zz]:8333", err));
  CHECK(is_valid_hostname("seed1.quantumcoin.network"));
  CHECK(is_valid_hostname("seed1.quantumcoin.network."));
  CHECK_FALSE(is_valid_hostname("-bad.example"));
  CHECK_FALSE(is_valid_hostname("a..b"));
  CHECK_FALSE(is_valid_hostname(std::string(64, 'a') + ".example"));
}

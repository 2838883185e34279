// The end-to-end network the e2e suites share: a real dnsmasq answering the chain spec's seed
// names, four qtcnode processes serving a 10,000-block chain on 127.0.<subnet>.11-14, and a fresh
// node on .20 (tests/e2e_test.cpp, tests/health_e2e_test.cpp). Each case uses its own subnet.
#pragma once

#include "support/process.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/socket.h>

namespace qtc::test {

using namespace std::chrono_literals;

inline const std::string qtcnode = QTCNODE_BINARY;
inline const std::string chaingen = QTC_CHAINGEN_BINARY;
inline const std::string badpeer = QTC_BADPEER_BINARY;
inline const std::filesystem::path source_dir = QTC_SOURCE_DIR;
inline const std::string dnsmasq = "/usr/sbin/dnsmasq";
inline constexpr int chain_length = 10000;

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// The chain every serving node holds: generated once per test process, copied per node.
inline const std::filesystem::path& generated_chain(std::string& tip) {
  static temp_dir dir;
  static std::string chain_tip;
  if (chain_tip.empty()) {
    auto r = run_to_completion(chaingen,
                               {"--chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
                                "--blocks=" + std::to_string(chain_length), "--txs=2",
                                "--data-dir=" + dir.path().string()},
                               300s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex{"tip ([0-9a-f]{64})"}));
    chain_tip = m[1];
  }
  tip = chain_tip;
  return dir.path();
}

/// A network of serving nodes, a DNS server, and a fresh node.
struct e2e_network {
  int subnet; ///< 127.0.<subnet>.0/24
  temp_dir dir;
  std::string tip;
  std::uint16_t dns_port = free_loopback_port(SOCK_DGRAM);
  std::unique_ptr<child_process> dns;
  std::vector<std::unique_ptr<child_process>> serving;
  std::unique_ptr<child_process> fresh;
  std::unique_ptr<child_process> bad; ///< qtc-badpeer on .15, when started
  std::filesystem::path spec_file;

  explicit e2e_network(int subnet) : subnet(subnet) {
    auto chain = generated_chain(tip);
    for (int i = 1; i <= 4; ++i) {
      auto data = dir.path() / ("serving" + std::to_string(i));
      std::filesystem::create_directories(data);
      std::filesystem::copy(chain / "chain", data / "chain",
                            std::filesystem::copy_options::recursive);
    }
    write_spec({}, 10);
  }

  ~e2e_network() {
    for (auto* p : {&fresh, &dns, &bad})
      if (*p)
        (*p)->signal(SIGKILL);
    for (auto& s : serving)
      if (s)
        s->signal(SIGKILL);
  }

  std::string ip(int host) const {
    return "127.0." + std::to_string(subnet) + "." + std::to_string(host);
  }

  /// The shipped regtest spec with these bootstrap nodes, fallback delay and (optionally) an
  /// extra seed name put first.
  void write_spec(const std::vector<std::string>& bootstrap, int fallback_after,
                  const std::string& extra_seed = "") {
    auto text = read_text(source_dir / "config" / "regtest.toml");
    std::string nodes;
    for (const auto& b : bootstrap)
      nodes += (nodes.empty() ? "\"" : ", \"") + b + "\"";
    text = std::regex_replace(text, std::regex{"bootstrap_nodes = \\[[^\\]]*\\]"},
                              "bootstrap_nodes = [" + nodes + "]");
    text = std::regex_replace(text, std::regex{"dns_fallback_after = [0-9]+"},
                              "dns_fallback_after = " + std::to_string(fallback_after));
    if (!extra_seed.empty())
      text = std::regex_replace(text, std::regex{"dns_seeds = \\["},
                                "dns_seeds = [\"" + extra_seed + "\", ");
    spec_file = dir.write("regtest.toml", text);
  }

  /// dnsmasq answering the spec's seed names: seed1 A -> serving 1 and 2 (and the bad peer on
  /// .15 with `with_bad_peer`); seed2 SRV -> a name of serving 3; seed2 TXT -> serving 4 by
  /// address. With `empty`, it knows no name at all.
  void start_dns(bool empty = false, bool with_bad_peer = false) {
    std::vector<std::string> args{"--keep-in-foreground",
                                  "--no-resolv",
                                  "--no-hosts",
                                  "--port=" + std::to_string(dns_port),
                                  "--listen-address=127.0.0.1",
                                  "--bind-interfaces",
                                  "--local=/quantumcoin.test/",
                                  "--local-ttl=60",
                                  "--log-queries",
                                  "--log-facility=-"};
    if (!empty) {
      args.push_back("--host-record=seed1.regtest.quantumcoin.test," + ip(11));
      args.push_back("--host-record=seed1.regtest.quantumcoin.test," + ip(12));
      if (with_bad_peer)
        args.push_back("--host-record=seed1.regtest.quantumcoin.test," + ip(15));
      args.push_back("--host-record=node3.regtest.quantumcoin.test," + ip(13));
      args.push_back("--srv-host=seed2.regtest.quantumcoin.test,node3.regtest.quantumcoin.test,"
                     "18444");
      args.push_back("--txt-record=seed2.regtest.quantumcoin.test," + ip(14) + ":18444");
    }
    REQUIRE(std::filesystem::exists(dnsmasq));
    dns = std::make_unique<child_process>(dnsmasq, args, dir.path() / "dnsmasq.log");
    REQUIRE_MESSAGE(dns->wait_for_line("started", 10s), dns->output());
  }

  std::vector<std::string> node_args(const std::string& data, const std::string& host,
                                     const std::string& dns_servers) {
    return {"--qtcnode.chain-spec=" + spec_file.string(),
            "--qtcnode.data-dir=" + (dir.path() / data).string(),
            "--qtcnode.p2p-host=" + host,
            "--qtcnode.p2p-port=18444",
            "--qtcnode.metrics-port=-1",
            "--qtcnode.rpc-port=0",
            "--qtcnode.dns-servers=" + dns_servers,
            "--qtcnode.log-level=info",
            "--scheduler.max-threads=2"};
  }

  std::string dns_server() const {
    return "127.0.0.1:" + std::to_string(dns_port);
  }

  void start_serving() {
    for (int i = 1; i <= 4; ++i) {
      auto name = "serving" + std::to_string(i);
      // Serving nodes know each other only through DNS too; they need nobody, so no slots.
      auto args = node_args(name, ip(10 + i), dns_server());
      args.push_back("--qtcnode.outbound-full-relay=0");
      args.push_back("--qtcnode.outbound-block-relay=0");
      serving.push_back(
          std::make_unique<child_process>(qtcnode, args, dir.path() / (name + ".log")));
      auto loaded = serving.back()->wait_for_line("msg=\"chain loaded\"", 30s);
      REQUIRE_MESSAGE(loaded, serving.back()->output());
      CHECK(field_value(*loaded, "blocks") == std::to_string(chain_length));
    }
  }

  /// qtc-badpeer on .15:18444 with its own copy of the chain, serving it with the header at
  /// `bad_height` corrupted as `mode` says.
  void start_bad_peer(const std::string& mode, int bad_height) {
    auto data = dir.path() / "badpeer";
    std::filesystem::create_directories(data);
    std::string unused;
    std::filesystem::copy(generated_chain(unused) / "chain", data / "chain",
                          std::filesystem::copy_options::recursive);
    bad = std::make_unique<child_process>(
        badpeer,
        std::vector<std::string>{"--chain-spec=" + spec_file.string(),
                                 "--data-dir=" + data.string(), "--listen=" + ip(15) + ":18444",
                                 "--corrupt=" + mode, "--bad-height=" + std::to_string(bad_height)},
        dir.path() / "badpeer.log");
    REQUIRE_MESSAGE(bad->wait_for_line("listening on", 60s), bad->output());
  }

  void start_fresh(const std::string& dns_servers, const std::vector<std::string>& more = {}) {
    auto args = node_args("fresh", ip(20), dns_servers);
    args.insert(args.end(), more.begin(), more.end());
    fresh = std::make_unique<child_process>(qtcnode, args, dir.path() / "fresh.log");
  }

  /// Waits for the fresh node's "sync complete" at the chain's tip.
  void expect_synced(std::chrono::seconds limit = 180s) {
    auto done = fresh->wait_for_line("msg=\"sync complete\"", limit);
    REQUIRE_MESSAGE(done, fresh->output());
    CHECK(field_value(*done, "height") == std::to_string(chain_length));
    CHECK(field_value(*done, "tip") == tip);
  }

  /// The fresh node's log lines that contain both `a` and `b`.
  std::vector<std::string> lines_with(const std::string& a, const std::string& b) const {
    std::vector<std::string> out;
    std::istringstream lines{fresh->output()};
    for (std::string line; std::getline(lines, line);)
      if (line.find(a) != std::string::npos && line.find(b) != std::string::npos)
        out.push_back(line);
    return out;
  }

  std::size_t count(const std::string& needle) const {
    auto text = fresh->output();
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
    return n;
  }
};

} // namespace qtc::test

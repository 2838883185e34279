// qtc-badpeer, the misbehaving peer of the e2e tests: every corruption mode yields a header the
// real header tree rejects for that mode's reason (the tool checks this itself before it serves;
// here the check is seen to run and to name the reason), and bad arguments are refused clearly.
// Serving the chain to a real node is covered by tests/e2e_test.cpp.
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <unistd.h>

using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

const std::string badpeer = QTC_BADPEER_BINARY;
const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
const std::string regtest_spec = (source_dir / "config" / "regtest.toml").string();

/// A data directory holding a 40-block chain.
struct chain_dir {
  temp_dir dir;
  chain_dir() {
    auto r = run_to_completion(chaingen, {"--chain-spec=" + regtest_spec, "--blocks=40",
                                          "--data-dir=" + dir.path().string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
  std::vector<std::string> args(std::vector<std::string> more) const {
    more.insert(more.begin(),
                {"--chain-spec=" + regtest_spec, "--data-dir=" + dir.path().string()});
    return more;
  }
};

/// The line of `output` that reports the check (logfmt-like fields), empty if there is none.
std::string checked_line(const std::string& output) {
  auto start = output.find("qtc-badpeer: checked ");
  if (start == std::string::npos)
    return {};
  return output.substr(start, output.find('\n', start) - start);
}

} // namespace

TEST_SUITE("process") {

  TEST_CASE("qtc-badpeer: each corruption mode is rejected by the header tree for its reason") {
    chain_dir chain;
    for (auto [mode, rejection] :
         {std::pair{"pow", "bad_proof_of_work"}, std::pair{"difficulty", "bad_difficulty"},
          std::pair{"time", "time_too_old"}, std::pair{"gap", "unknown_parent"}}) {
      CAPTURE(mode);
      auto r = run_to_completion(
          badpeer, chain.args({"--corrupt=" + std::string{mode}, "--bad-height=17", "--check"}));
      CHECK_MESSAGE(r.exit_code == 0, r.output);
      CHECK(field_value(checked_line(r.output), "rejection") == rejection);
      CHECK(field_value(checked_line(r.output), "bad_height") == "17");
    }
    // Without --bad-height: half the stored chain.
    auto r = run_to_completion(badpeer, chain.args({"--check"}));
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(field_value(checked_line(r.output), "corrupt") == "pow");
    CHECK(field_value(checked_line(r.output), "bad_height") == "20");
  }

  TEST_CASE("qtc-badpeer: --help, bad options (exit 2) and unusable chains (exit 1)") {
    auto help = run_to_completion(badpeer, {"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("--corrupt=MODE") != std::string::npos);
    chain_dir chain;
    struct bad_case {
      std::vector<std::string> args;
      int exit_code;
      std::string says;
    };
    for (const auto& c : std::vector<bad_case>{
             {{}, 2, "--chain-spec and --data-dir are required"},
             {chain.args({}), 2, "--listen is required"},
             {chain.args({"--check", "--corrupt=nonsense"}), 2, "--corrupt: expected pow"},
             {chain.args({"--check", "--bad-height=1"}), 2, "--bad-height: expected a height"},
             {chain.args({"--check", "--bad-height=x"}), 2, "--bad-height: expected a height"},
             {chain.args({"--listen=127.0.0.1"}), 2, "--listen: expected IP:PORT"},
             {chain.args({"--listen=::1:9000"}), 2, "--listen: expected IP:PORT"},
             {chain.args({"--check", "--frobnicate"}), 2, "unknown option"},
             {chain.args({"--check", "--bad-height=41"}), 1, "above the stored chain's tip (40)"},
         }) {
      CAPTURE(c.says);
      auto r = run_to_completion(badpeer, c.args);
      CHECK(r.exit_code == c.exit_code);
      CHECK_MESSAGE(r.output.find(c.says) != std::string::npos, r.output);
    }
    // A directory without a chain, and a port that is taken.
    temp_dir empty;
    auto none = run_to_completion(badpeer, {"--chain-spec=" + regtest_spec,
                                            "--data-dir=" + empty.path().string(), "--check"});
    CHECK(none.exit_code == 1);
    CHECK_MESSAGE(none.output.find("holds no chain") != std::string::npos, none.output);
    int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(taken, 1) == 0);
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len);
    auto busy = run_to_completion(
        badpeer, chain.args({"--listen=127.0.0.1:" + std::to_string(ntohs(a.sin_port))}));
    ::close(taken);
    CHECK(busy.exit_code == 1);
    CHECK_MESSAGE(busy.output.find("cannot listen on 127.0.0.1:") != std::string::npos,
                  busy.output);
  }
}

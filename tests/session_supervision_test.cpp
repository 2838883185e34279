// Peer sessions are owned by their peer manager: a manager that fails takes its sessions with it,
// the supervisor restarts it, and the node reconnects and finishes its sync. On real sockets: a
// serving qtcnode process on loopback, and the fresh node's whole production tree in this
// process, so that its actors can be counted and its peer manager killed.
#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "messages/components.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/config/node_options.hpp"
#include "runtime/transport/node_identity.hpp"
#include "support/process.hpp"

#include <botan/system_rng.h>
#include <caf/actor_registry.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex>
#include <sys/socket.h>
#include <thread>

#include <unistd.h>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

const std::string qtcnode = QTCNODE_BINARY;
const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
constexpr int chain_length = 10000;

/// The fresh node: the production tree (make_node_tree) in this process, connecting only to
/// `peer`, metrics and inspector off, discovery pointed at a resolver that does not answer.
struct fresh_node {
  node_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervisor_actor root;

  fresh_node(const std::filesystem::path& data_dir, const std::string& peer) {
    cfg.load<caf::io::middleman>();
    cfg.set("logger.console", caf::atom("none"));
    cfg.set("scheduler.max-threads", 2);
    cfg.set("qtcnode.log-level", "warning");
    sys = std::make_unique<caf::actor_system>(cfg);
    node_options options;
    options.data_dir = data_dir;
    options.chain_spec = source_dir / "config" / "regtest.toml";
    options.p2p_any_port = true;
    options.metrics_enabled = false;
    options.connect = {peer};
    options.dns_servers = {"127.0.0.1:1"};
    auto loaded = load_chain_spec(options.chain_spec);
    REQUIRE(loaded.spec);
    std::string error;
    Botan::System_RNG rng;
    std::filesystem::create_directories(data_dir);
    auto identity = node_identity::load_or_create(data_dir / "node.key", rng, error);
    REQUIRE_MESSAGE(identity, error);
    root = sys->spawn(supervisor,
                      make_node_tree(options, *loaded.spec,
                                     std::make_shared<const node_identity>(std::move(*identity))),
                      supervisor_actor{});
  }

  ~fresh_node() {
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  }

  /// The running child of the root that implements Handle.
  template <class Handle>
  Handle find() {
    caf::scoped_actor self{*sys};
    Handle result;
    self->request(root, 5s, whereis_atom::value, std::string{component<Handle>::name})
        .receive([&](const caf::actor& a) { result = caf::actor_cast<Handle>(a); },
                 [](const caf::error&) {});
    return result;
  }

  /// The status report of the running child that implements Handle (empty if none answers).
  template <class Handle>
  status_report status() {
    caf::scoped_actor self{*sys};
    status_report result;
    if (auto handle = find<Handle>())
      self->request(handle, 5s, status_atom::value, status_verbosity::info)
          .receive([&](status_report& r) { result = std::move(r); }, [](const caf::error&) {});
    return result;
  }

  std::int64_t number(const status_report& r, const char* key) {
    return caf::get_or(r, key, caf::config_value::integer{-1});
  }

  /// How often the root restarted `name`.
  std::uint32_t restarts(const std::string& name) {
    caf::scoped_actor self{*sys};
    std::uint32_t n = 0;
    self->request(root, 5s, children_atom::value)
        .receive(
            [&](const std::vector<child_info>& children) {
              for (const auto& c : children)
                if (c.name == name)
                  n = c.restarts;
            },
            [](const caf::error&) {});
    return n;
  }

  /// Waits until `done()` holds, checking every 10 ms; false on timeout.
  template <class Predicate>
  bool wait_until(Predicate done, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
};

} // namespace

TEST_SUITE("process") {
  TEST_CASE("a failed peer manager takes its sessions with it and once restarted reconnects and "
            "completes the sync") {
    temp_dir dir;
    auto serving_dir = dir.path() / "serving";
    auto generated = run_to_completion(
        chaingen,
        {"--chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
         "--blocks=" + std::to_string(chain_length), "--data-dir=" + serving_dir.string()},
        120s);
    REQUIRE_MESSAGE(generated.exit_code == 0, generated.output);
    auto port = free_loopback_port(SOCK_STREAM);
    child_process serving{
        qtcnode,
        {"--qtcnode.chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
         "--qtcnode.data-dir=" + serving_dir.string(), "--qtcnode.p2p-host=127.0.0.1",
         "--qtcnode.p2p-port=" + std::to_string(port), "--qtcnode.metrics-port=-1",
         "--qtcnode.rpc-port=0", "--qtcnode.dns-servers=127.0.0.1:1",
         "--qtcnode.outbound-full-relay=0", "--qtcnode.outbound-block-relay=0",
         "--scheduler.max-threads=2"},
        dir.path() / "serving.log"};
    REQUIRE_MESSAGE(serving.wait_for_line("msg=\"chain loaded\"", 30s), serving.output());

    fresh_node node{dir.path() / "fresh", "127.0.0.1:" + std::to_string(port)};
    // Mid-sync: the peer connected and some blocks, not all, are stored.
    std::int64_t blocks_at_crash = -1;
    REQUIRE_MESSAGE(node.wait_until(
                        [&] {
                          auto sync = node.status<sync_actor>();
                          blocks_at_crash = node.number(sync, "blocks");
                          return node.number(node.status<peer_manager_actor>(), "connections") == 1
                                 && blocks_at_crash > 0;
                        },
                        60s),
                    serving.output());
    CHECK(blocks_at_crash < chain_length);
    auto running_before = node.sys->registry().running();
    auto old_manager = node.find<peer_manager_actor>();
    REQUIRE(old_manager);
    // A crash: the abnormal exit a handler's uncaught exception causes. (Not `kill`: CAF 0.17 makes
    // a kill fatal to every actor linked to the victim, the supervisor included.)
    caf::anon_send_exit(old_manager, caf::exit_reason::unhandled_exception);

    // The root restarts it (a new actor), it reconnects, and the sync completes.
    REQUIRE(node.wait_until(
        [&] {
          auto m = node.find<peer_manager_actor>();
          return m && m != old_manager && node.restarts("peers") == 1;
        },
        10s));
    REQUIRE_MESSAGE(
        node.wait_until(
            [&] { return node.number(node.status<sync_actor>(), "blocks") == chain_length; }, 60s),
        serving.output());
    CHECK(node.number(node.status<peer_manager_actor>(), "connections") == 1);
    // No session or link of the failed manager is left: the node runs exactly the actors it ran
    // before, with one session and one link again.
    CHECK(node.wait_until([&] { return node.sys->registry().running() == running_before; }, 10s));
    CHECK(node.sys->registry().running() == running_before);
  }
}

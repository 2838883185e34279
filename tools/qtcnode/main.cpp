// qtcnode: the QuantumCoin P2P node.
//
//   qtcnode --config-file=config/regtest.ini [--qtcnode.key=value ...]
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM); 1 when the node fails while running
// (e.g. the root supervisor gave up); 2 for bad configuration (nothing was started).
#include "actors/log_sink.hpp"
#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "actors/support/logger.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/config/node_options.hpp"
#include "runtime/io/data_dir.hpp"
#include "runtime/transport/node_identity.hpp"

#include <botan/system_rng.h>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_config = 2;

/// How long a shutdown may take before the process gives up waiting.
constexpr auto shutdown_budget = std::chrono::milliseconds{4500};

/// Logs the tree below `sup`, one line per child, depth first.
void log_tree(caf::scoped_actor& self, const qtc::supervisor_actor& sup, const std::string& path,
              const qtc::logger& log) {
  self->request(sup, std::chrono::seconds{2}, qtc::children_atom::value)
      .receive(
          [&](const std::vector<qtc::child_info>& children) {
            for (const auto& c : children) {
              auto child_path = path + "/" + c.name;
              log.info("supervision tree",
                       {{"path", child_path},
                        {"actor_id", c.handle ? std::to_string(c.handle.id()) : "-"},
                        {"restart", qtc::to_string(c.restart)},
                        {"supervisor", c.supervisor ? "yes" : "no"}});
              if (c.supervisor && c.handle)
                log_tree(self, caf::actor_cast<qtc::supervisor_actor>(c.handle), child_path, log);
            }
          },
          [&](const caf::error& err) {
            log.warning("cannot list children",
                        {{"path", path}, {"reason", qtc::render_error(err)}});
          });
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

} // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by the main thread (sigtimedwait below); every thread the
  // actor system starts inherits this mask, so no scheduler thread is ever interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  qtc::node_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-?") {
      std::cout << "usage: qtcnode --config-file=FILE [--section.key=value ...]\n\n"
                   "Every option can be set in the config file (INI: [section] then key=value)\n"
                   "or on the command line as --section.key=value. See docs/operations.md.\n\n"
                << cfg.help_text();
      return exit_ok;
    }
  }
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "qtcnode: " << cfg.render(err) << "\n";
    return exit_bad_config;
  }
  if (cfg.cli_helptext_printed)
    return exit_ok;
  std::vector<qtc::option_error> option_errors;
  auto options = qtc::read_node_options(cfg, args, option_errors);
  for (const auto& e : option_errors)
    std::cerr << "qtcnode: " << e.key << ": " << e.what << "\n";
  if (!option_errors.empty())
    return exit_bad_config;
  auto loaded = qtc::load_chain_spec(options.chain_spec);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.spec)
    return exit_bad_config;
  const auto& spec = *loaded.spec;
  if (auto problem = qtc::check_genesis(spec)) {
    std::cerr << problem->to_string() << "\n";
    return exit_bad_config;
  }
  std::string lock_error;
  auto lock = qtc::data_dir_lock::acquire(options.data_dir, lock_error);
  if (!lock) {
    std::cerr << "qtcnode: " << lock_error << "\n";
    return exit_failed;
  }
  // The node's long-term identity (Noise static key, TLS certificate key): created on the first
  // start, refused when others may read it.
  std::string identity_error;
  Botan::System_RNG system_rng;
  auto identity =
      qtc::node_identity::load_or_create(options.data_dir / "node.key", system_rng, identity_error);
  if (!identity) {
    std::cerr << "qtcnode: " << identity_error << "\n";
    return exit_failed;
  }

  caf::actor_system sys{cfg};
  auto sink = qtc::start_log_sink(sys, options.log_file);
  if (!sink) {
    std::cerr << "qtcnode: " << qtc::render_error(sink.error()) << "\n";
    return exit_bad_config;
  }
  qtc::logger log{sys, "main"};
  log.info("starting", {{"version", QTC_VERSION},
                        {"network", spec.network},
                        {"chain_spec", options.chain_spec.string()},
                        {"data_dir", options.data_dir.string()},
                        {"node_id", qtc::to_hex(identity->id())},
                        {"static_key", qtc::to_hex(identity->static_public())},
                        {"config_file", cfg.config_file_path},
                        {"scheduler_threads", std::to_string(sys.scheduler().num_workers())}});

  auto root = sys.spawn(
      qtc::supervisor,
      qtc::make_node_tree(options, spec,
                          std::make_shared<const qtc::node_identity>(std::move(*identity)), *sink),
      qtc::supervisor_actor{});
  caf::scoped_actor self{sys};
  self->monitor(root);
  log_tree(self, root, "root", log);

  int exit_code = exit_ok;
  bool root_down = false;
  auto check_root = [&](caf::timespan wait) {
    self->receive(
        [&](const caf::down_msg& msg) {
          root_down = true;
          if (qtc::is_abnormal_exit(msg.reason)) {
            log.error("node stopped: the supervision tree gave up",
                      {{"reason", qtc::render_error(msg.reason)}});
            exit_code = exit_failed;
          }
        },
        caf::after(wait) >> [] {});
  };
  check_root(caf::timespan{0});
  if (!root_down)
    log.info("node running", {{"network", spec.network}});
  while (!root_down) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) {
      log.info("shutdown requested", {{"signal", signal_name(sig)}});
      self->send_exit(root, caf::exit_reason::user_shutdown);
      check_root(shutdown_budget);
      if (!root_down) {
        log.error("shutdown timed out; exiting without waiting for the remaining actors",
                  {{"budget", qtc::format_duration(caf::timespan{shutdown_budget})}});
        std::fflush(nullptr);
        _exit(exit_failed);
      }
      break;
    }
    check_root(caf::timespan{0});
  }
  log.info("stopped", {{"exit_code", std::to_string(exit_code)}});
  // The sink goes last; later lines (none expected) would go straight to stderr.
  cfg.set_log_sink({});
  caf::anon_send_exit(*sink, caf::exit_reason::user_shutdown);
  return exit_code;
}

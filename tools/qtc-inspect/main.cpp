// qtc-inspect: attaches to a running qtcnode's inspector and prints the status of every
// component as JSON.
//
//   qtc-inspect --host=127.0.0.1 --port=PORT [--verbosity=info|detailed|debug]
//
// The node must run with `inspector-port` set. Exit 0 with the JSON on stdout; 1 if the node
// cannot be reached or does not answer; 2 for bad arguments.
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "messages/json.hpp"
#include "runtime/config/node_options.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <iostream>
#include <string>

namespace {

std::optional<qtc::status_verbosity> parse_verbosity(const std::string& s) {
  for (auto v :
       {qtc::status_verbosity::info, qtc::status_verbosity::detailed, qtc::status_verbosity::debug})
    if (s == qtc::to_string(v))
      return v;
  return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  auto verbosity = qtc::status_verbosity::info;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& prefix) -> std::optional<std::string> {
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("--host=")) {
      host = *v;
    } else if (auto v = value("--port=")) {
      port = std::atoi(v->c_str());
    } else if (auto v = value("--verbosity=")) {
      auto parsed = parse_verbosity(*v);
      if (!parsed) {
        std::cerr << "qtc-inspect: --verbosity must be info, detailed or debug\n";
        return 2;
      }
      verbosity = *parsed;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: qtc-inspect --host=HOST --port=PORT [--verbosity=info|detailed|debug]\n";
      return 0;
    } else {
      std::cerr << "qtc-inspect: unknown argument " << arg << " (see --help)\n";
      return 2;
    }
  }
  if (port <= 0 || port > 65535) {
    std::cerr << "qtc-inspect: --port=PORT (the node's inspector-port) is required\n";
    return 2;
  }
  qtc::node_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto node = sys.middleman().remote_actor<qtc::inspector_actor>(host, static_cast<uint16_t>(port));
  if (!node) {
    std::cerr << "qtc-inspect: cannot attach to " << host << ":" << port << ": "
              << qtc::render_error(node.error()) << "\n";
    return 1;
  }
  int exit_code = 0;
  caf::scoped_actor self{sys};
  self->request(*node, std::chrono::seconds{10}, qtc::tree_atom::value, verbosity)
      .receive(
          [&](const qtc::status_report& report) {
            std::cout << qtc::to_json_value(report).dump(2) << "\n";
          },
          [&](const caf::error& err) {
            std::cerr << "qtc-inspect: no answer from " << host << ":" << port << ": "
                      << qtc::render_error(err) << "\n";
            exit_code = 1;
          });
  return exit_code;
}

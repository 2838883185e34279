// qtc-inspect: attaches to a running qtcnode's inspector; prints the status of every component as
// JSON, or runs the operator's ban commands.
//
//   qtc-inspect --host=127.0.0.1 --port=PORT [--verbosity=info|detailed|debug]
//   qtc-inspect --port=PORT bans                       the bans in force (JSON)
//   qtc-inspect --port=PORT ban SUBNET [--seconds=N] [--reason=TEXT]
//                                                      N = 0 or absent: until lifted
//   qtc-inspect --port=PORT unban SUBNET
//   qtc-inspect --port=PORT clear-bans
//
// SUBNET is an address or a subnet: 192.0.2.7, 192.0.2.0/24, 2001:db8::/32. The node must run
// with `inspector-port` set. Exit 0 on success; 1 if the node cannot be reached, does not answer
// or refuses the command (its error names what is wrong; `unban` of an address that is not
// banned); 2 for bad arguments.
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "messages/json.hpp"
#include "runtime/config/node_options.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

std::optional<qtc::status_verbosity> parse_verbosity(const std::string& s) {
  for (auto v :
       {qtc::status_verbosity::info, qtc::status_verbosity::detailed, qtc::status_verbosity::debug})
    if (s == qtc::to_string(v))
      return v;
  return std::nullopt;
}

struct arguments {
  std::string host = "127.0.0.1";
  int port = 0;
  qtc::status_verbosity verbosity = qtc::status_verbosity::info;
  std::vector<std::string> command; ///< empty: the status tree
  std::int64_t seconds = 0;
  std::string reason = "operator";
};

const char* usage = "usage: qtc-inspect --host=HOST --port=PORT [--verbosity=info|detailed|debug]\n"
                    "       qtc-inspect --port=PORT bans | ban SUBNET [--seconds=N] "
                    "[--reason=TEXT] | unban SUBNET | clear-bans\n";

/// Reads the command line; an error message (exit 2) if it is wrong.
std::optional<std::string> parse(int argc, char** argv, arguments& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& prefix) -> std::optional<std::string> {
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("--host=")) {
      a.host = *v;
    } else if (auto v = value("--port=")) {
      a.port = std::atoi(v->c_str());
    } else if (auto v = value("--verbosity=")) {
      auto parsed = parse_verbosity(*v);
      if (!parsed)
        return "--verbosity must be info, detailed or debug";
      a.verbosity = *parsed;
    } else if (auto v = value("--seconds=")) {
      char* end = nullptr;
      a.seconds = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || a.seconds < 0)
        return "--seconds must be a whole number of seconds, 0 or more, not '" + *v + "'";
    } else if (auto v = value("--reason=")) {
      a.reason = *v;
    } else if (arg.rfind("--", 0) == 0) {
      return "unknown argument " + arg + " (see --help)";
    } else {
      a.command.push_back(arg);
    }
  }
  if (a.port <= 0 || a.port > 65535)
    return "--port=PORT (the node's inspector-port) is required";
  if (a.command.empty())
    return std::nullopt;
  const auto& c = a.command[0];
  std::size_t want = c == "ban" || c == "unban" ? 2 : c == "bans" || c == "clear-bans" ? 1 : 0;
  if (want == 0)
    return "unknown command '" + c + "' (see --help)";
  if (a.command.size() != want)
    return "'" + c + "' takes " + (want == 2 ? "one SUBNET" : "no argument");
  return std::nullopt;
}

/// Runs one request against the inspector and prints its answer; the exit code.
template <class Result, class Print, class... Ts>
int ask(caf::scoped_actor& self, const qtc::inspector_actor& node, const arguments& a, Print print,
        Ts&&... xs) {
  int exit_code = 0;
  self->request(node, std::chrono::seconds{15}, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { exit_code = print(r); },
               [&](const caf::error& err) {
                 std::cerr << "qtc-inspect: " << a.host << ":" << a.port << ": "
                           << qtc::render_error(err) << "\n";
                 exit_code = 1;
               });
  return exit_code;
}

int run(caf::scoped_actor& self, const qtc::inspector_actor& node, const arguments& a) {
  using namespace qtc;
  if (a.command.empty())
    return ask<status_report>(
        self, node, a,
        [](const status_report& r) {
          std::cout << to_json_value(r).dump(2) << "\n";
          return 0;
        },
        tree_atom::value, a.verbosity);
  const auto& c = a.command[0];
  if (c == "bans")
    return ask<caf::config_value::list>(
        self, node, a,
        [](const caf::config_value::list& l) {
          std::cout << to_json_value(caf::config_value{l}).dump(2) << "\n";
          return 0;
        },
        get_atom::value, bans_atom::value);
  if (c == "ban")
    return ask<bool>(
        self, node, a,
        [&](bool) {
          std::cout << "banned " << a.command[1] << "\n";
          return 0;
        },
        put_atom::value, bans_atom::value, a.command[1], a.seconds, a.reason);
  if (c == "unban")
    return ask<bool>(
        self, node, a,
        [&](bool lifted) {
          std::cout << (lifted ? "lifted " : "no ban on ") << a.command[1] << "\n";
          return lifted ? 0 : 1;
        },
        delete_atom::value, bans_atom::value, a.command[1]);
  return ask<std::uint64_t>(
      self, node, a,
      [](std::uint64_t n) {
        std::cout << "lifted " << n << " bans\n";
        return 0;
      },
      clear_atom::value, bans_atom::value);
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]} == "--help" || std::string{argv[i]} == "-h") {
      std::cout << usage;
      return 0;
    }
  arguments a;
  if (auto error = parse(argc, argv, a)) {
    std::cerr << "qtc-inspect: " << *error << "\n";
    return 2;
  }
  qtc::node_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto node =
      sys.middleman().remote_actor<qtc::inspector_actor>(a.host, static_cast<uint16_t>(a.port));
  if (!node) {
    std::cerr << "qtc-inspect: cannot attach to " << a.host << ":" << a.port << ": "
              << qtc::render_error(node.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  return run(self, *node, a);
}

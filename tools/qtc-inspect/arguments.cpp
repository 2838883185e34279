#include "arguments.hpp"

#include <fstream>
#include <map>

namespace qtc::cli {

const char* usage =
    "usage: qtc-inspect [--host=HOST] --port=PORT [--data-dir=DIR | --cookie-file=FILE] [--json]\n"
    "                   [COMMAND [ARGS]]\n"
    "commands (none: every component's status as JSON, --verbosity=info|detailed|debug):\n"
    "  tree                      the supervision tree: state, restarts, mailbox of each actor\n"
    "  top [--interval=SECONDS] [--sort=mailbox|rate|slowest|name] [--rows=N] [--iterations=N]\n"
    "                            live view: busiest actors, peers, sync, bans (q quits)\n"
    "  peers | bans | sync       one table\n"
    "  log [--follow] [--actor=PREFIX] [--level=error|warning|info|debug|trace]\n"
    "                            the node's latest log lines; --follow: and the later ones\n"
    "actions (need the cookie: --data-dir or --cookie-file):\n"
    "  ban SUBNET [--seconds=N] [--reason=TEXT] | unban SUBNET | clear-bans\n"
    "  disconnect PEER           PEER: ip:port or the session id (see peers)\n"
    "  restart CHILD             asks the root supervisor to restart a child (see tree)\n";

namespace {

/// How many arguments each command takes after its name.
const std::map<std::string, std::size_t>& commands() {
  static const std::map<std::string, std::size_t> all{
      {"tree", 0}, {"top", 0},   {"peers", 0},      {"bans", 0},       {"sync", 0},   {"log", 0},
      {"ban", 1},  {"unban", 1}, {"clear-bans", 0}, {"disconnect", 1}, {"restart", 1}};
  return all;
}

std::optional<std::int64_t> whole_number(const std::string& v) {
  char* end = nullptr;
  auto n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0)
    return std::nullopt;
  return n;
}

std::optional<std::string> parse_top_option(const std::string& key, const std::string& v,
                                            top_options& top) {
  if (key == "--interval=") {
    char* end = nullptr;
    auto s = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || s < 0.1 || s > 3600)
      return "--interval must be seconds between 0.1 and 3600, not '" + v + "'";
    top.interval = std::chrono::milliseconds{static_cast<std::int64_t>(s * 1000)};
  } else if (key == "--sort=") {
    static const std::map<std::string, actor_order> orders{{"mailbox", actor_order::mailbox},
                                                           {"rate", actor_order::rate},
                                                           {"slowest", actor_order::slowest},
                                                           {"name", actor_order::name}};
    auto i = orders.find(v);
    if (i == orders.end())
      return "--sort must be mailbox, rate, slowest or name, not '" + v + "'";
    top.order = i->second;
  } else if (auto n = whole_number(v); !n) {
    return key + " must be a whole number, not '" + v + "'";
  } else if (key == "--rows=") {
    top.rows = static_cast<std::size_t>(*n);
  } else {
    top.iterations = static_cast<std::size_t>(*n);
  }
  return std::nullopt;
}

/// One --key=value option; an error message if it is wrong or unknown.
std::optional<std::string> parse_option(const std::string& arg, arguments& a) {
  auto eq = arg.find('=');
  auto key = arg.substr(0, eq == std::string::npos ? arg.size() : eq + 1);
  auto v = eq == std::string::npos ? std::string{} : arg.substr(eq + 1);
  if (key == "--json" || key == "--follow") {
    (key == "--json" ? a.json : a.follow) = true;
  } else if (key == "--host=") {
    a.host = v;
  } else if (key == "--port=") {
    auto n = whole_number(v);
    if (!n || *n == 0 || *n > 65535)
      return "--port must be a port number, 1 to 65535, not '" + v + "'";
    a.port = static_cast<int>(*n);
  } else if (key == "--data-dir=") {
    if (a.cookie_file.empty())
      a.cookie_file = v + "/.inspect-cookie";
  } else if (key == "--cookie-file=") {
    a.cookie_file = v;
  } else if (key == "--verbosity=") {
    for (auto x : {status_verbosity::info, status_verbosity::detailed, status_verbosity::debug})
      if (v == to_string(x))
        a.verbosity = x;
    if (!a.verbosity)
      return "--verbosity must be info, detailed or debug";
  } else if (key == "--seconds=") {
    auto n = whole_number(v);
    if (!n)
      return "--seconds must be a whole number of seconds, 0 or more, not '" + v + "'";
    a.seconds = *n;
  } else if (key == "--reason=") {
    a.reason = v;
  } else if (key == "--actor=") {
    a.actor = v;
  } else if (key == "--level=") {
    auto level = parse_log_level(v);
    if (!level)
      return "--level must be error, warning, info, debug or trace, not '" + v + "'";
    a.level = *level;
  } else if (key == "--interval=" || key == "--sort=" || key == "--rows="
             || key == "--iterations=") {
    return parse_top_option(key, v, a.top);
  } else {
    return "unknown argument " + arg + " (see --help)";
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> parse_arguments(int argc, char** argv, arguments& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      if (auto error = parse_option(arg, a))
        return error;
    } else {
      a.command.push_back(arg);
    }
  }
  if (a.port == 0)
    return "--port=PORT (the node's inspector-port) is required";
  if (a.command.empty())
    return std::nullopt;
  const auto& c = a.command[0];
  auto known = commands().find(c);
  if (known == commands().end())
    return "unknown command '" + c + "' (see --help)";
  if (a.command.size() != known->second + 1)
    return "'" + c + "' takes " + (known->second == 1 ? "one argument" : "no argument");
  return std::nullopt;
}

std::optional<std::string> read_cookie(const arguments& a, std::string& cookie) {
  cookie.clear();
  if (a.cookie_file.empty())
    return std::nullopt;
  std::ifstream in{a.cookie_file};
  if (!in)
    return "cannot read the inspector cookie " + a.cookie_file
           + " (is the node running with that data directory, as this user?)";
  std::getline(in, cookie);
  return std::nullopt;
}

} // namespace qtc::cli

// qtc-inspect: attaches to a running qtcnode's inspector (a CAF remote actor, `inspector-port`)
// and shows what the node is doing — the supervision tree with every actor's mailbox, a live
// `top`, peers, bans, sync, the log — or runs the operator's actions (ban, unban, disconnect,
// restart). `--help` lists the commands; docs/operations.md describes each.
//
// Exit 0 on success; 1 if the node cannot be reached, does not answer or refuses the command
// (its error names what is wrong: a missing cookie, `unban` of an address that is not banned);
// 2 for bad arguments.
#include "arguments.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "messages/json.hpp"
#include "render.hpp"
#include "runtime/config/node_options.hpp"
#include "top.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <iostream>
#include <string>

namespace {

using namespace qtc;
using namespace qtc::cli;
using json = nlohmann::json;

/// Everything a command needs: the node's inspector, the arguments and the cookie.
struct session {
  caf::scoped_actor& self;
  inspector_actor node;
  const arguments& args;
  std::string cookie;
};

/// Runs one request against the inspector and prints its answer; the exit code.
template <class Result, class Print, class... Ts>
int ask(session& s, Print print, Ts&&... xs) {
  int exit_code = 0;
  s.self->request(s.node, std::chrono::seconds{15}, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { exit_code = print(r); },
               [&](const caf::error& err) {
                 std::cerr << "qtc-inspect: " << s.args.host << ":" << s.args.port << ": "
                           << render_error(err) << "\n";
                 exit_code = 1;
               });
  return exit_code;
}

/// Prints `text`, or the JSON when --json was given.
int show(const session& s, const json& j, const std::string& text) {
  std::cout << (s.args.json ? j.dump(2) + "\n" : text);
  return 0;
}

int run_views(session& s, const std::string& c) {
  if (c == "tree")
    return ask<status_report>(
        s,
        [&](const status_report& r) {
          auto j = to_json_value(caf::config_value{r});
          return show(s, j, render_tree(j));
        },
        tree_atom::value, s.cookie, s.args.verbosity.value_or(status_verbosity::detailed));
  if (c == "bans")
    return ask<caf::config_value::list>(
        s,
        [&](const caf::config_value::list& l) {
          auto j = to_json_value(caf::config_value{l});
          return show(s, j, render_bans(j));
        },
        get_atom::value, bans_atom::value, s.cookie);
  // peers, sync: parts of the live view
  return ask<status_report>(
      s,
      [&](const status_report& r) {
        auto j = to_json_value(caf::config_value{r});
        auto part = j.value(c, json::object());
        return show(s, part, c == "peers" ? render_peers(part) : render_sync(part));
      },
      top_atom::value, s.cookie);
}

int run_live_top(session& s) {
  if (s.args.json) // one snapshot of the live view, for scripts
    return ask<status_report>(
        s,
        [&](const status_report& r) {
          std::cout << to_json_value(caf::config_value{r}).dump(2) << "\n";
          return 0;
        },
        top_atom::value, s.cookie);
  auto fetch = [&s](std::string& error) {
    json view;
    s.self->request(s.node, std::chrono::seconds{10}, top_atom::value, s.cookie)
        .receive([&](const status_report& r) { view = to_json_value(caf::config_value{r}); },
                 [&](const caf::error& err) { error = render_error(err); });
    return view;
  };
  return run_top(fetch, s.args.top);
}

volatile std::sig_atomic_t stop_following = 0;

/// `log`: the latest records; with --follow, the later ones until Ctrl-C or the node goes.
int run_log(session& s) {
  auto print = [&s](const log_record& rec) {
    std::cout << (s.args.json ? to_json_value(rec).dump() : format_logfmt(rec)) << "\n";
  };
  int code = ask<std::vector<log_record>>(
      s,
      [&](const std::vector<log_record>& records) {
        for (const auto& rec : records)
          print(rec);
        return 0;
      },
      get_atom::value, log_atom::value, s.cookie, s.args.actor, s.args.level);
  if (code != 0 || !s.args.follow)
    return code;
  std::cout << std::flush;
  code = ask<bool>(
      s,
      [&](bool accepted) {
        if (!accepted)
          std::cerr << "qtc-inspect: the node serves no more log followers now\n";
        return accepted ? 0 : 1;
      },
      subscribe_atom::value, log_atom::value, s.cookie, s.args.actor, s.args.level,
      caf::actor_cast<log_subscriber_actor>(s.self.ptr()));
  if (code != 0)
    return code;
  std::signal(SIGINT, [](int) { stop_following = 1; });
  std::signal(SIGTERM, [](int) { stop_following = 1; });
  s.self->monitor(s.node);
  bool node_gone = false;
  while (!stop_following && !node_gone)
    s.self->receive(
        [&](log_atom, const log_record& rec) {
          print(rec);
          std::cout << std::flush;
        },
        [&](const caf::down_msg&) { node_gone = true; },
        caf::after(std::chrono::milliseconds{200}) >> [] {});
  if (node_gone)
    std::cerr << "qtc-inspect: the node went away\n";
  return node_gone ? 1 : 0;
}

int run_actions(session& s, const std::string& c) {
  const auto& cmd = s.args.command;
  auto done = [](std::string text) {
    return [text = std::move(text)](auto&&...) {
      std::cout << text << "\n";
      return 0;
    };
  };
  if (c == "ban")
    return ask<bool>(s, done("banned " + cmd[1]), put_atom::value, bans_atom::value, s.cookie,
                     cmd[1], s.args.seconds, s.args.reason);
  if (c == "unban")
    return ask<bool>(
        s,
        [&](bool lifted) {
          std::cout << (lifted ? "lifted " : "no ban on ") << cmd[1] << "\n";
          return lifted ? 0 : 1;
        },
        delete_atom::value, bans_atom::value, s.cookie, cmd[1]);
  if (c == "clear-bans")
    return ask<std::uint64_t>(
        s,
        [](std::uint64_t n) {
          std::cout << "lifted " << n << " bans\n";
          return 0;
        },
        clear_atom::value, bans_atom::value, s.cookie);
  if (c == "disconnect")
    return ask<bool>(
        s,
        [&](bool closed) {
          std::cout << (closed ? "disconnected " : "no session with ") << cmd[1] << "\n";
          return closed ? 0 : 1;
        },
        close_atom::value, peers_atom::value, s.cookie, cmd[1]);
  return ask<std::uint64_t>(
      s,
      [&](std::uint64_t restarts) {
        std::cout << "restarting " << cmd[1] << " (restarts before: " << restarts << ")\n";
        return 0;
      },
      restart_atom::value, s.cookie, cmd[1]);
}

int run(session& s) {
  if (s.args.command.empty())
    return ask<status_report>(
        s,
        [](const status_report& r) {
          std::cout << to_json_value(r).dump(2) << "\n";
          return 0;
        },
        tree_atom::value, s.cookie, s.args.verbosity.value_or(status_verbosity::info));
  const auto& c = s.args.command[0];
  if (c == "top")
    return run_live_top(s);
  if (c == "log")
    return run_log(s);
  if (c == "tree" || c == "bans" || c == "peers" || c == "sync")
    return run_views(s, c);
  return run_actions(s, c);
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]} == "--help" || std::string{argv[i]} == "-h") {
      std::cout << usage;
      return 0;
    }
  arguments a;
  if (auto error = parse_arguments(argc, argv, a)) {
    std::cerr << "qtc-inspect: " << *error << "\n";
    return 2;
  }
  std::string cookie;
  if (auto error = read_cookie(a, cookie)) {
    std::cerr << "qtc-inspect: " << *error << "\n";
    return 1;
  }
  node_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto node = sys.middleman().remote_actor<inspector_actor>(a.host, static_cast<uint16_t>(a.port));
  if (!node) {
    std::cerr << "qtc-inspect: cannot attach to " << a.host << ":" << a.port << ": "
              << render_error(node.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  session s{self, *node, a, cookie};
  return run(s);
}

#include "top.hpp"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

#include <poll.h>
#include <termios.h>
#include <unistd.h>

namespace qtc::cli {

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

const char* order_name(actor_order o) {
  switch (o) {
  case actor_order::mailbox:
    return "mailbox";
  case actor_order::rate:
    return "msg/s";
  case actor_order::slowest:
    return "slowest";
  case actor_order::name:
    return "name";
  }
  return "?";
}

/// The terminal in raw mode (keys without Enter, no echo) while it lives; restored after.
class raw_terminal {
public:
  raw_terminal() {
    active_ = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (!active_)
      return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~raw_terminal() {
    if (active_)
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;

private:
  termios saved_{};
  bool active_ = false;
};

/// Whether standard input has ended (not a terminal: keys are not read after that).
bool input_closed = false;

/// Waits up to `wait` for a key; the key, or 0.
char wait_for_key(std::chrono::milliseconds wait) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (::poll(input_closed ? nullptr : &p, input_closed ? 0 : 1, static_cast<int>(wait.count())) <= 0
      || !(p.revents & POLLIN))
    return 0;
  char c = 0;
  auto n = ::read(STDIN_FILENO, &c, 1);
  if (n == 0)
    input_closed = true;
  return n == 1 ? c : 0;
}

std::string clock_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

} // namespace

std::string render_top(const nlohmann::json& view, const top_options& options) {
  std::ostringstream out;
  auto peers = view.value("peers", nlohmann::json::array());
  auto bans = view.value("bans", nlohmann::json::array());
  auto actors = view.value("actors", nlohmann::json::array());
  out << "qtc-inspect top  node " << view.value("node", std::string{}) << "  " << clock_now()
      << "  actors " << actors.size() << "  peers " << peers.size() << "  bans " << bans.size()
      << "\n";
  out << render_sync(view.value("sync", nlohmann::json::object()));
  out << "\nACTORS by " << order_name(options.order)
      << "   (sort: m mailbox, r msg/s, s slowest, n name; q quits)\n";
  out << render_actors(actors, options.order, options.rows);
  out << "\nPEERS\n" << render_peers(peers);
  out << "\nBANS\n" << render_bans(bans);
  return out.str();
}

int run_top(const top_fetch& fetch, top_options options) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  raw_terminal terminal;
  for (std::size_t frame = 0; !stop_requested; ++frame) {
    std::string error;
    auto view = fetch(error);
    if (!error.empty()) {
      std::cout << "\x1b[H\x1b[2J"
                << "qtc-inspect top: " << error << "\n"
                << std::flush;
      return 1;
    }
    std::cout << "\x1b[H\x1b[2J" << render_top(view, options) << std::flush;
    if (options.iterations != 0 && frame + 1 >= options.iterations)
      break;
    auto deadline = std::chrono::steady_clock::now() + options.interval;
    while (!stop_requested) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      switch (wait_for_key(left)) {
      case 'q':
        return 0;
      case 'm':
        options.order = actor_order::mailbox;
        break;
      case 'r':
        options.order = actor_order::rate;
        break;
      case 's':
        options.order = actor_order::slowest;
        break;
      case 'n':
        options.order = actor_order::name;
        break;
      default:
        continue;
      }
      break; // redraw at once in the new order
    }
  }
  return 0;
}

} // namespace qtc::cli

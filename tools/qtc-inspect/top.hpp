// `qtc-inspect top`: a live view of the node in the spirit of Erlang's etop, redrawn every
// interval until `q` (or Ctrl-C): the busiest actors (sortable by key: m mailbox, r messages per
// second, s slowest handling, n name), the peers, sync progress and the bans.
#pragma once

#include "render.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace qtc::cli {

struct top_options {
  std::chrono::milliseconds interval{1000};
  actor_order order = actor_order::mailbox;
  std::size_t rows = 20;      ///< actor lines shown
  std::size_t iterations = 0; ///< 0: until q; n: n frames then exit (scripts)
};

/// One frame's data: the inspector's `top` answer, or an error message.
using top_fetch = std::function<nlohmann::json(std::string& error)>;

/// One frame as text (tested without a terminal).
std::string render_top(const nlohmann::json& view, const top_options& options);

/// Runs the live view on the terminal; the exit code (0, or 1 once the node stops answering).
int run_top(const top_fetch& fetch, top_options options);

} // namespace qtc::cli

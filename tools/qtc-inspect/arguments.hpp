// qtc-inspect's command line.
#pragma once

#include "messages/log_record.hpp"
#include "messages/status.hpp"
#include "top.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qtc::cli {

struct arguments {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string cookie_file; ///< --cookie-file, or <--data-dir>/.inspect-cookie
  bool json = false;
  std::optional<status_verbosity> verbosity; ///< the status dump's (default info; tree: detailed)
  std::vector<std::string> command;          ///< empty: every component's status as JSON
  std::int64_t seconds = 0;
  std::string reason = "operator";
  bool follow = false;
  std::string actor;                 ///< log: actor-name prefix
  log_level level = log_level::info; ///< log: this level or more severe
  top_options top;
};

extern const char* usage;

/// Reads the command line; an error message (exit 2) if it is wrong.
std::optional<std::string> parse_arguments(int argc, char** argv, arguments& a);

/// The cookie to send: the file's first line, "" without a file; an error names the file.
std::optional<std::string> read_cookie(const arguments& a, std::string& cookie);

} // namespace qtc::cli

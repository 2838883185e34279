// Shared by the benchmarks that run real qtcnode processes: where the binaries are, a chain spec
// derived from the shipped one, log timestamps, and a process's resident memory.
#pragma once

#include "support/process.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include <unistd.h>

namespace qtc::bench {

/// The directory holding this binary (build/<preset>/tools/bench).
inline std::filesystem::path own_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << text;
}

/// The chain spec at `source` with these bootstrap nodes and max_connections, written to `to`.
inline void write_spec(const std::filesystem::path& source, const std::filesystem::path& to,
                       const std::string& bootstrap_nodes, int max_connections) {
  auto text = read_text(source);
  text = std::regex_replace(text, std::regex{"bootstrap_nodes = \\[[^\\]]*\\]"},
                            "bootstrap_nodes = [" + bootstrap_nodes + "]");
  text = std::regex_replace(text, std::regex{"max_connections = [0-9]+"},
                            "max_connections = " + std::to_string(max_connections));
  write_text(to, text);
}

/// Milliseconds since the epoch of a log line's `ts=2026-11-24T15:40:11.486Z`, or nothing.
inline std::optional<std::int64_t> log_time_ms(const std::string& line) {
  auto ts = test::field_value(" " + line, "ts");
  if (!ts || ts->size() < 23)
    return std::nullopt;
  std::tm tm{};
  if (!strptime(ts->c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + std::stoi(ts->substr(20, 3));
}

/// Every line of `text` containing `needle`.
inline std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    if (std::string_view{text}.substr(pos, end - pos).find(needle) != std::string_view::npos)
      out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

/// A "Vm...:" field of process `pid`'s /proc status in bytes (0 if unreadable).
inline std::uint64_t vm_status_bytes(pid_t pid, std::string_view field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0)
      return std::stoull(line.substr(field.size())) * 1024; // "VmRSS:	  12345 kB"
  return 0;
}

/// VmRSS of process `pid` in bytes (0 if unreadable).
inline std::uint64_t rss_bytes(pid_t pid) {
  return vm_status_bytes(pid, "VmRSS:");
}

/// VmHWM (peak resident memory) of process `pid` in bytes (0 if unreadable).
inline std::uint64_t peak_rss_bytes(pid_t pid) {
  return vm_status_bytes(pid, "VmHWM:");
}

/// The PID a running node wrote to `<data-dir>/.lock` (0 while it has not).
inline pid_t node_pid(const std::filesystem::path& data_dir) {
  auto text = read_text(data_dir / ".lock");
  return text.empty() ? 0 : static_cast<pid_t>(std::atoi(text.c_str()));
}

/// CPU seconds (user + system) process `pid` has used so far (0 if unreadable).
inline double cpu_seconds(pid_t pid) {
  auto text = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')'); // the command name may contain spaces
  if (close == std::string::npos)
    return 0;
  std::istringstream in{text.substr(close + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i)
    if (i == 14 || i == 15)
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// The first line of /proc/loadavg: the machine's load while a benchmark ran.
inline std::string load_average() {
  auto text = read_text("/proc/loadavg");
  return text.substr(0, text.find(' ', text.find(' ', text.find(' ') + 1) + 1));
}

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace qtc::bench

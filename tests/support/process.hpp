// Running real processes in tests: start a binary with arguments, capture its output in a file,
// wait for a line to appear, signal it, and collect its exit code; plus a minimal HTTP GET over
// a real TCP socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace qtc::test {

/// A temporary directory, removed with its contents at the end of the test.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const {
    return path_;
  }
  /// Writes `text` to `name` inside the directory and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

private:
  std::filesystem::path path_;
};

class child_process {
public:
  /// Starts `binary` with `args`; stdout and stderr go to `output_file`.
  child_process(const std::string& binary, const std::vector<std::string>& args,
                std::filesystem::path output_file);
  ~child_process(); // kills the process if it still runs

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Everything the process wrote so far.
  std::string output() const;

  /// Waits until the output contains `needle`; returns the line containing it.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);

  void signal(int sig);

  /// Waits for the process to exit; its exit code, or nothing on timeout (-signal if killed).
  std::optional<int> wait(std::chrono::milliseconds timeout);

  bool running() const {
    return !exited_;
  }

  pid_t pid() const {
    return pid_;
  }

private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::filesystem::path output_file_;
};

/// Runs a command to completion and returns its exit code and output.
struct run_result {
  int exit_code = -1;
  std::string output;
};
run_result run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout = std::chrono::seconds{20});

/// A loopback port nothing is bound to right now, of `socket_type` (SOCK_STREAM or SOCK_DGRAM):
/// the kernel's choice, free again as soon as this returns.
std::uint16_t free_loopback_port(int socket_type);

/// A logfmt field's value from a log line: `field_value("a=1 port=9333", "port") == "9333"`.
std::optional<std::string> field_value(const std::string& line, const std::string& key);

struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
};

/// GET `path` from host:port over a real TCP connection (HTTP/1.0, reads to EOF).
std::optional<http_response> http_get(const std::string& host, std::uint16_t port,
                                      const std::string& path);

/// Connects to host:port; returns the socket, or -1.
int tcp_connect(const std::string& host, std::uint16_t port);

} // namespace qtc::test

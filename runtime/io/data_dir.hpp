// The node's data directory: created if missing and locked for the life of the process, so two
// nodes never share one (the lock is a process resource, like a PID file, held by `main`).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qtc {

class data_dir_lock {
public:
  data_dir_lock() = default;
  data_dir_lock(data_dir_lock&& other) noexcept;
  data_dir_lock& operator=(data_dir_lock&& other) noexcept;
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;
  ~data_dir_lock();

  /// Creates `dir` (and parents) if needed and takes its lock file `<dir>/.lock` without
  /// waiting. On failure returns nothing and sets `error` to a sentence naming the directory.
  static std::optional<data_dir_lock> acquire(const std::filesystem::path& dir, std::string& error);

  const std::filesystem::path& path() const {
    return dir_;
  }

private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

/// Writes a secret (a cookie) to `path` readable by the node's user only (0600): written to
/// `<path>.tmp` under umask 077 and renamed over `path`, so no reader ever sees it half written
/// or with wider permissions. False with `error` naming the file on failure.
bool write_secret_file(const std::filesystem::path& path, const std::string& content,
                       std::string& error);

} // namespace qtc

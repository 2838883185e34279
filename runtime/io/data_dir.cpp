#include "runtime/io/data_dir.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

namespace qtc {

data_dir_lock::data_dir_lock(data_dir_lock&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(other.fd_) {
  other.fd_ = -1;
}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the lock
}

std::optional<data_dir_lock> data_dir_lock::acquire(const std::filesystem::path& dir,
                                                    std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "data directory " + dir.string() + ": cannot create: " + ec.message();
    return std::nullopt;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    error = "data directory " + dir.string() + ": not a directory";
    return std::nullopt;
  }
  auto lock_path = dir / ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "data directory " + dir.string() + ": cannot open " + lock_path.string() + ": "
            + std::strerror(errno);
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    auto why = err == EWOULDBLOCK ? std::string{"in use by another qtcnode process"}
                                  : std::string{std::strerror(err)};
    char pid[32] = {};
    if (err == EWOULDBLOCK && ::pread(fd, pid, sizeof(pid) - 1, 0) > 0)
      why += " (pid " + std::string{pid, std::strcspn(pid, "\n")} + ")";
    ::close(fd);
    error = "data directory " + dir.string() + ": " + why;
    return std::nullopt;
  }
  auto text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The PID is informational; the lock itself is held.
  }
  data_dir_lock result;
  result.dir_ = dir;
  result.fd_ = fd;
  return result;
}

bool write_secret_file(const std::filesystem::path& path, const std::string& content,
                       std::string& error) {
  auto temporary = path;
  temporary += ".tmp";
  std::error_code ec;
  std::filesystem::remove(temporary, ec);
  auto old_mask = ::umask(0077); // created 0600: only the node's user may read it
  {
    std::ofstream out{temporary, std::ios::trunc};
    out << content;
    if (!out.flush()) {
      ::umask(old_mask);
      error = "cannot write " + temporary.string();
      return false;
    }
  }
  ::umask(old_mask);
  std::filesystem::permissions(
      temporary, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    error = "cannot write " + path.string() + ": " + ec.message();
    return false;
  }
  return true;
}

} // namespace qtc

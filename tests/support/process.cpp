#include "support/process.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

namespace qtc::test {

temp_dir::temp_dir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto candidate = base / ("qtc-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path temp_dir::write(const std::string& name, const std::string& text) const {
  auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out{p, std::ios::binary};
  out << text;
  return p;
}

child_process::child_process(const std::string& binary, const std::vector<std::string>& args,
                             std::filesystem::path output_file)
    : output_file_(std::move(output_file)) {
  std::vector<std::string> argv_store{binary};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int fd = ::open(output_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open " + output_file_.string());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    // The test runner may block signals; the child starts with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
}

child_process::~child_process() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

std::string child_process::output() const {
  std::ifstream in{output_file_, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::istringstream lines{output()};
    for (std::string line; std::getline(lines, line);)
      if (line.find(needle) != std::string::npos)
        return line;
    if (std::chrono::steady_clock::now() >= deadline
        || (!running() || wait(std::chrono::milliseconds{0})))
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

void child_process::signal(int sig) {
  if (!exited_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    auto r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  if (WIFEXITED(status_))
    return WEXITSTATUS(status_);
  return -WTERMSIG(status_);
}

run_result run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout) {
  temp_dir tmp;
  child_process p{binary, args, tmp.path() / "output"};
  run_result result;
  auto code = p.wait(timeout);
  if (!code) {
    p.signal(SIGKILL);
    p.wait(std::chrono::seconds{5});
  }
  result.exit_code = code.value_or(-1000);
  result.output = p.output();
  return result;
}

std::optional<std::string> field_value(const std::string& line, const std::string& key) {
  auto pos = line.find(" " + key + "=");
  if (pos == std::string::npos)
    return std::nullopt;
  pos += key.size() + 2;
  if (pos < line.size() && line[pos] == '"') {
    auto end = line.find('"', pos + 1);
    return line.substr(pos + 1, end - pos - 1);
  }
  auto end = line.find(' ', pos);
  return line.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

int tcp_connect(const std::string& host, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1
      || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::optional<http_response> http_get(const std::string& host, std::uint16_t port,
                                      const std::string& path) {
  int fd = tcp_connect(host, port);
  if (fd < 0)
    return std::nullopt;
  auto request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL)
      != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  auto split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || split == std::string::npos)
    return std::nullopt;
  http_response result;
  result.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  result.headers = raw.substr(0, split);
  result.body = raw.substr(split + 4);
  return result;
}

std::uint16_t free_loopback_port(int socket_type) {
  int fd = ::socket(AF_INET, socket_type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace qtc::test

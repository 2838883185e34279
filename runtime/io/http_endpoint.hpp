// A small HTTP server for the node's operator routes (`/metrics`, `/health`, `/ready`), on
// civetweb (Debian's libcivetweb, the server prometheus-cpp's exposer is built on) — no
// hand-written HTTP parsing. Routes answer GET on civetweb's own threads, never on the actor
// scheduler's: a route's function must be thread-safe and must not block for long.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

class CivetServer;

namespace qtc {

/// What a route answers.
struct http_answer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class http_endpoint {
public:
  using route = std::function<http_answer()>;

  /// Listens on `host`:`port` (0: any free port) with `threads` worker threads; throws
  /// std::runtime_error naming the address if it cannot.
  http_endpoint(const std::string& host, std::uint16_t port, int threads = 2);
  ~http_endpoint(); ///< stops serving and joins the threads

  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  /// Serves GET `path` (exactly that path) from `answer`.
  void add(const std::string& path, route answer);

  /// The port actually bound (the chosen one when asked for 0).
  std::uint16_t port() const;

private:
  struct handler;
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<handler>> handlers_;
};

} // namespace qtc

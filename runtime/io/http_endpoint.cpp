#include "runtime/io/http_endpoint.hpp"

#include <stdexcept>

#include <CivetServer.h>

namespace qtc {

struct http_endpoint::handler : CivetHandler {
  explicit handler(route r) : answer(std::move(r)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    http_answer a;
    try {
      a = answer();
    } catch (const std::exception& e) {
      a = {500, "text/plain; charset=utf-8", std::string{"internal error: "} + e.what() + "\n"};
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
              a.status, mg_get_response_code_text(conn, a.status), a.content_type.c_str(),
              a.body.size());
    mg_write(conn, a.body.data(), a.body.size());
    return true;
  }

  route answer;
};

namespace {

std::string bind_text(const std::string& host, std::uint16_t port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

} // namespace

http_endpoint::http_endpoint(const std::string& host, std::uint16_t port, int threads) {
  auto bind = bind_text(host, port);
  std::vector<std::string> options{"listening_ports", bind, "num_threads", std::to_string(threads)};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    throw std::runtime_error("cannot listen on " + bind + ": " + e.what());
  }
}

http_endpoint::~http_endpoint() {
  server_.reset(); // stops the threads before the handlers they call go away
}

void http_endpoint::add(const std::string& path, route answer) {
  handlers_.push_back(std::make_unique<handler>(std::move(answer)));
  server_->addHandler(path + "$", *handlers_.back());
}

std::uint16_t http_endpoint::port() const {
  auto ports = server_->getListeningPorts();
  return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
}

} // namespace qtc

#include "actors/rpc_server.hpp"

#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/io/data_dir.hpp"
#include "runtime/rpc/rpc_methods.hpp"

#include <botan/system_rng.h>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>

#include <httplib.h>

namespace qtc {

namespace {

using json = nlohmann::json;

/// How long an HTTP thread waits for the actor's answer to one call.
constexpr auto call_deadline = std::chrono::seconds{30};

/// HTTP threads: the work queue plus a few to answer 503 while it is full.
constexpr std::size_t http_threads = rpc_work_queue_depth + 8;

/// The listening socket's backlog. Debian's cpp-httplib (0.11.4) listens with a backlog of 5,
/// compiled into its library: a burst of clients overflows it while the accepting thread waits
/// for a core, the kernel falls back to SYN cookies and resets connections whose cookie fails
/// (measured: 40 concurrent clients got `Connection reset by peer`). libevent, under bitcoind,
/// listens with the system's maximum, as does this server.
constexpr int listen_backlog = SOMAXCONN;

} // namespace

/// The HTTP server on its own threads.
class rpc_http {
public:
  rpc_http(caf::actor_system& sys, rpc_actor actor, rpc::rpc_credentials credentials,
           rpc::request_limits limits)
      : sys_(sys), handle_(std::move(actor)), credentials_(std::move(credentials)),
        limits_(limits) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(http_threads); };
    server_.set_socket_options([this](socket_t sock) {
      httplib::default_socket_options(sock);
      listening_socket_ = sock;
    });
    server_.set_payload_max_length(limits_.max_body_bytes);
    server_.Post(R"(/.*)",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    auto not_post = [](const httplib::Request&, httplib::Response& res) {
      res.status = 405;
      res.set_content("JSONRPC server handles only POST requests", "text/plain");
    };
    server_.Get(R"(/.*)", not_post);
    server_.Put(R"(/.*)", not_post);
    server_.Delete(R"(/.*)", not_post);
    server_.Patch(R"(/.*)", not_post);
  }

  /// Binds host:port (0: any free port); the port, or -1.
  int bind(const std::string& host, int port) {
    auto bound =
        port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    // listen() again on a listening socket only changes its backlog (Linux, POSIX).
    if (bound > 0 && listening_socket_ != INVALID_SOCKET
        && ::listen(listening_socket_, listen_backlog) != 0)
      return -1;
    return bound;
  }

  void start() {
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  void stop() {
    server_.stop();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void handle(const httplib::Request& req, httplib::Response& res);
  std::pair<json, std::optional<rpc::rpc_error>> execute(const rpc::call& c);

  caf::actor_system& sys_;
  rpc_actor handle_;
  rpc::rpc_credentials credentials_;
  rpc::request_limits limits_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> in_flight_{0};
  socket_t listening_socket_ = INVALID_SOCKET;
};

std::pair<json, std::optional<rpc::rpc_error>> rpc_http::execute(const rpc::call& c) {
  if (c.error)
    return {nullptr, c.error};
  const auto* method = rpc::find_method(c.method);
  if (method == nullptr)
    return {nullptr, rpc::rpc_error{rpc::error_code::method_not_found, "Method not found"}};
  auto bound = rpc::bind_params(*method, c.params);
  if (auto* error = std::get_if<rpc::rpc_error>(&bound))
    return {nullptr, *error};
  auto params = json(std::get<std::vector<json>>(bound)).dump();
  std::pair<json, std::optional<rpc::rpc_error>> out;
  caf::scoped_actor self{sys_};
  self->request(handle_, call_deadline, rpc_atom::value, std::string{method->name}, params)
      .receive(
          [&](const std::string& envelope) {
            auto answer = json::parse(envelope, nullptr, false);
            if (auto e = answer.find("error"); e != answer.end())
              out.second = rpc::rpc_error{static_cast<rpc::error_code>((*e)["code"].get<int>()),
                                          (*e)["message"].get<std::string>()};
            else
              out.first = answer["result"];
          },
          [&](const caf::error& err) {
            out.second = rpc::rpc_error{rpc::error_code::misc_error, "the RPC server could not run "
                                                                         + c.method + ": "
                                                                         + render_error(err)};
          });
  return out;
}

void rpc_http::handle(const httplib::Request& req, httplib::Response& res) {
  // The work queue first, as bitcoind: a full queue answers before anything else is read.
  struct slot {
    std::atomic<int>& n;
    ~slot() {
      --n;
    }
  } taken{in_flight_};
  if (in_flight_.fetch_add(1) >= rpc_work_queue_depth) {
    res.status = 503;
    res.set_content("Work queue depth exceeded", "text/plain");
    return;
  }
  if (!credentials_.accepts(req.get_header_value("Authorization"))) {
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"jsonrpc\"");
    return;
  }
  auto body = rpc::parse_body(req.body, limits_);
  if (body.error) {
    res.status = rpc::http_status_of(*body.error);
    res.set_content(rpc::to_text(rpc::body_error_reply(*body.error)), "application/json");
    return;
  }
  if (!body.batch) {
    const auto& c = body.calls.front();
    auto [result, error] = execute(c);
    if (c.notification() && !c.error) {
      res.status = 204;
      return;
    }
    res.status = error ? rpc::http_status_of(c, *error) : 200;
    res.set_content(rpc::to_text(error ? rpc::error_reply(c, *error)
                                       : rpc::success_reply(c, std::move(result))),
                    "application/json");
    return;
  }
  json replies = json::array();
  for (const auto& c : body.calls) {
    auto [result, error] = execute(c);
    if (c.notification() && !c.error)
      continue;
    replies.push_back(error ? rpc::error_reply(c, *error)
                            : rpc::success_reply(c, std::move(result)));
  }
  res.status = 200;
  res.set_content(rpc::to_text(replies), "application/json");
}

namespace {

/// Writes `<data-dir>/.cookie` (0600) with a new random cookie; the cookie, or "" on failure.
std::string write_cookie(const std::filesystem::path& path, std::string& error) {
  std::array<std::uint8_t, 32> random{};
  Botan::System_RNG().randomize(random.data(), random.size());
  auto cookie = rpc::make_cookie(random);
  return write_secret_file(path, cookie, error) ? cookie : std::string{};
}

} // namespace

std::string result_envelope(const json& result) {
  return json{{"result", result}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_envelope(const rpc::rpc_error& error) {
  return json{{"error", error.to_json()}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

rpc_actor::behavior_type rpc_server(rpc_pointer self, rpc_server_config config,
                                    supervisor_actor parent) {
  auto& st = self->state;
  st.log = logger{self->system(), "rpc"};
  st.parent = std::move(parent);
  st.config = std::move(config);
  rpc::rpc_credentials credentials;
  for (const auto& e : st.config.rpcauth)
    credentials.add(e);
  auto cookie_path = st.config.data_dir / ".cookie";
  std::string error;
  auto cookie = write_cookie(cookie_path, error);
  if (cookie.empty()) {
    st.log.error("rpc cookie failed", {{"reason", error}});
    self->quit(make_error(errc::data_dir_unusable, "rpc: " + error));
    return rpc_actor::behavior_type::make_empty_behavior();
  }
  credentials.set_cookie(cookie);
  st.http = std::make_shared<rpc_http>(self->system(), rpc_actor{self}, std::move(credentials),
                                       st.config.limits);
  auto port = st.http->bind(st.config.host, st.config.port < 0 ? 0 : st.config.port);
  if (port < 0) {
    std::filesystem::remove(cookie_path);
    auto what = "cannot listen on " + st.config.host + ":" + std::to_string(st.config.port);
    st.log.error("rpc endpoint failed", {{"reason", what}});
    self->quit(make_error(errc::bind_failed, "rpc: " + what));
    return rpc_actor::behavior_type::make_empty_behavior();
  }
  st.http->start();
  // After the actor's mailbox is closed (calls waiting in it are answered with an error), so
  // the HTTP threads joined here are never waiting for this actor.
  self->attach_functor([http = st.http, cookie_path] {
    http->stop();
    std::error_code ec;
    std::filesystem::remove(cookie_path, ec);
  });
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& st = self->state;
    // A sibling that stopped is asked for again by the next call that needs it.
    st.sync.lost(down) || st.storage.lost(down) || st.security.lost(down) || st.peers.lost(down);
  });
  st.address = st.config.host + ":" + std::to_string(port);
  st.log.info(
      "rpc listening",
      {{"address", st.address}, {"port", std::to_string(port)}, {"cookie", cookie_path.string()}});
  return {
      [self](status_atom, status_verbosity) -> status_report {
        status_report r;
        report(r, "name", "rpc");
        report(r, "state", "serving");
        report(r, "address", self->state.address);
        report(r, "calls", self->state.calls);
        report(r, "failed-calls", self->state.failed_calls);
        return r;
      },
      [self](rpc_atom, const std::string& method, const std::string& params) {
        auto promise = self->make_response_promise<std::string>();
        ++self->state.calls;
        run_call(self, method, json::parse(params, nullptr, false), promise);
        return promise;
      },
      [self](close_atom) {
        self->state.log.info("stop requested over rpc", {});
        if (self->state.config.request_shutdown)
          self->state.config.request_shutdown();
      },
  };
}

} // namespace qtc

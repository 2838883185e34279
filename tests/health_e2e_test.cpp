// The health checks over real HTTP (`/health`, `/ready` on the metrics port) of real qtcnode
// processes, in the states that make them fail: a dead resolver (dns_seed_resolution), seeds
// whose addresses nobody listens on (peer_connection), serving nodes that stop answering in
// the middle of a sync (sync_progress, and /ready), and back to healthy when they resume.
// The e2e network of tests/support/e2e_network.hpp (dnsmasq, four serving nodes).
#include "support/e2e_network.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// The e2e network's nodes run without metrics; these run them on a free port.
const std::string metrics_on = "--qtcnode.metrics-port=0";

/// The metrics port a node logged ("serving metrics ... port=N").
std::uint16_t metrics_port(child_process& node) {
  auto line = node.wait_for_line("msg=\"serving metrics\"", 30s);
  REQUIRE_MESSAGE(line, node.output());
  auto port = field_value(*line, "port");
  REQUIRE(port);
  return static_cast<std::uint16_t>(std::stoi(*port));
}

struct verdict {
  int status = 0;
  json body;
};

verdict get(std::uint16_t port, const std::string& path) {
  auto r = http_get("127.0.0.1", port, path);
  REQUIRE(r);
  CHECK(r->headers.find("Content-Type: application/json") != std::string::npos);
  auto body = json::parse(r->body, nullptr, false);
  REQUIRE_MESSAGE(body.is_object(), r->body);
  return {r->status, body};
}

/// Polls `path` until `check`'s status is `status` (up to `limit`); the last verdict.
verdict wait_for_check(std::uint16_t port, const std::string& path, const std::string& check,
                       const std::string& status, std::chrono::seconds limit) {
  verdict v;
  auto until = std::chrono::steady_clock::now() + limit;
  do {
    v = get(port, path);
    if (v.body["checks"].contains(check) && v.body["checks"][check]["status"] == status)
      return v;
    std::this_thread::sleep_for(250ms);
  } while (std::chrono::steady_clock::now() < until);
  FAIL_CHECK(path << " never had " << check << " " << status << ": " << v.body.dump());
  return v;
}

} // namespace

TEST_SUITE("e2e") {

  TEST_CASE("e2e health: a node synced from DNS-found peers is healthy and ready, a dead "
            "resolver fails dns_seed_resolution") {
    e2e_network net{71};
    net.start_dns();
    net.start_serving();
    net.start_fresh(net.dns_server(), {metrics_on});
    auto port = metrics_port(*net.fresh);
    net.expect_synced();
    auto h = wait_for_check(port, "/health", "sync_progress", "pass", 10s);
    CHECK(h.status == 200);
    CHECK(h.body["status"] == "pass");
    for (const char* name : {"dns_seed_resolution", "peer_connection", "message_latency",
                             "security_events", "sync_progress"})
      CHECK_MESSAGE(h.body["checks"][name]["status"] == "pass", name << ": " << h.body.dump());
    auto r = get(port, "/ready");
    CHECK(r.status == 200);
    CHECK(r.body["checks"]["synced_or_syncing"]["status"] == "pass");
    auto scrape = http_get("127.0.0.1", port, "/metrics");
    REQUIRE(scrape);
    CHECK(scrape->body.find("quantumcoin_health_check_status{check=\"sync_progress\"} 1")
          != std::string::npos);
    CHECK(scrape->body.find("quantumcoin_ready 1") != std::string::npos);

    // Another node whose only resolver is a port where nothing listens.
    auto dead = "127.0.0.1:" + std::to_string(free_loopback_port(SOCK_DGRAM));
    auto args = net.node_args("lonely", net.ip(21), dead);
    args.push_back(metrics_on);
    child_process lonely{qtcnode, args, net.dir.path() / "lonely.log"};
    auto lonely_port = metrics_port(lonely);
    auto d = wait_for_check(lonely_port, "/health", "dns_seed_resolution", "fail", 30s);
    CHECK(d.status == 503);
    CHECK(d.body["status"] == "fail");
    CHECK(d.body["checks"]["dns_seed_resolution"]["value"] == 0.0);
    CHECK(lonely.wait_for_line("msg=\"health check failed\" check=dns_seed_resolution", 5s));
  }

  TEST_CASE("e2e health: seeds whose addresses nobody listens on fail peer_connection") {
    e2e_network net{72};
    net.start_dns(); // answers with the serving nodes' addresses, but none is started
    net.start_fresh(net.dns_server(), {metrics_on});
    auto port = metrics_port(*net.fresh);
    auto v = wait_for_check(port, "/health", "peer_connection", "fail", 60s);
    CHECK(v.status == 503);
    CHECK(v.body["checks"]["peer_connection"]["value"] == 0.0);
    CHECK(v.body["checks"]["dns_seed_resolution"]["status"] == "pass");
  }

  TEST_CASE("e2e health: a sync whose peers stop answering fails sync_progress and /ready, and "
            "passes again once they resume") {
    e2e_network net{73};
    net.start_dns();
    net.start_serving();
    net.start_fresh(net.dns_server(), {metrics_on, "--qtcnode.health-sync-stall=5"});
    auto port = metrics_port(*net.fresh);
    auto headers = net.fresh->wait_for_line("msg=\"sync progress\" headers=10000", 60s);
    REQUIRE_MESSAGE(headers, net.fresh->output());
    // Every serving node freezes (SIGSTOP): their sockets stay open, nothing more arrives.
    for (auto& s : net.serving)
      s->signal(SIGSTOP);
    REQUIRE_MESSAGE(net.fresh->output().find("msg=\"sync complete\"") == std::string::npos,
                    "the sync completed before the peers froze");
    auto v = wait_for_check(port, "/health", "sync_progress", "fail", 30s);
    CHECK(v.status == 503);
    CHECK(v.body["checks"]["sync_progress"]["value"].get<double>() >= 5);
    auto r = get(port, "/ready");
    CHECK(r.status == 503);
    CHECK(r.body["checks"]["synced_or_syncing"]["status"] == "fail");
    for (auto& s : net.serving)
      s->signal(SIGCONT);
    net.expect_synced();
    verdict back;
    for (int i = 0; i < 40; ++i) {
      back = get(port, "/health");
      if (back.body["checks"]["sync_progress"]["detail"] == "synced at height 10000")
        break;
      std::this_thread::sleep_for(250ms);
    }
    CHECK(back.body["checks"]["sync_progress"]["detail"] == "synced at height 10000");
    CHECK(back.body["checks"]["sync_progress"]["status"] == "pass");
    CHECK(get(port, "/ready").status == 200);
  }
}

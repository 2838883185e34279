// The metrics actor under the simulation harness, scraped over real HTTP.
#include "actors/metrics.hpp"
#include "actors/support/metric_names.hpp"
#include "messages/errors.hpp"
#include "support/process.hpp"
#include "support/simulation.hpp"

using namespace qtc;

namespace {

struct fixture : test::simulation {
  metrics_actor metrics_handle;
  std::uint16_t port = 0;

  fixture() {
    metrics_handle = own(sys.spawn(metrics, metrics_endpoint{"127.0.0.1", 0}));
    run();
    auto report =
        request<status_report>(metrics_handle, status_atom::value, status_verbosity::info);
    REQUIRE(report);
    auto address = caf::get_or(*report, "address", std::string{});
    port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  std::string scrape() {
    auto response = test::http_get("127.0.0.1", port, "/metrics");
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return response->body;
  }

  /// Whether a scrape has `line` as a whole line.
  static bool has_line(const std::string& body, const std::string& line) {
    return body.find(line + "\n") != std::string::npos;
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "restarts are counted by actor name") {
  auto before = scrape();
  CHECK(before.find("quantumcoin_actor_restarts_total{actor=\"storage\"}") == std::string::npos);
  self->send(metrics_handle,
             supervision_event{supervision_event_kind::restarted, "root", "storage", "boom"});
  self->send(metrics_handle,
             supervision_event{supervision_event_kind::restarted, "root", "storage", "boom"});
  self->send(metrics_handle,
             supervision_event{supervision_event_kind::restarted, "root", "nat", "boom"});
  self->send(metrics_handle,
             supervision_event{supervision_event_kind::started, "root", "sync", ""});
  self->send(metrics_handle,
             supervision_event{supervision_event_kind::escalated, "peers", "", "x"});
  run();
  auto after = scrape();
  CHECK(after.find("quantumcoin_actor_restarts_total{actor=\"storage\"} 2") != std::string::npos);
  CHECK(after.find("quantumcoin_actor_restarts_total{actor=\"nat\"} 1") != std::string::npos);
  // A started actor's series is there at zero (so rate() and dashboards see it).
  CHECK(after.find("quantumcoin_actor_restarts_total{actor=\"sync\"} 0") != std::string::npos);
  CHECK(after.find("quantumcoin_supervisor_escalations_total{supervisor=\"peers\"} 1")
        != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "counters and gauges take updates, unknown families are ignored") {
  self->send(metrics_handle, count_atom::value, std::string{"quantumcoin_bytes_sent_total"},
             metric_labels{}, 1500.0);
  self->send(metrics_handle, count_atom::value, std::string{"quantumcoin_bytes_sent_total"},
             metric_labels{}, -5.0); // counters never go down
  self->send(metrics_handle, gauge_atom::value, std::string{"quantumcoin_sync_progress"},
             metric_labels{}, 0.25);
  self->send(metrics_handle, gauge_atom::value, std::string{"no_such_family"}, metric_labels{},
             1.0);
  run();
  auto body = scrape();
  CHECK(body.find("quantumcoin_bytes_sent_total 1500") != std::string::npos);
  CHECK(body.find("quantumcoin_sync_progress 0.25") != std::string::npos);
  CHECK(body.find("no_such_family") == std::string::npos);
  CHECK(body.find("quantumcoin_build_info{version=\"" QTC_VERSION "\"} 1") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "a batch of observations counts as each observed alone") {
  const std::string family = metric_names::block_processing_seconds;
  self->send(metrics_handle, observe_atom::value, family, metric_labels{}, 0.002);
  self->send(metrics_handle, observe_atom::value, family, metric_labels{},
             std::vector<double>{0.00001, 0.003, 0.5});
  run();
  auto body = scrape();
  CHECK(has_line(body, family + "_count 4"));
  CHECK(has_line(body, family + "_sum 0.50501"));
  CHECK(has_line(body, family + "_bucket{le=\"+Inf\"} 4"));
}

TEST_CASE_FIXTURE(fixture, "a batch of counter increments adds each to its own series") {
  const std::string messages = metric_names::messages_total;
  const std::string bytes = metric_names::message_bytes_total;
  metric_labels ping{{"direction", "sent"}, {"command", "ping"}};
  metric_labels block{{"direction", "received"}, {"command", "block"}};
  self->send(metrics_handle, count_atom::value, messages, ping, 1.0);
  self->send(metrics_handle, count_atom::value,
             std::vector<metric_increment>{{messages, ping, 2},
                                           {bytes, ping, 64},
                                           {messages, block, 3},
                                           {bytes, block, -7}, // counters never go down
                                           {"no_such_family", {}, 1}});
  run();
  auto body = scrape();
  CHECK(has_line(body, messages + "{command=\"ping\",direction=\"sent\"} 3"));
  CHECK(has_line(body, bytes + "{command=\"ping\",direction=\"sent\"} 64"));
  CHECK(has_line(body, messages + "{command=\"block\",direction=\"received\"} 3"));
  CHECK(
      has_line(body, bytes + "{command=\"block\",direction=\"received\"} 0")); // pre-created, at 0
  CHECK(body.find("no_such_family") == std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "every family of metric_names is registered and exported") {
  // A family without a series yet is not in the scrape: give each one (counter or gauge, the
  // other update is ignored as unknown) a labelled series first.
  for (const char* name : metric_names::all) {
    self->send(metrics_handle, count_atom::value, std::string{name}, metric_labels{{"probe", "1"}},
               1.0);
    self->send(metrics_handle, gauge_atom::value, std::string{name}, metric_labels{{"probe", "1"}},
               1.0);
  }
  run();
  auto body = scrape();
  for (const char* name : metric_names::all) {
    CAPTURE(std::string{name});
    CHECK(body.find(std::string{"# HELP "} + name + " ") != std::string::npos);
  }
}

TEST_CASE_FIXTURE(test::simulation, "a metrics endpoint that cannot bind fails its actor") {
  // Occupy a port with a first exposer, then ask a second one for the same port.
  auto first = own(sys.spawn(metrics, metrics_endpoint{"127.0.0.1", 0}));
  run();
  auto report = request<status_report>(first, status_atom::value, status_verbosity::info);
  REQUIRE(report);
  auto address = caf::get_or(*report, "address", std::string{});
  auto port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  auto second = sys.spawn(metrics, metrics_endpoint{"127.0.0.1", port});
  self->monitor(second);
  run();
  auto downs = inbox<caf::down_msg>();
  REQUIRE(downs.size() == 1);
  CHECK(render_error(downs[0].reason)
            .find("metrics: cannot listen on 127.0.0.1:" + std::to_string(port))
        != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "/health and /ready serve the health actor's last verdicts, 503 "
                           "before the first, selectors sum the matching series") {
  auto before = test::http_get("127.0.0.1", port, "/health");
  REQUIRE(before);
  CHECK(before->status == 503);
  CHECK(before->body.find("no verdict of the health actor") != std::string::npos);
  self->send(metrics_handle, put_atom::value,
             health_snapshot{"{\"status\": \"pass\"}\n", true, "{\"status\": \"fail\"}\n", false});
  run();
  auto health = test::http_get("127.0.0.1", port, "/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "{\"status\": \"pass\"}\n");
  CHECK(health->headers.find("Content-Type: application/json") != std::string::npos);
  auto ready = test::http_get("127.0.0.1", port, "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK(ready->body == "{\"status\": \"fail\"}\n");
  CHECK(test::http_get("127.0.0.1", port, "/healthz")->status == 404);

  namespace m = metric_names;
  self->send(metrics_handle, count_atom::value, std::string{m::dns_queries_total},
             metric_labels{{"type", "A"}, {"result", "failed"}}, 3.0);
  self->send(metrics_handle, count_atom::value, std::string{m::dns_queries_total},
             metric_labels{{"type", "TXT"}, {"result", "failed"}}, 2.0);
  self->send(metrics_handle, count_atom::value, std::string{m::dns_queries_total},
             metric_labels{{"type", "A"}, {"result", "answered"}}, 7.0);
  self->send(metrics_handle, gauge_atom::value, std::string{m::sync_height}, metric_labels{}, 42.0);
  run();
  auto sums = request<std::vector<double>>(
      metrics_handle, get_atom::value, metric_atom::value,
      std::vector<metric_labels>{{{"__name__", m::dns_queries_total}, {"result", "failed"}},
                                 {{"__name__", m::dns_queries_total}},
                                 {{"__name__", m::sync_height}},
                                 {{"__name__", "quantumcoin_no_such_family"}}});
  REQUIRE(sums);
  CHECK(*sums == std::vector<double>{5.0, 12.0, 42.0, 0.0});
}

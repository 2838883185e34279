// The node's metrics checked by the real tools: a node synced from DNS-found peers (the e2e
// network of tests/support/e2e_network.hpp) is scraped; `promtool check metrics` finds no problem
// in the scrape; every metric the shipped Grafana dashboard and alert rules name is in it; and a
// real Prometheus server, started here with the shipped rules, scrapes the node and answers a
// query for its sync height over its HTTP API.
#include "support/e2e_network.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string promtool = "/usr/bin/promtool";
const std::string prometheus = "/usr/bin/prometheus";

/// The families of a scrape, by name, with their type ("counter", "gauge", "histogram", ...).
std::map<std::string, std::string> families_of(const std::string& scrape) {
  std::map<std::string, std::string> out;
  std::istringstream lines{scrape};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0)
      continue;
    std::istringstream words{line.substr(7)};
    std::string name, type;
    words >> name >> type;
    out[name] = type;
  }
  return out;
}

/// The metric names in `text` (PromQL expressions): words starting quantumcoin_ or process_.
std::set<std::string> metric_names_in(const std::string& text) {
  std::set<std::string> out;
  static const std::regex name{"\\b(quantumcoin|process)_[a-z0-9_]+"};
  for (std::sregex_iterator i{text.begin(), text.end(), name}, end; i != end; ++i)
    out.insert(i->str());
  return out;
}

/// Whether `name` is exported: a family, or a histogram's or summary's series.
bool exported(const std::map<std::string, std::string>& families, const std::string& name) {
  if (families.count(name))
    return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s{suffix};
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = families.find(name.substr(0, name.size() - s.size()));
      if (base != families.end() && (base->second == "histogram" || base->second == "summary"))
        return true;
    }
  }
  return false;
}

/// Every string under the keys "expr", "query" and "definition" of a Grafana dashboard.
void collect_expressions(const json& j, std::string& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if ((key == "expr" || key == "query" || key == "definition") && value.is_string())
        out += value.get<std::string>() + "\n";
      collect_expressions(value, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j)
      collect_expressions(v, out);
  }
}

} // namespace

TEST_SUITE("e2e") {

  TEST_CASE("e2e metrics: promtool finds no problem in a scrape, the dashboard and alert rules "
            "use only exported metrics, and a real Prometheus scrapes the sync height") {
    e2e_network net{74};
    net.start_dns();
    net.start_serving();
    net.start_fresh(net.dns_server(), {"--qtcnode.metrics-port=0"});
    auto serving = net.fresh->wait_for_line("msg=\"serving metrics\"", 30s);
    REQUIRE_MESSAGE(serving, net.fresh->output());
    auto port_text = field_value(*serving, "port");
    REQUIRE(port_text);
    auto port = static_cast<std::uint16_t>(std::stoi(*port_text));
    net.expect_synced();
    std::this_thread::sleep_for(2s); // a health verdict of the synced node

    // Traffic by command: every block came in a `block` message (the sessions report every 5 s).
    const std::string blocks_in =
        "quantumcoin_messages_total{command=\"block\",direction=\"received\"} ";
    std::optional<http_response> scrape;
    double blocks_received = 0;
    for (int i = 0; i < 30 && blocks_received < chain_length; ++i) {
      std::this_thread::sleep_for(500ms);
      scrape = http_get("127.0.0.1", port, "/metrics");
      REQUIRE(scrape);
      REQUIRE(scrape->status == 200);
      if (auto at = scrape->body.find(blocks_in); at != std::string::npos)
        blocks_received = std::stod(scrape->body.substr(at + blocks_in.size()));
    }
    CHECK(blocks_received == chain_length);
    CHECK(
        scrape->body.find("quantumcoin_message_bytes_total{command=\"other\",direction=\"sent\"} 0")
        != std::string::npos);
    auto file = net.dir.write("scrape.txt", scrape->body);
    auto lint =
        run_to_completion("/bin/sh", {"-c", promtool + " check metrics < " + file.string()}, 30s);
    CHECK_MESSAGE(lint.exit_code == 0, lint.output);
    CHECK_MESSAGE(lint.output.empty(), lint.output);

    auto families = families_of(scrape->body);
    auto dashboard = json::parse(read_text(source_dir / "config" / "grafana" / "qtcnode.json"));
    std::string expressions;
    collect_expressions(dashboard, expressions);
    auto used = metric_names_in(expressions);
    CHECK(used.size() >= 20);
    auto rules = read_text(source_dir / "config" / "prometheus" / "alerts.yml");
    auto alerting = metric_names_in(rules);
    CHECK(alerting.size() >= 10);
    used.insert(alerting.begin(), alerting.end());
    for (const auto& name : used)
      CHECK_MESSAGE(exported(families, name), name << " is not in the scrape");

    // A real Prometheus, with the shipped rules, scraping the node every second.
    auto web = free_loopback_port(SOCK_STREAM);
    auto config = net.dir.write(
        "prometheus.yml",
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - "
            + (source_dir / "config" / "prometheus" / "alerts.yml").string()
            + "\nscrape_configs:\n  - job_name: qtcnode\n    static_configs:\n      - targets: "
              "['127.0.0.1:"
            + std::to_string(port) + "']\n");
    child_process server{prometheus,
                         {"--config.file=" + config.string(),
                          "--storage.tsdb.path=" + (net.dir.path() / "tsdb").string(),
                          "--web.listen-address=127.0.0.1:" + std::to_string(web)},
                         net.dir.path() / "prometheus.log"};
    REQUIRE_MESSAGE(server.wait_for_line("Server is ready to receive web requests", 30s),
                    server.output());
    std::string height;
    for (int i = 0; i < 60 && height.empty(); ++i) {
      std::this_thread::sleep_for(500ms);
      auto r = http_get("127.0.0.1", web, "/api/v1/query?query=quantumcoin_sync_height");
      if (!r || r->status != 200)
        continue;
      auto answer = json::parse(r->body, nullptr, false);
      if (answer.is_object() && answer["status"] == "success" && !answer["data"]["result"].empty())
        height = answer["data"]["result"][0]["value"][1].get<std::string>();
    }
    CHECK(height == std::to_string(chain_length));
    auto loaded = http_get("127.0.0.1", web, "/api/v1/rules");
    REQUIRE(loaded);
    auto groups = json::parse(loaded->body, nullptr, false)["data"]["groups"];
    REQUIRE(groups.size() == 1);
    CHECK(groups[0]["rules"].size() == 10);
    for (const auto& rule : groups[0]["rules"])
      CHECK_MESSAGE(rule["health"] != "err", rule.dump());
  }
}

// The message catalog: registered names, binary round trips, JSON and log rendering.
#include "messages/catalog.hpp"
#include "messages/interfaces.hpp"
#include "messages/json.hpp"
#include "support/simulation.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

template <class T>
T round_trip(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(x));
  T y{};
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(y));
  return y;
}

} // namespace

TEST_CASE_FIXTURE(test::simulation, "every catalog type is registered under its name") {
  for (const auto& name : catalog_type_names()) {
    CAPTURE(name);
    CHECK(sys.types().make_value(name) != nullptr);
  }
}

TEST_CASE_FIXTURE(test::simulation, "catalog types survive CAF's binary serialization") {
  supervision_event ev{supervision_event_kind::restarted, "root", "storage", "qtc.bind_failed: x"};
  auto ev2 = round_trip(sys, ev);
  CHECK(ev2.kind == ev.kind);
  CHECK(ev2.supervisor == "root");
  CHECK(ev2.child == "storage");
  CHECK(ev2.reason == ev.reason);
  log_record rec{caf::make_timestamp(),
                 log_level::warning,
                 "n1",
                 "peers",
                 "peer banned",
                 {{"peer", "127.0.0.2:18444"}, {"score", "100"}}};
  auto rec2 = round_trip(sys, rec);
  CHECK(rec2.time == rec.time);
  CHECK(rec2.level == log_level::warning);
  CHECK(rec2.fields == rec.fields);
  child_info info{"metrics", caf::actor{}, restart_type::transient, false, 3};
  auto info2 = round_trip(sys, info);
  CHECK(info2.name == "metrics");
  CHECK(info2.restart == restart_type::transient);
  CHECK(info2.restarts == 3);
}

TEST_CASE("catalog types render as JSON objects with field names") {
  supervision_event ev{supervision_event_kind::escalated, "root", "peers", "boom"};
  auto j = to_json_value(ev);
  CHECK(j["@type"] == "supervision_event");
  CHECK(j["kind"] == "escalated");
  CHECK(j["supervisor"] == "root");
  CHECK(j["child"] == "peers");
  CHECK(j["reason"] == "boom");
  log_record rec{caf::make_timestamp(),   log_level::info, "", "main", "starting",
                 {{"network", "regtest"}}};
  auto r = to_json_value(rec);
  CHECK(r["level"] == "info");
  CHECK(r["fields"]["network"] == "regtest");
}

TEST_CASE("a whole message renders as a JSON array") {
  auto msg =
      caf::make_message(status_atom::value, status_verbosity::detailed,
                        supervision_event{supervision_event_kind::started, "root", "nat", ""});
  auto j = message_to_json(msg);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 3);
  CHECK(j[0].get<std::string>().find("status") != std::string::npos);
  CHECK(j[1] == "detailed");
  CHECK(j[2]["child"] == "nat");
}

TEST_CASE("status reports render as nested JSON") {
  status_report report;
  caf::put(report, "name", "root");
  caf::put(report, "children", caf::config_value::integer{8});
  caf::config_value::list kids;
  caf::settings kid;
  caf::put(kid, "name", "storage");
  kids.emplace_back(std::move(kid));
  caf::put(report, "child-list", std::move(kids));
  auto j = to_json_value(report);
  CHECK(j["name"] == "root");
  CHECK(j["children"] == 8);
  CHECK(j["child-list"][0]["name"] == "storage");
}

TEST_CASE("log records render as one logfmt line, quoting where needed") {
  log_record rec{caf::timestamp{} + 1'700'000'000s + 123ms,
                 log_level::error,
                 "n1",
                 "supervisor/root",
                 "restart intensity exceeded",
                 {{"reason", "a \"quoted\" = thing"}, {"child", "x"}}};
  CHECK(format_logfmt(rec)
        == "ts=2023-11-14T22:13:20.123Z level=error node=n1 actor=supervisor/root "
           "msg=\"restart intensity exceeded\" reason=\"a \\\"quoted\\\" = thing\" child=x");
  rec.fields = {{"text", "line\nbreak"}};
  CHECK(format_logfmt(rec).find("text=\"line\\nbreak\"") != std::string::npos);
}

TEST_CASE("durations render for humans") {
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(5s) == "5s");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(150s) == "2m30s");
  CHECK(format_duration(120s) == "2m");
  CHECK(format_duration(caf::timespan{1500}) == "1500ns");
  CHECK(format_duration(std::chrono::microseconds{20}) == "20us");
}

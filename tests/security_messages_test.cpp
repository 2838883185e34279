#include "messages/security.hpp"
#include "runtime/net/report_gate.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace qtc;

TEST_SUITE_BEGIN("security");

TEST_CASE("security vocabulary: every offence kind has one name that parses back to it") {
  std::set<std::string> names;
  for (std::size_t i = 0; i < offence_count; ++i) {
    auto kind = static_cast<offence>(i);
    auto name = to_string(kind);
    CAPTURE(name);
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
    CHECK(parse_offence(name) == kind);
  }
  CHECK(to_string(offence::bad_checksum) == "bad-checksum");
  CHECK(to_string(offence::getdata_amplification) == "getdata-amplification");
  CHECK_FALSE(parse_offence("bad_checksum"));
  CHECK_FALSE(parse_offence(""));
  CHECK(to_string(verdict::ban_forever) == "ban-forever");
  CHECK(to_string(verdict::discourage) == "discourage");
}

TEST_CASE("report gate: a flood is reported once a minute per kind of offence") {
  report_gate gate;
  auto t = report_gate::time_point{}; // the clock's epoch is a time like any other
  CHECK(gate.due(offence::addr_flood, t));
  CHECK_FALSE(gate.due(offence::addr_flood, t + std::chrono::seconds{59}));
  CHECK(gate.due(offence::inv_flood, t + std::chrono::seconds{59})); // kinds apart
  CHECK(gate.due(offence::addr_flood, t + std::chrono::seconds{60}));
  CHECK_FALSE(gate.due(offence::addr_flood, t + std::chrono::seconds{119}));
}

TEST_SUITE_END();

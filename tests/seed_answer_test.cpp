// How a DNS seed's answer is read (runtime/io/seed_answer), the rules the DNS seeder and
// qtc-network-test share.
#include "runtime/io/seed_answer.hpp"

#include <doctest/doctest.h>

#include <set>
#include <thread>

using namespace qtc;

namespace {

dns_answer answer(dns_type type, std::vector<dns_record> records) {
  dns_answer a;
  a.type = type;
  a.records = std::move(records);
  return a;
}

dns_record txt(std::string text) {
  dns_record r;
  r.text = std::move(text);
  return r;
}

} // namespace

TEST_CASE("seed answer: A and AAAA records are addresses on the default port") {
  dns_record v4, v6;
  v4.ip = *parse_ip("192.0.2.7");
  v6.ip = *parse_ip("2001:db8::1");
  auto a = targets_of(answer(dns_type::a, {v4}), 18444);
  REQUIRE(a.targets.size() == 1);
  CHECK(a.targets[0].ip == v4.ip);
  CHECK(a.targets[0].host == "192.0.2.7");
  CHECK(a.targets[0].port == 18444);
  auto aaaa = targets_of(answer(dns_type::aaaa, {v6}), 8333);
  REQUIRE(aaaa.targets.size() == 1);
  CHECK(aaaa.targets[0].port == 8333);
}

TEST_CASE("seed answer: SRV names a host and its port, and an address target needs no lookup") {
  dns_record by_name, by_address, bad;
  by_name.target = "node3.example.org";
  by_name.port = 9000;
  by_address.target = "198.51.100.4";
  by_address.port = 9001;
  bad.target = "under_score..example";
  bad.port = 9002;
  auto r = targets_of(answer(dns_type::srv, {by_name, by_address, bad}), 18444);
  REQUIRE(r.targets.size() == 2);
  CHECK(r.targets[0].host == "node3.example.org");
  CHECK_FALSE(r.targets[0].ip);
  CHECK(r.targets[0].port == 9000);
  CHECK(r.targets[1].ip == parse_ip("198.51.100.4"));
  CHECK(r.targets[1].port == 9001);
  REQUIRE(r.rejected.size() == 1);
  CHECK(r.rejected[0].entry == "under_score..example");
  CHECK(r.rejected[0].reason == "not a valid host name");
}

TEST_CASE("seed answer: TXT holds whitespace-separated entries with pins and tls:") {
  auto pin = std::string(64, 'a');
  auto r = targets_of(answer(dns_type::txt, {txt("192.0.2.1:18444\t tls:" + pin
                                                 + "@node.example.org:18445  junk [::1]:7")}),
                      1);
  REQUIRE(r.targets.size() == 3);
  CHECK(r.targets[0].ip == parse_ip("192.0.2.1"));
  CHECK(r.targets[0].port == 18444);
  CHECK(r.targets[1].host == "node.example.org");
  CHECK(r.targets[1].pubkey_hex == pin);
  CHECK(r.targets[1].tls_only);
  CHECK(r.targets[1].port == 18445);
  CHECK(r.targets[2].ip == parse_ip("::1"));
  CHECK(r.targets[2].port == 7);
  REQUIRE(r.rejected.size() == 1);
  CHECK(r.rejected[0].entry == "junk");
  CHECK_FALSE(r.rejected[0].reason.empty());
}

TEST_CASE("seed answer: a failed answer names nothing, and a bootstrap entry is read the same way") {
  auto failed = answer(dns_type::a, {});
  failed.failure = dns_failure::timeout;
  CHECK(targets_of(failed, 1).targets.empty());
  std::string error;
  auto entry = parse_address_entry("seed.example.org:18444", error);
  REQUIRE(entry);
  auto r = targets_of(*entry);
  REQUIRE(r.targets.size() == 1);
  CHECK(r.targets[0].host == "seed.example.org");
  CHECK(r.targets[0].port == 18444);
}

TEST_CASE("c-ares resolver: every answer carries the id its query returned, also when c-ares "
          "answers before ares_query returns (no server reachable)") {
  // 127.0.0.1:9 (discard) has no listener here: a UDP query is refused at once, and c-ares may
  // call back from inside ares_query. The id used to be read from the freed query context then.
  std::string error;
  auto resolver = make_cares_resolver({"127.0.0.1:9"}, std::chrono::milliseconds{300}, 1, error);
  REQUIRE_MESSAGE(resolver, error);
  std::set<std::uint64_t> asked;
  auto now = std::chrono::steady_clock::now();
  for (auto type : {dns_type::a, dns_type::aaaa, dns_type::srv, dns_type::txt})
    asked.insert(resolver->query("seed.example.test", type, now));
  REQUIRE(asked.size() == 4);
  std::set<std::uint64_t> answered;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (resolver->busy() && std::chrono::steady_clock::now() < until) {
    for (const auto& a : resolver->poll(std::chrono::steady_clock::now())) {
      CHECK(a.failure != dns_failure::none);
      CHECK(a.name == "seed.example.test");
      answered.insert(a.id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  for (const auto& a : resolver->poll(std::chrono::steady_clock::now()))
    answered.insert(a.id);
  CHECK(answered == asked);
}

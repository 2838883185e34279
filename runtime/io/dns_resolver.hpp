// DNS lookups for peer discovery, behind an interface: the DNS seeder asks for records and polls
// for answers; it never waits. Production uses c-ares (make_cares_resolver); the simulator
// answers from a table in virtual time (table_resolver).
#pragma once

#include "runtime/net/ip_address.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc {

enum class dns_type : std::uint8_t { a, aaaa, srv, txt };

std::string to_string(dns_type x);

/// Why a query gave no records.
enum class dns_failure : std::uint8_t {
  none,
  nxdomain,       ///< the name does not exist
  no_data,        ///< the name exists but has no record of this type
  timeout,        ///< no server answered in time (after every retry)
  server_failure, ///< SERVFAIL from every server
  refused,        ///< every server refused the query
  unreachable,    ///< no server could be reached (connection refused, no route)
  bad_response,   ///< an answer that could not be parsed
  other,          ///< anything else (the detail says what)
};

std::string to_string(dns_failure x);

/// Whether trying again later may help (a network or server problem, not an answer).
bool is_transient(dns_failure x);

struct dns_record {
  ip_bytes ip{};          ///< A/AAAA
  std::string target;     ///< SRV
  std::uint16_t port = 0; ///< SRV
  std::string text;       ///< TXT (the record's strings joined)
};

struct dns_answer {
  std::uint64_t id = 0;
  std::string name;
  dns_type type = dns_type::a;
  dns_failure failure = dns_failure::none;
  std::string detail;              ///< the resolver's own words for a failure
  std::vector<dns_record> records; ///< empty on failure
  std::uint32_t ttl = 0;           ///< the smallest TTL of the answer's records, seconds
};

class dns_resolver {
public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~dns_resolver() = default;

  /// Starts a query; its answer comes out of a later poll() with the returned id.
  virtual std::uint64_t query(const std::string& name, dns_type type, time_point now) = 0;

  /// Drives sockets and timers without blocking; returns the queries that completed.
  virtual std::vector<dns_answer> poll(time_point now) = 0;

  /// Queries are under way.
  virtual bool busy() const = 0;
};

/// A c-ares resolver asking `servers` ("ip:port", IPv6 as "[v6]:port"; empty: the system's
/// resolvers from /etc/resolv.conf) in order, failing over on timeout, SERVFAIL and REFUSED.
/// Nothing in it blocks: sockets are polled with a zero timeout. Returns null and sets `error`
/// when c-ares cannot start or a server is malformed.
std::unique_ptr<dns_resolver> make_cares_resolver(const std::vector<std::string>& servers,
                                                  std::chrono::milliseconds timeout, int tries,
                                                  std::string& error);

/// Answers from a table after a fixed (virtual) delay: the simulator's DNS.
class table_resolver final : public dns_resolver {
public:
  struct entry {
    dns_failure failure = dns_failure::none;
    std::vector<dns_record> records;
    std::uint32_t ttl = 60;
  };

  explicit table_resolver(std::chrono::milliseconds delay) : delay_(delay) {}

  /// Sets what (name, type) answers; unknown names answer nxdomain.
  void set(const std::string& name, dns_type type, entry e);

  std::uint64_t query(const std::string& name, dns_type type, time_point now) override;
  std::vector<dns_answer> poll(time_point now) override;
  bool busy() const override {
    return !pending_.empty();
  }

  /// Queries asked so far (to check caching).
  std::size_t queries() const {
    return next_id_ - 1;
  }

private:
  std::chrono::milliseconds delay_;
  std::map<std::pair<std::string, dns_type>, entry> table_;
  std::multimap<time_point, dns_answer> pending_;
  std::uint64_t next_id_ = 1;
};

/// The smallest TTL among the answer records of a raw DNS response (bounded parse; nothing if
/// the message is malformed or has no answers).
std::optional<std::uint32_t> min_answer_ttl(const unsigned char* msg, std::size_t len);

} // namespace qtc

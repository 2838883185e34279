#include "runtime/io/dns_resolver.hpp"

#include <ares.h>

#include <algorithm>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <cstring>
#include <limits>
#include <mutex>

#include <netdb.h>
#include <poll.h>

namespace qtc {

std::string to_string(dns_type x) {
  switch (x) {
  case dns_type::a:
    return "A";
  case dns_type::aaaa:
    return "AAAA";
  case dns_type::srv:
    return "SRV";
  case dns_type::txt:
    return "TXT";
  }
  return "?";
}

std::string to_string(dns_failure x) {
  switch (x) {
  case dns_failure::none:
    return "none";
  case dns_failure::nxdomain:
    return "nxdomain";
  case dns_failure::no_data:
    return "no-data";
  case dns_failure::timeout:
    return "timeout";
  case dns_failure::server_failure:
    return "server-failure";
  case dns_failure::refused:
    return "refused";
  case dns_failure::unreachable:
    return "unreachable";
  case dns_failure::bad_response:
    return "bad-response";
  case dns_failure::other:
    return "other";
  }
  return "?";
}

bool is_transient(dns_failure x) {
  switch (x) {
  case dns_failure::timeout:
  case dns_failure::server_failure:
  case dns_failure::refused:
  case dns_failure::unreachable:
  case dns_failure::other:
    return true;
  default:
    return false;
  }
}

std::optional<std::uint32_t> min_answer_ttl(const unsigned char* msg, std::size_t len) {
  if (len < 12)
    return std::nullopt;
  auto u16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>((msg[at] << 8) | msg[at + 1]);
  };
  std::size_t qd = u16(4), an = u16(6);
  std::size_t pos = 12;
  // Skips a (possibly compressed) name; false if it runs off the end.
  auto skip_name = [&]() {
    for (int labels = 0; labels < 128; ++labels) {
      if (pos >= len)
        return false;
      auto n = msg[pos];
      if ((n & 0xc0) == 0xc0) {
        pos += 2;
        return pos <= len;
      }
      pos += 1 + n;
      if (n == 0)
        return pos <= len;
    }
    return false;
  };
  for (std::size_t i = 0; i < qd; ++i) {
    if (!skip_name() || pos + 4 > len)
      return std::nullopt;
    pos += 4;
  }
  std::optional<std::uint32_t> result;
  for (std::size_t i = 0; i < an; ++i) {
    if (!skip_name() || pos + 10 > len)
      return result;
    std::uint32_t ttl = (std::uint32_t{msg[pos + 4]} << 24) | (std::uint32_t{msg[pos + 5]} << 16)
                        | (std::uint32_t{msg[pos + 6]} << 8) | msg[pos + 7];
    std::size_t rdlen = u16(pos + 8);
    pos += 10 + rdlen;
    if (pos > len)
      return result;
    result = result ? std::min(*result, ttl) : ttl;
  }
  return result;
}

// -- c-ares -------------------------------------------------------------------------------------

namespace {

dns_failure failure_of(int status) {
  switch (status) {
  case ARES_SUCCESS:
    return dns_failure::none;
  case ARES_ENOTFOUND:
    return dns_failure::nxdomain;
  case ARES_ENODATA:
    return dns_failure::no_data;
  case ARES_ETIMEOUT:
    return dns_failure::timeout;
  case ARES_ESERVFAIL:
    return dns_failure::server_failure;
  case ARES_EREFUSED:
    return dns_failure::refused;
  case ARES_ECONNREFUSED:
    return dns_failure::unreachable;
  case ARES_EBADRESP:
  case ARES_EFORMERR:
    return dns_failure::bad_response;
  default:
    return dns_failure::other;
  }
}

int type_code(dns_type t) {
  switch (t) {
  case dns_type::a:
    return ns_t_a;
  case dns_type::aaaa:
    return ns_t_aaaa;
  case dns_type::srv:
    return ns_t_srv;
  case dns_type::txt:
    return ns_t_txt;
  }
  return ns_t_a;
}

/// Parses an answer of `type` into records; a failure if it does not parse.
void parse_answer(dns_answer& out, const unsigned char* abuf, int alen) {
  constexpr int max_addrs = 64; // more than any seed sends; the rest is ignored
  switch (out.type) {
  case dns_type::a: {
    ares_addrttl ttls[max_addrs];
    int n = max_addrs;
    if (int rc = ares_parse_a_reply(abuf, alen, nullptr, ttls, &n); rc != ARES_SUCCESS) {
      out.failure = failure_of(rc);
      out.detail = ares_strerror(rc);
      return;
    }
    for (int i = 0; i < n; ++i) {
      dns_record r;
      r.ip[10] = r.ip[11] = 0xff;
      std::memcpy(r.ip.data() + 12, &ttls[i].ipaddr, 4);
      out.records.push_back(r);
    }
    break;
  }
  case dns_type::aaaa: {
    ares_addr6ttl ttls[max_addrs];
    int n = max_addrs;
    if (int rc = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &n); rc != ARES_SUCCESS) {
      out.failure = failure_of(rc);
      out.detail = ares_strerror(rc);
      return;
    }
    for (int i = 0; i < n; ++i) {
      dns_record r;
      std::memcpy(r.ip.data(), &ttls[i].ip6addr, 16);
      out.records.push_back(r);
    }
    break;
  }
  case dns_type::srv: {
    ares_srv_reply* srv = nullptr;
    if (int rc = ares_parse_srv_reply(abuf, alen, &srv); rc != ARES_SUCCESS) {
      out.failure = failure_of(rc);
      out.detail = ares_strerror(rc);
      return;
    }
    int count = 0;
    for (auto* s = srv; s != nullptr && count < max_addrs; s = s->next, ++count) {
      dns_record r;
      r.target = s->host;
      r.port = s->port;
      out.records.push_back(r);
    }
    ares_free_data(srv);
    break;
  }
  case dns_type::txt: {
    ares_txt_ext* txt = nullptr;
    if (int rc = ares_parse_txt_reply_ext(abuf, alen, &txt); rc != ARES_SUCCESS) {
      out.failure = failure_of(rc);
      out.detail = ares_strerror(rc);
      return;
    }
    // A record may be split into several strings: record_start marks where each begins.
    int count = 0;
    for (auto* t = txt; t != nullptr && count < 4 * max_addrs; t = t->next, ++count) {
      if (t->record_start || out.records.empty())
        out.records.emplace_back();
      out.records.back().text.append(reinterpret_cast<const char*>(t->txt), t->length);
    }
    ares_free_data(txt);
    break;
  }
  }
  if (out.records.empty()) {
    out.failure = dns_failure::no_data;
    return;
  }
  out.ttl = min_answer_ttl(abuf, static_cast<std::size_t>(alen)).value_or(0);
}

class cares_resolver final : public dns_resolver {
public:
  cares_resolver() = default;
  cares_resolver(const cares_resolver&) = delete;
  cares_resolver& operator=(const cares_resolver&) = delete;

  ~cares_resolver() override {
    if (channel_ != nullptr)
      ares_destroy(channel_); // completes outstanding queries with ARES_EDESTRUCTION
  }

  bool init(const std::vector<std::string>& servers, std::chrono::milliseconds timeout, int tries,
            std::string& error) {
    ares_options opts{};
    opts.timeout = static_cast<int>(timeout.count());
    opts.tries = tries;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
      error = std::string{"c-ares: "} + ares_strerror(rc);
      return false;
    }
    if (!servers.empty()) {
      std::string csv;
      for (const auto& s : servers)
        csv += (csv.empty() ? "" : ",") + s;
      if (int rc = ares_set_servers_ports_csv(channel_, csv.c_str()); rc != ARES_SUCCESS) {
        error = "DNS servers \"" + csv + "\": " + ares_strerror(rc);
        return false;
      }
    }
    return true;
  }

  std::uint64_t query(const std::string& name, dns_type type, time_point) override {
    auto* ctx = new query_context{this, dns_answer{}};
    auto id = next_id_++;
    ctx->answer.id = id;
    ctx->answer.name = name;
    ctx->answer.type = type;
    ++outstanding_;
    // c-ares may call on_answer (which frees ctx) before ares_query returns: when the query
    // fails at once, e.g. every server's socket was refused. ctx must not be read after this.
    ares_query(channel_, name.c_str(), ns_c_in, type_code(type), &cares_resolver::on_answer, ctx);
    return id;
  }

  std::vector<dns_answer> poll(time_point) override {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i))
        events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i))
        events |= POLLOUT;
      if (events != 0)
        fds[n++] = pollfd{socks[i], events, 0};
    }
    // Zero timeout: this never waits; the seeder calls again on its next tick.
    if (n > 0 && ::poll(fds, n, 0) > 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0)
          continue;
        auto r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
        auto w = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_process_fd(channel_, r, w);
      }
    }
    // Timeouts (and failover to the next server) happen here.
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    std::vector<dns_answer> out;
    out.swap(done_);
    return out;
  }

  bool busy() const override {
    return outstanding_ > 0;
  }

private:
  struct query_context {
    cares_resolver* self;
    dns_answer answer;
  };

  static void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<query_context> ctx{static_cast<query_context*>(arg)};
    if (status == ARES_EDESTRUCTION)
      return; // the resolver is going away
    auto& self = *ctx->self;
    --self.outstanding_;
    auto& a = ctx->answer;
    if (status != ARES_SUCCESS) {
      a.failure = failure_of(status);
      a.detail = ares_strerror(status);
    } else {
      parse_answer(a, abuf, alen);
    }
    self.done_.push_back(std::move(a));
  }

  ares_channel channel_ = nullptr;
  std::uint64_t next_id_ = 1;
  std::size_t outstanding_ = 0;
  std::vector<dns_answer> done_;
};

} // namespace

std::unique_ptr<dns_resolver> make_cares_resolver(const std::vector<std::string>& servers,
                                                  std::chrono::milliseconds timeout, int tries,
                                                  std::string& error) {
  // c-ares needs one process-wide initialization before the first channel; a function-local
  // static runs it exactly once, thread-safely, and it is never undone (harmless at exit).
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) {
    error = std::string{"c-ares: "} + ares_strerror(init);
    return nullptr;
  }
  auto r = std::make_unique<cares_resolver>();
  if (!r->init(servers, timeout, tries, error))
    return nullptr;
  return r;
}

// -- table --------------------------------------------------------------------------------------

void table_resolver::set(const std::string& name, dns_type type, entry e) {
  table_[{name, type}] = std::move(e);
}

std::uint64_t table_resolver::query(const std::string& name, dns_type type, time_point now) {
  dns_answer a;
  a.id = next_id_++;
  a.name = name;
  a.type = type;
  if (auto i = table_.find({name, type}); i != table_.end()) {
    a.failure = i->second.failure;
    a.records = i->second.records;
    a.ttl = i->second.ttl;
    if (a.failure == dns_failure::none && a.records.empty())
      a.failure = dns_failure::no_data;
  } else {
    a.failure = dns_failure::nxdomain;
  }
  if (a.failure != dns_failure::none)
    a.records.clear();
  // A timeout takes as long as the resolver would wait.
  auto id = a.id;
  pending_.emplace(now + delay_, std::move(a));
  return id;
}

std::vector<dns_answer> table_resolver::poll(time_point now) {
  std::vector<dns_answer> out;
  while (!pending_.empty() && pending_.begin()->first <= now) {
    out.push_back(std::move(pending_.begin()->second));
    pending_.erase(pending_.begin());
  }
  return out;
}

} // namespace qtc

// What the node learns about its NAT from STUN servers (RFC 8489 Binding, RFC 5780 behaviour
// discovery), as a pure state machine: it says what to send where, takes the datagrams that
// arrive and the time, and ends with the mapped address and the NAT's mapping and filtering
// behaviour. The NAT mapper actor owns one per probe round and the UDP socket it runs on.
//
// The procedure (RFC 5780 sections 4.3 and 4.4): the mapping tests from one local socket, the
// filtering tests from a second, fresh one (the first has sent to the other address, which a
// restricted NAT would then let through, making it look like a full cone):
//   mapping   I:   to the server's primary address          -> mapped address A1
//                  A1 is one of our own addresses: no NAT, done.
//             II:  to OTHER-ADDRESS's IP, primary port      -> A2; A2 == A1: endpoint-independent
//             III: to OTHER-ADDRESS's IP and port           -> A3; A3 == A2: address-dependent,
//                                                              otherwise address-and-port-dependent
//   filtering II:  to primary, CHANGE-REQUEST (IP and port) -> an answer: endpoint-independent
//             III: to primary, CHANGE-REQUEST (port)        -> an answer: address-dependent,
//                                                              none: address-and-port-dependent
// A server without OTHER-ADDRESS (most public ones: RFC 5389 only) cannot tell filtering; the
// mapping is then judged by asking a second server at another address the same question: the
// same answer is endpoint-independent, a different one address-and-port-dependent (the stricter
// of the two it cannot tell apart).
//
// Failover: a server that does not answer (after RFC 8489's retransmissions), answers something
// unreadable, an error, or a wrong transaction id is given up for this round with an event saying
// so, and the next server is asked. Transaction ids come from the caller (the node's seedable
// RNG), so a simulated run is reproducible.
#pragma once

#include "messages/nat.hpp"
#include "runtime/nat/retransmission.hpp"
#include "runtime/nat/stun_message.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qtc::nat {

struct stun_server {
  std::string name; ///< as configured ("stun.example.org:3478"), for logs and status
  stun::endpoint address;
};

/// A datagram to send, and from which of the caller's sockets.
struct outgoing_datagram {
  stun::endpoint to;
  bytes payload;
  /// 0: the probe's main socket; 1: a second one, for the filtering tests, which need a binding
  /// that has not yet talked to the server's other address (the mapping tests did).
  std::uint8_t socket = 0;
};

/// Something an operator should hear about (the actor logs it): a server that failed, a result.
struct probe_event {
  bool warning = false;
  std::string what;           ///< e.g. "STUN server did not answer"
  std::string server;         ///< the configured name, or "" for the result
  std::string detail;         ///< why, in words
  std::string cause;          ///< a server given up: "no-answer", "unreadable", "error",
                              ///< "wrong-transaction", "no-address" (a metric label); else ""
  std::string method;         ///< a port mapping event: the method ("pcp", ...)
  std::string mapping_result; ///< ... and "created", "renewed" or "failed"; else ""
};

/// An event with the fields given (the rest empty).
inline probe_event make_event(bool warning, std::string what, std::string server = {},
                              std::string detail = {}, std::string cause = {},
                              std::string method = {}, std::string mapping_result = {}) {
  probe_event e;
  e.warning = warning;
  e.what = std::move(what);
  e.server = std::move(server);
  e.detail = std::move(detail);
  e.cause = std::move(cause);
  e.method = std::move(method);
  e.mapping_result = std::move(mapping_result);
  return e;
}

struct probe_result {
  std::optional<stun::endpoint> mapped; ///< our address and port as the server saw them
  nat_behaviour mapping = nat_behaviour::unknown;
  nat_behaviour filtering = nat_behaviour::unknown;
  std::string server;              ///< the server that answered, "" if none did
  std::uint32_t servers_tried = 0; ///< including the one that answered
};

class nat_probe {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using id_source = std::function<stun::transaction_id()>;

  /// `local`: this host's addresses (a mapped address among them means no NAT).
  nat_probe(std::vector<stun_server> servers, std::vector<ip_bytes> local,
            retransmission_timing timing, id_source new_id);

  /// Starts with the first server.
  void start(time_point now);

  /// A datagram arrived on the probe's socket.
  void on_datagram(const stun::endpoint& from, std::span<const std::uint8_t> payload,
                   time_point now);

  /// Sends what is due and moves on from requests that expired.
  void on_time(time_point now);

  std::vector<outgoing_datagram> take_outgoing();
  std::vector<probe_event> take_events();

  /// When on_time must be called next (nothing while done).
  std::optional<time_point> next_wakeup() const;

  bool done() const {
    return step_ == step::done;
  }

  const probe_result& result() const {
    return result_;
  }

  /// Datagrams ignored: unreadable or not answering our request, from an address not asked.
  std::uint64_t ignored() const {
    return ignored_;
  }

private:
  enum class step {
    idle,
    mapping_1,
    mapping_2,
    mapping_3,
    second_server, ///< no OTHER-ADDRESS: the same question to another server
    filtering_2,
    filtering_3,
    done,
  };

  void ask(step s, stun::endpoint to, bool change_ip, bool change_port, time_point now);
  void next_server(time_point now);
  void server_failed(const std::string& what, const std::string& detail, const char* cause,
                     time_point now);
  void on_answer(const stun::message& m, const stun::endpoint& from, time_point now);
  void on_no_answer(time_point now);
  void after_mapping_1(const stun::endpoint& mapped, time_point now);
  void after_mapping(nat_behaviour mapping, time_point now);
  void finish(nat_behaviour filtering);
  bool is_local(const ip_bytes& ip) const;

  std::vector<stun_server> servers_;
  std::vector<ip_bytes> local_;
  retransmission_timing timing_;
  id_source new_id_;
  std::size_t server_ = 0; ///< index of the server of the mapping test
  std::size_t second_ = 0; ///< index of the second server (second_server step)
  step step_ = step::idle;
  stun::transaction_id id_{}; ///< the request under way
  stun::endpoint to_{};       ///< where it went
  std::uint8_t socket_ = 0;   ///< from which socket (see outgoing_datagram)
  bytes request_;             ///< its bytes (retransmitted unchanged, as the RFC requires)
  retransmission schedule_;
  std::optional<stun::endpoint> other_; ///< the server's OTHER-ADDRESS
  std::optional<stun::endpoint> a2_;    ///< mapping test II's answer
  probe_result result_;
  std::vector<outgoing_datagram> outgoing_;
  std::vector<probe_event> events_;
  std::uint64_t ignored_ = 0;
};

} // namespace qtc::nat

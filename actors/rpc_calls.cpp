// The RPC methods: each asks the component that knows (sync, storage, security, peers) with a
// timeout and shapes the answer as bitcoind does (runtime/rpc/rpc_results).
#include "actors/rpc_server.hpp"
#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/rpc/rpc_methods.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace qtc {

namespace {

using json = nlohmann::json;
using promise_type = caf::typed_response_promise<std::string>;
using rpc::error_code;
using rpc::rpc_error;

/// How long a component may take to answer one request of a call.
constexpr auto component_timeout = std::chrono::seconds{10};

void answer(promise_type& p, const json& result) {
  p.deliver(result_envelope(result));
}

void fail(rpc_pointer self, promise_type& p, error_code code, std::string message) {
  ++self->state.failed_calls;
  p.deliver(error_envelope(rpc_error{code, std::move(message)}));
}

/// The context text of a component's error ("qtc.not_found: Block not found" → "Block not
/// found"), or its rendering.
std::string error_text(const caf::error& err) {
  auto text = render_error(err);
  if (auto colon = text.find(": "); err.category() == error_category && colon != std::string::npos)
    return text.substr(colon + 2);
  return text;
}

bool is(const caf::error& err, errc code) {
  return err.category() == error_category && err.code() == static_cast<std::uint8_t>(code);
}

/// Runs `f(handle)` with the sibling, found through the supervisor if not known yet; a sibling
/// that is not running fails the call with -28 (bitcoind's "in warmup").
template <class Handle, class F>
void with(rpc_pointer self, sibling<Handle> rpc_server_state::*member, promise_type p, F f) {
  auto& s = self->state.*member;
  if (s) {
    f(s.get());
    return;
  }
  if (s.looking() || !self->state.parent) {
    fail(self, p, error_code::in_warmup, std::string{"the "} + s.name + " component is starting");
    return;
  }
  s.find(
      self, self->state.parent, component_timeout,
      [self, f](const Handle& h) mutable {
        self->monitor(h);
        f(h);
      },
      [self, p, name = s.name](const caf::error&) mutable {
        fail(self, p, error_code::in_warmup,
             std::string{"the "} + name + " component is not running");
      });
}

/// Asks a component; on success `f(answer...)`, on failure the call fails with -1 and the error.
template <class Handle, class F, class... Ts>
void ask(rpc_pointer self, sibling<Handle> rpc_server_state::*member, promise_type p, F f,
         Ts... xs) {
  with(self, member, p, [self, p, f, xs...](const Handle& h) mutable {
    self->request(h, component_timeout, xs...).then(f, [self, p](const caf::error& err) mutable {
      fail(self, p, error_code::misc_error, error_text(err));
    });
  });
}

/// A component's yes/no answer: null when yes, else the call fails with `code` and `message`.
auto null_or_fail(rpc_pointer self, promise_type p, error_code code, std::string message) {
  return [self, p, code, message = std::move(message)](bool yes) mutable {
    if (yes)
      answer(p, nullptr);
    else
      fail(self, p, code, message);
  };
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json as_json(const status_report& r) {
  return to_json_value(caf::config_value{r});
}

/// The header report for a hash given as text, then `f(report)`; -8/-5 as bitcoind otherwise.
template <class F>
void with_header(rpc_pointer self, const json& hash_text, promise_type p, F f) {
  hash256 hash{};
  auto text = hash_text.get<std::string>();
  if (text.size() != 64 || !from_display_hex(text, hash)) {
    fail(self, p, error_code::invalid_parameter,
         "blockhash must be of length 64 (not " + std::to_string(text.size()) + ", for '" + text
             + "') and hexadecimal");
    return;
  }
  with(self, &rpc_server_state::sync, p, [self, p, f, hash](const sync_actor& sync) mutable {
    self->request(sync, component_timeout, get_atom::value, headers_atom::value, hash)
        .then([f](status_report& r) mutable { f(as_json(r)); },
              [self, p](const caf::error& err) mutable {
                if (is(err, errc::not_found))
                  fail(self, p, error_code::invalid_address_or_key, "Block not found");
                else
                  fail(self, p, error_code::in_warmup, error_text(err));
              });
  });
}

void get_block(rpc_pointer self, const std::vector<json>& args, promise_type p) {
  int verbosity = args[1].is_null()      ? 1
                  : args[1].is_boolean() ? (args[1].get<bool>() ? 1 : 0)
                                         : args[1].get<int>();
  if (verbosity < 0 || verbosity > 1) {
    fail(self, p, error_code::invalid_parameter,
         "Verbosity " + std::to_string(verbosity) + " is not supported (0 or 1)");
    return;
  }
  with_header(self, args[0], p, [self, p, verbosity](json header) mutable {
    hash256 hash{};
    from_display_hex(header["hash"].get<std::string>(), hash);
    ask(
        self, &rpc_server_state::storage, p,
        [self, p, verbosity, header](const bytes& raw) mutable {
          if (verbosity == 0) {
            answer(p, to_hex(raw));
            return;
          }
          byte_reader r{raw};
          auto b = read_block(r, raw.size() / min_tx_size + 1);
          if (!r.ok()) {
            fail(self, p, error_code::database_error, "Block read failed");
            return;
          }
          answer(p, rpc::block_result(header, b, raw.size()));
        },
        get_atom::value, block_atom::value, hash);
  });
}

void submit_block(rpc_pointer self, const std::vector<json>& args, promise_type p) {
  auto raw = from_hex(args[0].get<std::string>());
  if (!raw || raw->size() < block_header_size) {
    fail(self, p, error_code::deserialization_error, "Block decode failed");
    return;
  }
  with(self, &rpc_server_state::sync, p, [self, p, raw](const sync_actor& sync) mutable {
    self->request(sync, component_timeout, put_atom::value, block_atom::value, *raw)
        .then([p](const hash256&) mutable { answer(p, nullptr); },
              [self, p](const caf::error& err) mutable {
                auto text = error_text(err);
                if (text == "not a serialized block")
                  fail(self, p, error_code::deserialization_error, "Block decode failed");
                else if (is(err, errc::invalid_block))
                  answer(p, rpc::submitblock_refusal(text));
                else
                  fail(self, p, error_code::misc_error, text);
              });
  });
}

void set_ban(rpc_pointer self, const std::vector<json>& args, promise_type p) {
  auto subnet = args[0].get<std::string>();
  auto command = args[1].get<std::string>();
  if (command == "remove") {
    ask(self, &rpc_server_state::security, p,
        null_or_fail(self, p, error_code::client_invalid_ip_or_subnet,
                     "Error: Unban failed. Requested address/subnet was not previously manually "
                     "banned."),
        delete_atom::value, bans_atom::value, subnet);
    return;
  }
  if (command != "add") {
    fail(self, p, error_code::misc_error, rpc::help_text(*rpc::find_method("setban")));
    return;
  }
  std::int64_t seconds = args[2].is_null() ? 0 : args[2].get<std::int64_t>();
  if (!args[3].is_null() && args[3].get<bool>())
    seconds -= unix_seconds();
  if (seconds <= 0)
    seconds = 86400; // bitcoind's default ban time
  with(self, &rpc_server_state::security, p, [=](const security_actor& security) mutable {
    self->request(security, component_timeout, put_atom::value, bans_atom::value, subnet, seconds,
                  std::string{"manual (rpc setban)"})
        .then([p](bool) mutable { answer(p, nullptr); },
              [self, p](const caf::error& err) mutable {
                fail(self, p, error_code::client_invalid_ip_or_subnet,
                     "Error: Invalid IP/Subnet: " + error_text(err));
              });
  });
}

void add_node(rpc_pointer self, const std::vector<json>& args, promise_type p) {
  auto node = args[0].get<std::string>();
  auto command = args[1].get<std::string>();
  if (command == "remove") {
    ask(self, &rpc_server_state::peers, p,
        null_or_fail(self, p, error_code::client_node_not_added,
                     "Error: Node could not be removed. It has not been added previously."),
        delete_atom::value, peers_atom::value, node);
    return;
  }
  if (command != "add" && command != "onetry") {
    fail(self, p, error_code::misc_error, rpc::help_text(*rpc::find_method("addnode")));
    return;
  }
  bool keep = command == "add";
  with(self, &rpc_server_state::peers, p, [=](const peer_manager_actor& peers) mutable {
    self->request(peers, component_timeout, connect_atom::value, node, keep)
        .then(null_or_fail(self, p, error_code::client_node_already_added,
                           "Error: Node already added"),
              [self, p](const caf::error& err) mutable {
                fail(self, p, error_code::invalid_parameter, error_text(err));
              });
  });
}

void disconnect_node(rpc_pointer self, const std::vector<json>& args, promise_type p) {
  bool by_address = !args[0].is_null() && !args[0].get<std::string>().empty();
  bool by_id = !args[1].is_null();
  if (by_address == by_id) {
    fail(self, p, error_code::invalid_parameter,
         "Only one of address and nodeid should be provided.");
    return;
  }
  auto address = by_address ? args[0].get<std::string>() : std::string{};
  auto id = by_id ? args[1].get<std::uint64_t>() : std::uint64_t{0};
  ask(self, &rpc_server_state::peers, p,
      null_or_fail(self, p, error_code::client_node_not_connected,
                   "Node not found in connected nodes"),
      close_atom::value, address, id);
}

/// The peer manager's status (detailed: with every peer), then `f(status)`.
template <class F>
void with_peers_status(rpc_pointer self, promise_type p, status_verbosity v, F f) {
  ask(
      self, &rpc_server_state::peers, p, [f](status_report& r) mutable { f(as_json(r)); },
      status_atom::value, v);
}

template <class F>
void with_sync_status(rpc_pointer self, promise_type p, F f) {
  ask(
      self, &rpc_server_state::sync, p, [f](status_report& r) mutable { f(as_json(r)); },
      status_atom::value, status_verbosity::info);
}

void blockchain_info(rpc_pointer self, promise_type p) {
  with_sync_status(self, p, [self, p](json status) mutable {
    if (!status.contains("tip")) {
      fail(self, p, error_code::in_warmup, "Loading block index...");
      return;
    }
    with_header(self, status["tip"], p, [self, p, status](json tip) mutable {
      std::error_code ec;
      auto size =
          std::filesystem::file_size(self->state.config.data_dir / "chain" / "data.mdb", ec);
      answer(p, rpc::blockchain_info_result(self->state.config.chain, status, tip, ec ? 0 : size));
    });
  });
}

using args_type = const std::vector<json>&;

void getbestblockhash(rpc_pointer self, args_type, promise_type p) {
  ask(
      self, &rpc_server_state::storage, p,
      [p](const hash256& h) mutable { answer(p, to_display_hex(h)); }, get_atom::value,
      best_atom::value);
}

void getblockcount(rpc_pointer self, args_type, promise_type p) {
  with_sync_status(self, p, [p](json s) mutable { answer(p, s.value("blocks", 0)); });
}

void getblockhash(rpc_pointer self, args_type args, promise_type p) {
  auto height = args[0].get<std::int64_t>();
  with(self, &rpc_server_state::sync, p, [self, p, height](const sync_actor& sync) mutable {
    self->request(sync, component_timeout, get_atom::value, headers_atom::value,
                  static_cast<std::int32_t>(std::clamp<std::int64_t>(height, -1, INT32_MAX)))
        .then([p](status_report& r) mutable { answer(p, as_json(r)["hash"]); },
              [self, p](const caf::error& err) mutable {
                fail(self, p,
                     is(err, errc::not_found) ? error_code::invalid_parameter
                                              : error_code::in_warmup,
                     error_text(err));
              });
  });
}

void getblockheader(rpc_pointer self, args_type args, promise_type p) {
  bool verbose = args[1].is_null() || args[1].get<bool>();
  with_header(self, args[0], p, [p, verbose](json header) mutable {
    answer(p, verbose ? rpc::header_result(header) : header["hex"]);
  });
}

void getblockchaininfo(rpc_pointer self, args_type, promise_type p) {
  blockchain_info(self, p);
}

void getnetworkinfo(rpc_pointer self, args_type, promise_type p) {
  with_peers_status(self, p, status_verbosity::info, [self, p](json s) mutable {
    answer(p, rpc::network_info_result(s, self->state.config.facts));
  });
}

void getpeerinfo(rpc_pointer self, args_type, promise_type p) {
  with_peers_status(self, p, status_verbosity::detailed,
                    [p](json s) mutable { answer(p, rpc::peer_info_result(s, unix_seconds())); });
}

void getconnectioncount(rpc_pointer self, args_type, promise_type p) {
  with_peers_status(self, p, status_verbosity::info,
                    [p](json s) mutable { answer(p, s.value("connections", 0)); });
}

void getnettotals(rpc_pointer self, args_type, promise_type p) {
  with_peers_status(self, p, status_verbosity::info, [self, p](json peers) mutable {
    with_sync_status(self, p, [p, peers](json sync) mutable {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      answer(p, rpc::net_totals_result(peers, sync, ms));
    });
  });
}

void listbanned(rpc_pointer self, args_type, promise_type p) {
  ask(
      self, &rpc_server_state::security, p,
      [p](const caf::config_value::list& bans) mutable {
        answer(p, rpc::banned_result(to_json_value(caf::config_value{bans}), unix_seconds()));
      },
      get_atom::value, bans_atom::value);
}

void clearbanned(rpc_pointer self, args_type, promise_type p) {
  ask(
      self, &rpc_server_state::security, p, [p](std::uint64_t) mutable { answer(p, nullptr); },
      clear_atom::value, bans_atom::value);
}

void ping_call(rpc_pointer, args_type, promise_type p) {
  answer(p, nullptr);
}

void uptime_call(rpc_pointer self, args_type, promise_type p) {
  answer(p, std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now()
                                                             - self->state.config.started)
                .count());
}

void stop_call(rpc_pointer self, args_type, promise_type p) {
  answer(p, "QuantumCoin server stopping");
  // Later, so the answer is written before the node stops (bitcoind does the same).
  self->delayed_send(self, std::chrono::milliseconds{200}, close_atom::value);
}

void help_call(rpc_pointer, args_type args, promise_type p) {
  if (args[0].is_null()) {
    answer(p, rpc::help_overview());
    return;
  }
  auto name = args[0].get<std::string>();
  if (const auto* m = rpc::find_method(name))
    answer(p, rpc::help_text(*m));
  else
    answer(p, "help: unknown command: " + name);
}

using method_handler = void (*)(rpc_pointer, args_type, promise_type);

const std::map<std::string, method_handler, std::less<>>& handlers() {
  static const std::map<std::string, method_handler, std::less<>> all{
      {"getbestblockhash", getbestblockhash},
      {"getblockcount", getblockcount},
      {"getblockhash", getblockhash},
      {"getblockheader", getblockheader},
      {"getblock", get_block},
      {"getblockchaininfo", getblockchaininfo},
      {"submitblock", submit_block},
      {"getnetworkinfo", getnetworkinfo},
      {"getpeerinfo", getpeerinfo},
      {"getconnectioncount", getconnectioncount},
      {"getnettotals", getnettotals},
      {"listbanned", listbanned},
      {"setban", set_ban},
      {"clearbanned", clearbanned},
      {"addnode", add_node},
      {"disconnectnode", disconnect_node},
      {"ping", ping_call},
      {"uptime", uptime_call},
      {"stop", stop_call},
      {"help", help_call},
  };
  return all;
}

} // namespace

void run_call(rpc_pointer self, const std::string& method, json params, promise_type promise) {
  auto i = handlers().find(method);
  if (i == handlers().end() || !params.is_array()) {
    fail(self, promise, error_code::method_not_found, "Method not found");
    return;
  }
  std::vector<json> args(params.begin(), params.end());
  try {
    i->second(self, args, promise);
  } catch (const json::exception& e) {
    // A parameter out of its type's range (bind_params checked the JSON type).
    fail(self, promise, error_code::invalid_parameter,
         std::string{"invalid parameter: "} + e.what());
  }
}

} // namespace qtc

#include "messages/p2p.hpp"

#include <botan/hash.h>
#include <botan/mac.h>

#include <algorithm>
#include <limits>

namespace qtc {

namespace {

// -- the command names, in the order of p2p_message's alternatives ---------------------------

constexpr std::array<const char*, std::variant_size_v<p2p_message> - 1> commands{
    "version",   "verack",     "ping",        "pong",     "getaddr",      "addr",
    "addrv2",    "sendaddrv2", "getheaders",  "headers",  "getblocks",    "inv",
    "getdata",   "notfound",   "block",       "tx",       "sendheaders",  "feefilter",
    "sendcmpct", "cmpctblock", "getblocktxn", "blocktxn", "quantumproof",
};

// -- shared pieces -----------------------------------------------------------------------------

void write(byte_writer& w, const net_address& a) {
  w.u64le(a.services);
  w.fixed(a.ip);
  w.u16be(a.port);
}

net_address read_net_address(byte_reader& r) {
  net_address a;
  a.services = r.u64le();
  a.ip = r.fixed<16>();
  a.port = r.u16be();
  return a;
}

bool read_bool(byte_reader& r) {
  auto b = r.u8();
  if (b > 1)
    r.fail(wire_error::invalid_value);
  return b == 1;
}

void write_hashes(byte_writer& w, const std::vector<hash256>& xs) {
  w.compact_size(xs.size());
  for (const auto& h : xs)
    w.fixed(h);
}

/// Differentially encoded indexes (BIP152): each is the gap to the previous one, minus one.
void write_differential(byte_writer& w, const std::vector<std::uint32_t>& absolute) {
  std::uint32_t prev = 0;
  for (std::size_t i = 0; i < absolute.size(); ++i) {
    w.compact_size(i == 0 ? absolute[i] : absolute[i] - prev - 1);
    prev = absolute[i];
  }
}

/// Turns one differential index into an absolute one. An absolute index past 65535 (Core's
/// bound) is invalid_value however it is reached, by the first index itself or by the sum of
/// differences: one error for one condition (docs/protocol.md, getblocktxn). The difference is
/// read unbounded (a canonical CompactSize) and compared before the sum, which cannot overflow.
std::uint32_t next_absolute(byte_reader& r, std::size_t i, std::uint32_t prev) {
  constexpr std::uint64_t max_index = std::numeric_limits<std::uint16_t>::max();
  auto diff = r.compact_size(std::numeric_limits<std::uint64_t>::max());
  if (!r.ok())
    return 0;
  if (diff > max_index || (i > 0 && std::uint64_t{prev} + diff + 1 > max_index)) {
    r.fail(wire_error::invalid_value);
    return 0;
  }
  return static_cast<std::uint32_t>(i == 0 ? diff : prev + diff + 1);
}

/// Expected address length of a known BIP155 network (0: unknown network, any length).
std::size_t bip155_length(std::uint8_t network) {
  switch (static_cast<bip155_network>(network)) {
  case bip155_network::ipv4:
    return 4;
  case bip155_network::ipv6:
    return 16;
  case bip155_network::torv2:
    return 10;
  case bip155_network::torv3:
    return 32;
  case bip155_network::i2p:
    return 32;
  case bip155_network::cjdns:
    return 16;
  }
  return 0;
}

// -- writers -----------------------------------------------------------------------------------

struct payload_writer {
  byte_writer& w;

  void operator()(const version_message& m) {
    w.i32le(m.version);
    w.u64le(m.services);
    w.i64le(m.timestamp);
    write(w, m.addr_recv);
    write(w, m.addr_from);
    w.u64le(m.nonce);
    w.var_str(m.user_agent);
    w.i32le(m.start_height);
    w.u8(m.relay ? 1 : 0);
  }
  void operator()(const verack_message&) {}
  void operator()(const getaddr_message&) {}
  void operator()(const sendheaders_message&) {}
  void operator()(const sendaddrv2_message&) {}
  void operator()(const ping_message& m) {
    w.u64le(m.nonce);
  }
  void operator()(const pong_message& m) {
    w.u64le(m.nonce);
  }
  void operator()(const addr_message& m) {
    w.compact_size(m.addresses.size());
    for (const auto& a : m.addresses) {
      w.u32le(a.time);
      write(w, a.address);
    }
  }
  void operator()(const addrv2_message& m) {
    w.compact_size(m.addresses.size());
    for (const auto& a : m.addresses) {
      w.u32le(a.time);
      w.compact_size(a.services);
      w.u8(a.network);
      w.var_bytes(a.address);
      w.u16be(a.port);
    }
  }
  void locator(const locator_request& m) {
    w.u32le(m.version);
    write_hashes(w, m.locator);
    w.fixed(m.stop);
  }
  void operator()(const getheaders_message& m) {
    locator(m);
  }
  void operator()(const getblocks_message& m) {
    locator(m);
  }
  void operator()(const headers_message& m) {
    w.compact_size(m.headers.size());
    for (const auto& h : m.headers) {
      write(w, h);
      w.compact_size(0);
    }
  }
  void items(const inv_message& m) {
    w.compact_size(m.items.size());
    for (const auto& i : m.items) {
      w.u32le(i.type);
      w.fixed(i.hash);
    }
  }
  void operator()(const inv_message& m) {
    items(m);
  }
  void operator()(const getdata_message& m) {
    items(m);
  }
  void operator()(const notfound_message& m) {
    items(m);
  }
  void operator()(const block_message& m) {
    write(w, m.block);
  }
  void operator()(const tx_message& m) {
    write(w, m.tx);
  }
  void operator()(const feefilter_message& m) {
    w.i64le(m.feerate);
  }
  void operator()(const sendcmpct_message& m) {
    w.u8(m.high_bandwidth ? 1 : 0);
    w.u64le(m.version);
  }
  void operator()(const cmpctblock_message& m) {
    write(w, m.header);
    w.u64le(m.nonce);
    w.compact_size(m.short_ids.size());
    for (auto id : m.short_ids) {
      w.u32le(static_cast<std::uint32_t>(id));
      w.u16le(static_cast<std::uint16_t>(id >> 32));
    }
    w.compact_size(m.prefilled.size());
    std::uint32_t prev = 0;
    for (std::size_t i = 0; i < m.prefilled.size(); ++i) {
      const auto& p = m.prefilled[i];
      w.compact_size(i == 0 ? p.index : p.index - prev - 1);
      prev = p.index;
      write(w, p.tx);
    }
  }
  void operator()(const getblocktxn_message& m) {
    w.fixed(m.block_hash);
    w.compact_size(m.indexes.size());
    write_differential(w, m.indexes);
  }
  void operator()(const blocktxn_message& m) {
    w.fixed(m.block_hash);
    w.compact_size(m.txs.size());
    for (const auto& tx : m.txs)
      write(w, tx);
  }
  void operator()(const quantumproof_message& m) {
    w.u8(m.proof_type);
    w.var_bytes(m.public_key);
    w.var_bytes(m.signature);
    w.fixed(m.binds);
  }
  void operator()(const unknown_message&) {
    // Never sent: the node only skips unknown messages it receives.
  }
};

// -- readers -----------------------------------------------------------------------------------

version_message read_version(byte_reader& r) {
  version_message m;
  m.version = r.i32le();
  m.services = r.u64le();
  m.timestamp = r.i64le();
  m.addr_recv = read_net_address(r);
  m.addr_from = read_net_address(r);
  m.nonce = r.u64le();
  m.user_agent = r.var_str(max_user_agent_length);
  m.start_height = r.i32le();
  if (r.remaining() > 0)
    m.relay = read_bool(r); // optional since BIP37
  return m;
}

locator_request read_locator(byte_reader& r) {
  locator_request m;
  m.version = r.u32le();
  auto n = r.count(max_locator_hashes, 32);
  m.locator.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i)
    m.locator.push_back(r.fixed<32>());
  m.stop = r.fixed<32>();
  return m;
}

inv_message read_inv(byte_reader& r) {
  inv_message m;
  auto n = r.count(max_inv_entries, 36);
  m.items.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    inv_item item;
    item.type = r.u32le();
    item.hash = r.fixed<32>();
    m.items.push_back(item);
  }
  return m;
}

addr_message read_addr(byte_reader& r) {
  addr_message m;
  auto n = r.count(max_addr_entries, 30);
  m.addresses.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    timed_address a;
    a.time = r.u32le();
    a.address = read_net_address(r);
    m.addresses.push_back(a);
  }
  return m;
}

addrv2_message read_addrv2(byte_reader& r) {
  addrv2_message m;
  // Smallest entry: time 4, services 1, network 1, length 1 (empty address), port 2.
  auto n = r.count(max_addr_entries, 9);
  m.addresses.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    addrv2_entry a;
    a.time = r.u32le();
    a.services = r.compact_size(std::numeric_limits<std::uint64_t>::max());
    a.network = r.u8();
    a.address = r.var_bytes(max_addrv2_address_length);
    a.port = r.u16be();
    auto expected = bip155_length(a.network);
    if (r.ok() && expected != 0 && a.address.size() != expected)
      r.fail(wire_error::invalid_value);
    m.addresses.push_back(std::move(a));
  }
  return m;
}

headers_message read_headers(byte_reader& r) {
  headers_message m;
  auto n = r.count(max_headers_results, block_header_size + 1);
  m.headers.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    m.headers.push_back(read_block_header(r));
    if (r.compact_size(std::numeric_limits<std::uint64_t>::max()) != 0)
      r.fail(wire_error::invalid_value); // headers carry no transactions
  }
  return m;
}

cmpctblock_message read_cmpctblock(byte_reader& r, std::uint64_t max_txs) {
  cmpctblock_message m;
  m.header = read_block_header(r);
  m.nonce = r.u64le();
  auto n = r.count(max_txs, 6);
  m.short_ids.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    std::uint64_t low = r.u32le();
    std::uint64_t high = r.u16le();
    m.short_ids.push_back(low | high << 32);
  }
  auto p = r.count(max_txs, 1 + min_tx_size);
  m.prefilled.reserve(static_cast<std::size_t>(p));
  std::uint32_t prev = 0;
  for (std::uint64_t i = 0; i < p && r.ok(); ++i) {
    prefilled_tx tx;
    tx.index = next_absolute(r, static_cast<std::size_t>(i), prev);
    prev = tx.index;
    tx.tx = read_transaction(r);
    m.prefilled.push_back(std::move(tx));
  }
  if (r.ok() && m.short_ids.size() + m.prefilled.size() > max_txs)
    r.fail(wire_error::count_too_large);
  return m;
}

getblocktxn_message read_getblocktxn(byte_reader& r, std::uint64_t max_txs) {
  getblocktxn_message m;
  m.block_hash = r.fixed<32>();
  auto n = r.count(max_txs, 1);
  m.indexes.reserve(static_cast<std::size_t>(n));
  std::uint32_t prev = 0;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    prev = next_absolute(r, static_cast<std::size_t>(i), prev);
    m.indexes.push_back(prev);
  }
  return m;
}

blocktxn_message read_blocktxn(byte_reader& r, std::uint64_t max_txs) {
  blocktxn_message m;
  m.block_hash = r.fixed<32>();
  auto n = r.count(max_txs, min_tx_size);
  m.txs.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok(); ++i)
    m.txs.push_back(read_transaction(r));
  return m;
}

p2p_message read_by_index(std::size_t index, byte_reader& r, std::uint64_t max_txs) {
  switch (index) {
  case 0:
    return read_version(r);
  case 1:
    return verack_message{};
  case 2:
    return ping_message{r.u64le()};
  case 3:
    return pong_message{r.u64le()};
  case 4:
    return getaddr_message{};
  case 5:
    return read_addr(r);
  case 6:
    return read_addrv2(r);
  case 7:
    return sendaddrv2_message{};
  case 8:
    return getheaders_message{read_locator(r)};
  case 9:
    return read_headers(r);
  case 10:
    return getblocks_message{read_locator(r)};
  case 11:
    return read_inv(r);
  case 12:
    return getdata_message{read_inv(r)};
  case 13:
    return notfound_message{read_inv(r)};
  case 14:
    return block_message{read_block(r, max_txs)};
  case 15:
    return tx_message{read_transaction(r)};
  case 16:
    return sendheaders_message{};
  case 17: {
    feefilter_message m{r.i64le()};
    if (r.ok() && (m.feerate < 0 || m.feerate > max_money))
      r.fail(wire_error::invalid_value);
    return m;
  }
  case 18: {
    sendcmpct_message m;
    m.high_bandwidth = read_bool(r);
    m.version = r.u64le();
    return m;
  }
  case 19:
    return read_cmpctblock(r, max_txs);
  case 20:
    return read_getblocktxn(r, max_txs);
  case 21:
    return read_blocktxn(r, max_txs);
  case 22: {
    quantumproof_message m;
    m.proof_type = r.u8();
    m.public_key = r.var_bytes(max_quantum_key_length);
    m.signature = r.var_bytes(max_quantum_signature_length);
    m.binds = r.fixed<32>();
    return m;
  }
  }
  return unknown_message{};
}

} // namespace

std::size_t command_label_index(std::string_view command) {
  auto i = std::find(commands.begin(), commands.end(), command);
  return static_cast<std::size_t>(i - commands.begin()); // the end is "other"'s index
}

std::string_view command_label(std::size_t index) {
  return index < commands.size() ? std::string_view{commands[index]} : std::string_view{"other"};
}

std::string command_of(const p2p_message& msg) {
  if (auto* u = std::get_if<unknown_message>(&msg))
    return u->command;
  return commands[msg.index()];
}

bytes encode_payload(const p2p_message& msg) {
  bytes out;
  byte_writer w{out};
  std::visit(payload_writer{w}, msg);
  return out;
}

void append_message(bytes& out, const network_magic& magic, const p2p_message& msg) {
  append_frame(out, magic, command_of(msg), encode_payload(msg));
}

namespace {

/// Decodes a frame's payload by its command; a block's payload is not kept (the callers do).
decode_result decode_body(const frame& f, std::uint64_t max_block_txs) {
  auto i =
      std::find_if(commands.begin(), commands.end(), [&](const char* c) { return f.command == c; });
  if (i == commands.end())
    return {unknown_message{f.command, f.payload.size()}, wire_error::none};
  byte_reader r{f.payload};
  auto msg = read_by_index(static_cast<std::size_t>(i - commands.begin()), r, max_block_txs);
  r.expect_end();
  return {std::move(msg), r.error()};
}

/// The block a decode produced, if it produced one without error.
block_message* decoded_block(decode_result& d) {
  return d.error == wire_error::none ? std::get_if<block_message>(&d.message) : nullptr;
}

} // namespace

decode_result decode_message(const frame& f, std::uint64_t max_block_txs) {
  auto d = decode_body(f, max_block_txs);
  if (auto* b = decoded_block(d))
    b->raw = f.payload;
  return d;
}

decode_result decode_message(frame&& f, std::uint64_t max_block_txs) {
  auto d = decode_body(f, max_block_txs);
  if (auto* b = decoded_block(d))
    b->raw = std::move(f.payload);
  return d;
}

std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key,
                        std::span<const std::uint8_t> data) {
  thread_local auto mac = Botan::MessageAuthenticationCode::create_or_throw("SipHash(2,4)");
  mac->set_key(key.data(), key.size());
  mac->update(data.data(), data.size());
  std::array<std::uint8_t, 8> out;
  mac->final(out.data());
  std::uint64_t x = 0;
  for (int i = 7; i >= 0; --i)
    x = x << 8 | out[static_cast<std::size_t>(i)];
  return x;
}

std::array<std::uint8_t, 16> short_id_key(const block_header& header, std::uint64_t nonce) {
  bytes buf = serialize(header);
  byte_writer{buf}.u64le(nonce);
  thread_local auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  std::array<std::uint8_t, 32> digest;
  sha->update(buf.data(), buf.size());
  sha->final(digest.data());
  std::array<std::uint8_t, 16> key;
  std::copy_n(digest.begin(), 16, key.begin());
  return key;
}

short_id make_short_id(const std::array<std::uint8_t, 16>& key, const hash256& txid) {
  return siphash24(key, txid) & 0xffffffffffffULL;
}

} // namespace qtc

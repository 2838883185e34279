// Wire primitives and v1 framing: byte-exact encodings, bounded decoding, streaming.
#include "messages/framing.hpp"
#include "messages/primitives/byte_io.hpp"
#include "messages/primitives/hash.hpp"
#include "messages/primitives/hex.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace qtc;

namespace {

/// Test data is well-formed hex.
bytes hex_bytes(const std::string& hex) {
  return qtc::from_hex(hex).value();
}

const network_magic qtcm{0x51, 0x54, 0x43, 0x4d};
const network_magic bitcoin_main{0xf9, 0xbe, 0xb4, 0xd9};

std::string compact(std::uint64_t x) {
  bytes out;
  byte_writer{out}.compact_size(x);
  return to_hex(out);
}

wire_error read_compact(const std::string& hex, std::uint64_t max = UINT64_MAX) {
  auto in = hex_bytes(hex);
  byte_reader r{in};
  r.compact_size(max);
  return r.error();
}

} // namespace

TEST_CASE("double-SHA256 known answers") {
  // SHA-256d of nothing: the checksum of every empty-payload message (verack, getaddr, ...).
  CHECK(to_hex(sha256d({})) == "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456");
  // Bitcoin's genesis block header and its well-known hash.
  auto genesis =
      hex_bytes("010000000000000000000000000000000000000000000000000000000000000000000000"
                "3ba3edfd7a7b12b27ac72c"
                "3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c");
  REQUIRE(genesis.size() == 80);
  auto h = sha256d(genesis);
  CHECK(to_display_hex(h) == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  hash256 parsed{};
  REQUIRE(from_display_hex(to_display_hex(h), parsed));
  CHECK(parsed == h);
  CHECK_FALSE(from_display_hex("xyz", parsed));
}

TEST_CASE("CompactSize is written in its shortest form") {
  CHECK(compact(0) == "00");
  CHECK(compact(0xfc) == "fc");
  CHECK(compact(0xfd) == "fdfd00");
  CHECK(compact(0xffff) == "fdffff");
  CHECK(compact(0x10000) == "fe00000100");
  CHECK(compact(0xffffffff) == "feffffffff");
  CHECK(compact(0x100000000) == "ff0000000001000000");
  for (std::uint64_t x : std::initializer_list<std::uint64_t>{
           0, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 0x100000000, UINT64_MAX}) {
    bytes out;
    byte_writer{out}.compact_size(x);
    byte_reader r{out};
    CHECK(r.compact_size(UINT64_MAX) == x);
    r.expect_end();
    CHECK(r.ok());
  }
}

TEST_CASE("CompactSize decoding refuses non-canonical forms, over-long values and truncation") {
  CHECK(read_compact("fdfc00") == wire_error::non_canonical_size);
  CHECK(read_compact("feffff0000") == wire_error::non_canonical_size);
  CHECK(read_compact("ffffffffff00000000") == wire_error::non_canonical_size);
  CHECK(read_compact("fd0010", 0x0fff) == wire_error::count_too_large);
  CHECK(read_compact("fd00") == wire_error::truncated);
  CHECK(read_compact("") == wire_error::truncated);
  CHECK(read_compact("fdfd00") == wire_error::none);
}

TEST_CASE("counts are bounded by what the remaining input could hold") {
  // A count of 50,000 items of at least 36 bytes each with 10 bytes left: refused before the
  // caller could reserve anything.
  bytes in;
  byte_writer w{in};
  w.compact_size(50000);
  w.raw(bytes(10, 0));
  byte_reader r{in};
  CHECK(r.count(50000, 36) == 0);
  CHECK(r.error() == wire_error::truncated);
  byte_reader r2{in};
  CHECK(r2.count(49999, 36) == 0);
  CHECK(r2.error() == wire_error::count_too_large);
}

TEST_CASE("reads past the end fail and the first error sticks") {
  auto in = hex_bytes("0102030405");
  byte_reader r{in};
  CHECK(r.u32le() == 0x04030201);
  CHECK(r.u32le() == 0);
  CHECK(r.error() == wire_error::truncated);
  CHECK(r.u8() == 0); // nothing is read after an error
  r.fail(wire_error::bad_checksum);
  CHECK(r.error() == wire_error::truncated);
}

TEST_CASE("var strings respect their bound and trailing bytes are noticed") {
  bytes in;
  byte_writer w{in};
  w.var_str("/qtcnode:0.1.0/");
  w.u8(0xaa);
  byte_reader r{in};
  CHECK(r.var_str(256) == "/qtcnode:0.1.0/");
  r.expect_end();
  CHECK(r.error() == wire_error::trailing_bytes);
  byte_reader tight{in};
  tight.var_str(8);
  CHECK(tight.error() == wire_error::count_too_large);
}

TEST_CASE("a verack frame is byte-exact with the QTCM magic") {
  bytes out;
  append_frame(out, qtcm, "verack", {});
  CHECK(to_hex(out)
        == "5154434d"
           "76657261636b000000000000"
           "00000000"
           "5df6e0e2");
}

TEST_CASE("real Bitcoin mainnet frames decode with Bitcoin's magic") {
  // Bitcoin mainnet verack, as sent on the wire.
  auto verack = hex_bytes("f9beb4d976657261636b000000000000000000005df6e0e2");
  frame_decoder d{bitcoin_main, 4'000'000};
  d.feed(verack);
  auto f = d.next();
  REQUIRE(f);
  CHECK(f->command == "verack");
  CHECK(f->payload.empty());
  CHECK(d.buffered() == 0);
  // The same bytes on a QTCM decoder: wrong network.
  frame_decoder q{qtcm, 4'000'000};
  q.feed(verack);
  CHECK_FALSE(q.next());
  CHECK(q.error() == wire_error::wrong_magic);
}

TEST_CASE("the streaming decoder yields whole frames from arbitrary pieces") {
  bytes stream;
  append_frame(stream, qtcm, "ping", hex_bytes("0102030405060708"));
  append_frame(stream, qtcm, "verack", {});
  bytes big(70000, 0x5a);
  append_frame(stream, qtcm, "block", big);
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{24}, std::size_t{4096}}) {
    CAPTURE(piece);
    frame_decoder d{qtcm, 4'000'000};
    std::vector<frame> got;
    for (std::size_t i = 0; i < stream.size(); i += piece) {
      auto n = std::min(piece, stream.size() - i);
      d.feed(std::span{stream.data() + i, n});
      while (auto f = d.next())
        got.push_back(std::move(*f));
    }
    CHECK(d.error() == wire_error::none);
    REQUIRE(got.size() == 3);
    CHECK(got[0].command == "ping");
    CHECK(to_hex(got[0].payload) == "0102030405060708");
    CHECK(got[1].command == "verack");
    CHECK(got[2].command == "block");
    CHECK(got[2].payload == big);
    CHECK(d.buffered() == 0);
  }
}

TEST_CASE("the streaming decoder gives back a grown buffer once it holds nothing, not before") {
  bytes stream;
  append_frame(stream, qtcm, "block", bytes(70000, 0x5a));
  append_frame(stream, qtcm, "ping", hex_bytes("0102030405060708"));
  frame_decoder d{qtcm, 4'000'000};
  // The block and half of the ping: something is still buffered, so the buffer stays.
  d.feed(std::span{stream}.first(stream.size() - 10));
  REQUIRE(d.next());
  CHECK_FALSE(d.next());
  d.release_spare_capacity(4096);
  CHECK(d.capacity() >= 70000);
  d.feed(std::span{stream}.last(10));
  REQUIRE(d.next());
  CHECK(d.buffered() == 0);
  // Empty: a buffer within `keep` stays, a larger one goes; decoding goes on afterwards.
  d.release_spare_capacity(1'000'000);
  CHECK(d.capacity() >= 70000);
  d.release_spare_capacity(4096);
  CHECK(d.capacity() == 0);
  d.feed(std::span{stream}.last(32));
  auto ping = d.next();
  REQUIRE(ping);
  CHECK(ping->command == "ping");
  CHECK(d.error() == wire_error::none);
}

TEST_CASE("framing errors are distinct and final") {
  bytes good;
  append_frame(good, qtcm, "ping", hex_bytes("0102030405060708"));
  SUBCASE("bad checksum") {
    auto bad = good;
    bad.back() ^= 1;
    frame_decoder d{qtcm, 4'000'000};
    d.feed(bad);
    CHECK_FALSE(d.next());
    CHECK(d.error() == wire_error::bad_checksum);
    d.feed(good); // nothing after an error
    CHECK_FALSE(d.next());
  }
  SUBCASE("oversized payload is refused from the header alone") {
    frame_decoder d{qtcm, 1000};
    bytes header;
    byte_writer w{header};
    w.fixed(qtcm);
    w.raw(hex_bytes("626c6f636b00000000000000")); // "block"
    w.u32le(1001);
    w.u32le(0);
    d.feed(header);
    CHECK_FALSE(d.next());
    CHECK(d.error() == wire_error::payload_too_large);
  }
  SUBCASE("command must be printable ASCII padded with NULs only") {
    auto bad = good;
    bad[4 + 5] = 'x'; // a byte after the NUL that ends "ping"
    frame_decoder d{qtcm, 4'000'000};
    d.feed(bad);
    CHECK_FALSE(d.next());
    CHECK(d.error() == wire_error::bad_command);
    auto ctrl = good;
    ctrl[4] = 0x07;
    frame_decoder d2{qtcm, 4'000'000};
    d2.feed(ctrl);
    CHECK_FALSE(d2.next());
    CHECK(d2.error() == wire_error::bad_command);
  }
  SUBCASE("a partial frame waits without reading past its bytes") {
    frame_decoder d{qtcm, 4'000'000};
    d.feed(std::span{good.data(), good.size() - 1});
    CHECK_FALSE(d.next());
    CHECK(d.error() == wire_error::none);
    CHECK(d.buffered() == good.size() - 1);
    d.feed(std::span{good.data() + good.size() - 1, 1});
    CHECK(d.next());
  }
}

TEST_CASE("a refused header keeps its command when the command field was valid") {
  bytes good;
  append_frame(good, qtcm, "ping", hex_bytes("0102030405060708"));
  auto refused = [](const bytes& raw, std::uint32_t max = 4'000'000) {
    frame_decoder d{qtcm, max};
    d.feed(raw);
    CHECK_FALSE(d.next());
    return std::pair{d.error(), d.error_command()};
  };
  auto bad_sum = good;
  bad_sum[20] ^= 1;
  CHECK(refused(bad_sum) == std::pair{wire_error::bad_checksum, std::string{"ping"}});
  CHECK(refused(good, 7) == std::pair{wire_error::payload_too_large, std::string{"ping"}});
  auto magic = good;
  magic[0] ^= 1;
  CHECK(refused(magic) == std::pair{wire_error::wrong_magic, std::string{}});
  auto command = good;
  command[4] = 0x07;
  CHECK(refused(command) == std::pair{wire_error::bad_command, std::string{}});
  frame_decoder ok{qtcm, 4'000'000};
  ok.feed(good);
  CHECK(ok.next());
  CHECK(ok.error_command().empty());
}

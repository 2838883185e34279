// Fuzz target: arbitrary bytes as a P2P stream, fed in arbitrary pieces, decoded into messages.
// Invariants: no crash, no read past the input, every decoded frame re-encodes to a frame that
// decodes to the same message.
#include "messages/p2p.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtc;
  const network_magic magic{0x51, 0x54, 0x43, 0x4d};
  frame_decoder d{magic, 4'000'000};
  // The first byte picks the piece size, so splitting is fuzzed too.
  std::size_t piece = size > 0 ? 1 + data[0] % 64 : 1;
  for (std::size_t i = size > 0 ? 1 : 0; i < size; i += piece) {
    d.feed(std::span{data + i, std::min(piece, size - i)});
    while (auto f = d.next()) {
      auto r = decode_message(*f, 100'000);
      if (r.error != wire_error::none || std::holds_alternative<unknown_message>(r.message))
        continue;
      bytes again;
      append_message(again, magic, r.message);
      frame_decoder d2{magic, 4'000'000};
      d2.feed(again);
      auto f2 = d2.next();
      if (!f2 || !(decode_message(*f2, 100'000).message == r.message))
        std::abort(); // a message that does not survive its own round trip
    }
  }
  return 0;
}

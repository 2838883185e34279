// Fuzz target: arbitrary bytes as a STUN datagram from an untrusted server.
// Invariants: no crash, no read past the input (ASan), and every address a decoded message
// reports survives the success-response encoder: re-encoded as XOR-MAPPED-ADDRESS (with the
// message's OTHER-ADDRESS and RESPONSE-ORIGIN), it decodes to the same endpoints.
#include "runtime/nat/stun_message.hpp"

#include <cstdlib>

namespace {

void check_round_trip(const qtc::stun::message& m, const qtc::stun::endpoint& mapped) {
  using namespace qtc::stun;
  const auto again =
      decode(encode_binding_success(m.id, mapped, m.other_address, m.response_origin));
  if (!again.msg || !again.msg->fingerprint || reported_address(*again.msg) != mapped
      || again.msg->other_address != m.other_address
      || again.msg->response_origin != m.response_origin || again.msg->id != m.id)
    std::abort(); // an address that does not survive its own round trip
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtc::stun;
  const auto r = decode(std::span{data, size});
  if (!r.msg) {
    if (r.error.empty())
      std::abort(); // a rejection must say why
    return 0;
  }
  for (const auto& a : {r.msg->xor_mapped_address, r.msg->mapped_address, r.msg->other_address,
                        r.msg->response_origin})
    if (a)
      check_round_trip(*r.msg, *a);
  // Integrity checking must be safe on whatever decoded, with any key.
  (void)check_integrity(std::span{data, size}, *r.msg, std::span{data, size > 8 ? 8 : size});
  return 0;
}

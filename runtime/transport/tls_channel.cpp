// The TLS 1.3 secure channel over Botan 3: a policy (TLS 1.3, AEAD, hybrid or X25519 key
// exchange), a credentials manager holding our two-certificate chain, and callbacks that pin the
// peer's identity key and bind the connection to the network by ALPN.
//
// Why two certificates: Botan's TLS (3.7, and still upstream) cannot sign or verify a TLS 1.3
// CertificateVerify with Ed25519 (Signature_Scheme::all_available_schemes leaves EDDSA_25519 out),
// so the handshake key is an ECDSA P-256 key made for this channel, certified by the node's
// Ed25519 identity key: [TLS certificate (P-256, signed by the identity key), identity
// certificate (Ed25519, self-signed)]. X.509 handles Ed25519 fine; only the TLS signature is P-256.
#include "runtime/transport/tls_channel.hpp"

#include "messages/primitives/hex.hpp"

#include <botan/credentials_manager.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/ocsp.h>
#include <botan/pk_keys.h>
#include <botan/rng.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_extensions.h>
#include <botan/tls_policy.h>
#include <botan/tls_server.h>
#include <botan/tls_session_manager_noop.h>
#include <botan/x509_ca.h>
#include <botan/x509cert.h>
#include <botan/x509self.h>

#include <algorithm>

namespace qtc {

namespace {

namespace tls = Botan::TLS;

/// What both sides accept. Everything not listed is refused rather than negotiated down.
class channel_policy final : public tls::Policy {
public:
  explicit channel_policy(pq_policy pq) : pq_(pq) {}

  bool allow_tls12() const override {
    return false;
  }
  bool allow_tls13() const override {
    return true;
  }
  bool allow_dtls12() const override {
    return false;
  }
  // TLS 1.3 suites are all AEAD with (EC)DHE; these are the three Botan implements besides CCM.
  std::vector<std::string> allowed_ciphers() const override {
    return {"ChaCha20Poly1305", "AES-256/GCM", "AES-128/GCM"};
  }
  std::vector<std::string> allowed_macs() const override {
    return {"AEAD"};
  }
  // The handshake signature (CertificateVerify): ecdsa_secp256r1_sha256 and nothing else, the
  // one scheme every TLS 1.3 stack has and Botan signs with (see the file header).
  std::vector<std::string> allowed_signature_methods() const override {
    return {"ECDSA"};
  }
  std::vector<std::string> allowed_signature_hashes() const override {
    return {"SHA-256"};
  }
  // Signatures inside certificates: the identity key's Ed25519. Sent as signature_algorithms_cert,
  // without which RFC 8446 4.2.3 lets the peer hold our certificates to the ECDSA list above.
  std::optional<std::vector<tls::Signature_Scheme>>
  acceptable_certificate_signature_schemes() const override {
    return std::vector<tls::Signature_Scheme>{tls::Signature_Scheme::EDDSA_25519};
  }
  // The hybrid first so that two nodes resist a future quantum attacker on recorded traffic;
  // X25519 alone for peers without ML-KEM (stock OpenSSL 3.0) unless the policy requires the
  // hybrid. No finite-field groups.
  std::vector<tls::Group_Params> key_exchange_groups() const override {
    std::vector<tls::Group_Params> groups;
    auto add = [&](tls::Group_Params g) {
      if (g.is_available())
        groups.push_back(g);
    };
    if (pq_ != pq_policy::off)
      add(tls::Group_Params::HYBRID_X25519_ML_KEM_768);
    if (pq_ != pq_policy::required)
      add(tls::Group_Params::X25519);
    return groups;
  }
  // Offer a share for both groups: Botan's default offers only X25519, and a server preferring
  // the hybrid would then cost a HelloRetryRequest round trip.
  std::vector<tls::Group_Params> key_exchange_groups_to_offer() const override {
    return key_exchange_groups();
  }
  // Both sides are nodes, named by their identity key: the server demands the client's chain
  // (Botan's TLS 1.3 server aborts with certificate_required when the client sends none).
  bool request_client_certificate_authentication() const override {
    return true;
  }
  bool require_client_certificate_authentication() const override {
    return true;
  }
  // Connections are not resumed: every one proves the identity afresh.
  std::size_t new_session_tickets_upon_handshake_success() const override {
    return 0;
  }

private:
  pq_policy pq_;
};

/// Hands Botan our chain and the TLS key, whichever side asks.
class own_chain final : public Botan::Credentials_Manager {
public:
  own_chain(std::vector<Botan::X509_Certificate> chain, std::shared_ptr<Botan::Private_Key> key)
      : chain_(std::move(chain)), key_(std::move(key)) {}

  std::vector<Botan::X509_Certificate> find_cert_chain(
      const std::vector<std::string>& key_types, const std::vector<Botan::AlgorithmIdentifier>&,
      const std::vector<Botan::X509_DN>&, const std::string&, const std::string&) override {
    // A peer that accepts no ECDSA signature gets no certificate and fails the handshake.
    if (std::find(key_types.begin(), key_types.end(), "ECDSA") == key_types.end())
      return {};
    return chain_;
  }

  using Botan::Credentials_Manager::private_key_for;
  std::shared_ptr<Botan::Private_Key> private_key_for(const Botan::X509_Certificate& cert,
                                                      const std::string&,
                                                      const std::string&) override {
    return cert == chain_.front() ? key_ : nullptr;
  }

private:
  std::vector<Botan::X509_Certificate> chain_; // TLS certificate, identity certificate
  std::shared_ptr<Botan::Private_Key> key_;    // the TLS certificate's P-256 key
};

/// Our chain: the identity certificate (Ed25519, self-signed) and the TLS certificate (a fresh
/// P-256 key, signed by the identity key). Both are named CN = node id hex.
std::vector<Botan::X509_Certificate> make_chain(const node_identity& self,
                                                const Botan::Private_Key& tls_key,
                                                std::chrono::system_clock::time_point now,
                                                std::chrono::seconds lifetime,
                                                Botan::RandomNumberGenerator& rng) {
  // Backdated an hour so a peer whose clock is a little behind sees no "not yet valid".
  const Botan::X509_Time start{now - std::chrono::hours{1}};
  const Botan::X509_Time end{now + lifetime};
  auto options = [&] {
    Botan::X509_Cert_Options o;
    o.common_name = to_hex(self.id());
    o.start = start;
    o.end = end;
    return o;
  };
  auto identity_key = self.tls_private_key();
  auto identity_opts = options();
  identity_opts.CA_key(0); // may certify TLS keys, not other CAs
  auto identity = Botan::X509::create_self_signed_cert(identity_opts, *identity_key, "", rng);

  auto tls_opts = options();
  // No extendedKeyUsage (absent means any use, RFC 5280): Botan's create_cert_req would drop it.
  tls_opts.constraints = Botan::Key_Constraints::DigitalSignature;
  auto request = Botan::X509::create_cert_req(tls_opts, tls_key, "SHA-256", rng);
  Botan::X509_CA ca{identity, *identity_key, "", rng};
  return {ca.sign_request(request, rng, start, end), identity};
}

/// A shared_ptr that does not own: Botan's API takes shared_ptrs, but the channel owns its
/// callbacks and the caller owns the RNG, both outliving the Botan objects that point to them.
template <typename T>
std::shared_ptr<T> borrowed(T& x) {
  return std::shared_ptr<T>(std::shared_ptr<void>{}, &x);
}

constexpr std::size_t record_header_size = 5; // type, legacy version (2), length (2)

} // namespace

std::string tls_alpn_protocol(const std::array<std::uint8_t, 4>& network_magic) {
  return "qtc1-" + to_hex(network_magic);
}

bool looks_like_tls_client_hello(std::span<const std::uint8_t> first_bytes) {
  if (first_bytes.empty() || first_bytes[0] != 0x16) // handshake record
    return false;
  if (first_bytes.size() < 3)
    return true;
  // The record's legacy version: 0x0301 from most clients, 0x0303 allowed by RFC 8446.
  return first_bytes[1] == 0x03 && first_bytes[2] >= 0x01 && first_bytes[2] <= 0x03;
}

class tls_channel::impl final : public tls::Callbacks {
public:
  impl(channel_role role, const node_identity& self, const std::array<std::uint8_t, 4>& magic,
       std::optional<static_public_key> pinned, Botan::RandomNumberGenerator& rng, tls_options opts)
      : role_(role), alpn_(tls_alpn_protocol(magic)), pinned_(pinned), rng_(rng), opts_(opts) {
    // A fresh handshake key per channel: the long-term identity key only ever signs
    // certificates, never a TLS transcript.
    auto tls_key =
        std::make_shared<Botan::ECDSA_PrivateKey>(rng_, Botan::EC_Group::from_name("secp256r1"));
    auto chain = make_chain(self, *tls_key, current_time(), opts_.certificate_lifetime, rng_);
    credentials_ = std::make_shared<own_chain>(std::move(chain), std::move(tls_key));
  }

  // --- the secure_channel operations ---------------------------------------------------------

  transport_error start(bytes& out) {
    if (failure_ != transport_error::none)
      return transport_error::closed;
    if (tls_)
      return transport_error::none; // started already: nothing more to send
    sinks guard{*this, &out, nullptr};
    try {
      auto policy = std::make_shared<channel_policy>(opts_.pq);
      auto sessions = std::make_shared<tls::Session_Manager_Noop>();
      // The client writes its ClientHello from inside the constructor, hence the sinks above.
      if (role_ == channel_role::initiator)
        tls_ = std::make_unique<tls::Client>(
            borrowed<tls::Callbacks>(*this), sessions, credentials_, policy, borrowed(rng_),
            tls::Server_Information{}, // no SNI: no host name
            tls::Protocol_Version::TLS_V13, std::vector<std::string>{alpn_});
      else
        tls_ = std::make_unique<tls::Server>(borrowed<tls::Callbacks>(*this), sessions,
                                             credentials_, policy, borrowed(rng_));
    } catch (const std::exception& e) {
      fail(transport_error::tls_failure, e.what());
    }
    return failure_;
  }

  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) {
    if (failure_ != transport_error::none)
      return transport_error::closed;
    if (!tls_)
      return transport_error::not_established;
    if (peer_closed_)
      return transport_error::none; // RFC 8446 6.1: data after close_notify is ignored
    track_records(in);
    sinks guard{*this, &out, &plain};
    try {
      tls_->received_data(in);
    } catch (const tls::TLS_Exception& e) {
      fail(from_alert(e.type()), e.what());
    } catch (const std::exception& e) { // a bad record tag, an undecodable message
      fail(transport_error::tls_failure, e.what());
    }
    // A fatal alert from the peer closes Botan's channel without an exception.
    if (reason_ != transport_error::none)
      fail(reason_, detail_);
    return failure_;
  }

  transport_error send(std::span<const std::uint8_t> plain, bytes& out) {
    if (failure_ != transport_error::none || peer_closed_ || closed_by_us_)
      return transport_error::closed;
    if (!established_)
      return transport_error::not_established;
    if (plain.empty())
      return transport_error::none;
    sinks guard{*this, &out, nullptr};
    try {
      tls_->send(plain); // Botan cuts it into records of at most 16 KiB
    } catch (const std::exception& e) {
      fail(transport_error::tls_failure, e.what());
    }
    return failure_;
  }

  transport_error close(bytes& out) {
    if (failure_ != transport_error::none || closed_by_us_)
      return transport_error::closed;
    if (!tls_)
      return transport_error::not_established;
    closed_by_us_ = true;
    if (peer_closed_)
      return transport_error::none; // Botan already answered the peer's close_notify
    sinks guard{*this, &out, nullptr};
    try {
      tls_->close();
    } catch (const std::exception& e) {
      fail(transport_error::tls_failure, e.what());
    }
    return failure_;
  }

  transport_error end_of_stream() {
    if (failure_ != transport_error::none)
      return transport_error::closed;
    if (peer_closed_)
      return transport_error::none;
    if (!established_ || header_have_ > 0 || body_left_ > 0)
      fail(transport_error::truncated, established_ ? "the stream ended inside a TLS record"
                                                    : "the stream ended during the handshake");
    return failure_;
  }

  bool established() const {
    return established_ && failure_ == transport_error::none && !peer_closed_ && !closed_by_us_;
  }

  /// The RFC 8446 exporter value of `label` (32 bytes, empty context), once established.
  bytes exporter(std::string_view label) const {
    if (!established_ || !tls_)
      return {};
    auto key = tls_->key_material_export(label, "", 32);
    return bytes(key.begin(), key.end());
  }

  // --- Botan's callbacks ---------------------------------------------------------------------

  void tls_emit_data(std::span<const std::uint8_t> data) override {
    if (out_)
      out_->insert(out_->end(), data.begin(), data.end());
  }

  void tls_record_received(std::uint64_t, std::span<const std::uint8_t> data) override {
    if (plain_)
      plain_->insert(plain_->end(), data.begin(), data.end());
  }

  void tls_alert(tls::Alert alert) override {
    if (alert.type() == tls::Alert::CloseNotify) {
      peer_closed_ = true;
      return;
    }
    if (alert.type() == tls::Alert::UserCanceled) // always followed by close_notify
      return;
    if (reason_ == transport_error::none) {
      reason_ = from_alert(alert.type());
      detail_ = "the peer sent the alert " + alert.type_string();
    }
  }

  void tls_session_established(const tls::Session_Summary& session) override {
    group_ = session.kex_parameters().value_or("");
    cipher_ = "TLS_" + session.ciphersuite().to_string(); // Botan drops the IANA prefix
  }

  void tls_session_activated() override {
    // Only now is the key authenticated: the peer's CertificateVerify and Finished checked out.
    remote_static_ = candidate_static_;
    established_ = true;
  }

  // Pinning replaces the PKI: no CA store, no host name, no validity dates, no revocation. The
  // chain must be [TLS certificate, identity certificate] with the identity key Ed25519, signing
  // both; Botan then checks the CertificateVerify against the TLS certificate's key.
  void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                             const std::vector<std::optional<Botan::OCSP::Response>>&,
                             const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type,
                             std::string_view, const tls::Policy&) override {
    if (chain.size() != 2)
      refuse(transport_error::tls_failure, tls::Alert::BadCertificate,
             "expected 2 certificates (TLS key, identity key), got "
                 + std::to_string(chain.size()));
    const auto& identity = chain[1];
    std::unique_ptr<Botan::Public_Key> key;
    try {
      key = identity.subject_public_key();
    } catch (const std::exception& e) {
      refuse(transport_error::tls_failure, tls::Alert::UnsupportedCertificate,
             std::string{"unreadable identity key: "} + e.what());
    }
    if (key->algo_name() != "Ed25519")
      refuse(transport_error::tls_failure, tls::Alert::UnsupportedCertificate,
             "the identity key is " + key->algo_name() + ", not Ed25519");
    if (!identity.check_signature(*key))
      refuse(transport_error::tls_failure, tls::Alert::BadCertificate,
             "the identity certificate is not self-signed by its key");
    if (!chain[0].check_signature(*key))
      refuse(transport_error::tls_failure, tls::Alert::BadCertificate,
             "the TLS certificate is not signed by the identity key");
    auto ed25519 = key->public_key_bits();
    auto peer = x25519_from_ed25519(ed25519);
    if (!peer)
      refuse(transport_error::tls_failure, tls::Alert::BadCertificate,
             "the identity key maps to no X25519 key");
    if (pinned_ && *pinned_ != *peer)
      refuse(transport_error::pin_mismatch, tls::Alert::BadCertificate,
             "the peer's static key " + to_hex(*peer) + " is not the pinned " + to_hex(*pinned_));
    candidate_static_ = *peer;
  }

  void tls_examine_extensions(const tls::Extensions& extensions, tls::Connection_Side,
                              tls::Handshake_Type message) override {
    using alpn = tls::Application_Layer_Protocol_Notification;
    // Server: the ClientHello must offer our network's protocol. Checked here rather than in
    // tls_server_choose_app_protocol, which runs after the ServerHello is made: refusing now
    // costs no key exchange and the alert goes out in the clear.
    if (role_ == channel_role::responder && message == tls::Handshake_Type::ClientHello) {
      const auto* offered = extensions.get<alpn>();
      if (!offered || std::ranges::find(offered->protocols(), alpn_) == offered->protocols().end())
        refuse(transport_error::wrong_network, tls::Alert::NoApplicationProtocol,
               "the client did not offer the ALPN protocol " + alpn_);
    }
    // Client: a server that ignored ALPN (or chose another protocol) is not on our network.
    if (role_ == channel_role::initiator && message == tls::Handshake_Type::EncryptedExtensions) {
      const auto* chosen = extensions.get<alpn>();
      if (!chosen || chosen->protocols() != std::vector<std::string>{alpn_})
        refuse(transport_error::wrong_network, tls::Alert::NoApplicationProtocol,
               "the server did not select the ALPN protocol " + alpn_);
    }
  }

  std::string tls_server_choose_app_protocol(const std::vector<std::string>&) override {
    return alpn_; // offered: tls_examine_extensions checked the ClientHello
  }

  bool tls_should_persist_resumption_information(const tls::Session&) override {
    return false;
  }

  std::chrono::system_clock::time_point tls_current_timestamp() override {
    return current_time();
  }

  // --- state, read by tls_channel ------------------------------------------------------------

  transport_error failure_ = transport_error::none;
  std::string detail_;
  bool established_ = false;
  bool peer_closed_ = false;
  std::optional<static_public_key> remote_static_;
  std::string group_;
  std::string cipher_;

private:
  /// Where Botan's output goes during one call; null outside calls.
  struct sinks {
    impl& self;
    sinks(impl& s, bytes* out, bytes* plain) : self(s) {
      self.out_ = out;
      self.plain_ = plain;
    }
    ~sinks() {
      self.out_ = nullptr;
      self.plain_ = nullptr;
    }
  };

  static transport_error from_alert(tls::Alert::Type type) {
    switch (type) {
    case tls::Alert::NoApplicationProtocol:
      return transport_error::wrong_network;
    case tls::Alert::RecordOverflow:
      return transport_error::frame_too_large;
    default:
      return transport_error::tls_failure;
    }
  }

  /// Records why we refuse the handshake, then throws: Botan sends `alert` and rethrows to
  /// receive(), which reports `why` rather than the generic tls_failure.
  [[noreturn]] void refuse(transport_error why, tls::Alert::Type alert, const std::string& detail) {
    reason_ = why;
    detail_ = detail;
    throw tls::TLS_Exception(alert, detail);
  }

  /// The first reason sticks: a refusal is reported as itself, not as the exception it caused.
  void fail(transport_error why, const std::string& detail) {
    if (failure_ != transport_error::none)
      return;
    failure_ = reason_ != transport_error::none ? reason_ : why;
    if (detail_.empty())
      detail_ = detail;
  }

  /// Follows the record framing of the bytes received, only so that end_of_stream() can tell
  /// a stream cut inside a record from one cut between records.
  void track_records(std::span<const std::uint8_t> in) {
    std::size_t i = 0;
    while (i < in.size()) {
      if (body_left_ > 0) {
        auto n = std::min(body_left_, in.size() - i);
        body_left_ -= n;
        i += n;
        continue;
      }
      header_[header_have_++] = in[i++];
      if (header_have_ == record_header_size) {
        body_left_ = std::size_t{header_[3]} << 8 | header_[4];
        header_have_ = 0;
      }
    }
  }

  std::chrono::system_clock::time_point current_time() const {
    return opts_.now.value_or(std::chrono::system_clock::now());
  }

  channel_role role_;
  std::string alpn_;
  std::optional<static_public_key> pinned_;
  Botan::RandomNumberGenerator& rng_;
  tls_options opts_;
  std::shared_ptr<own_chain> credentials_;

  bytes* out_ = nullptr;
  bytes* plain_ = nullptr;
  transport_error reason_ = transport_error::none; // set by a refusal or a received alert
  std::optional<static_public_key> candidate_static_;
  bool closed_by_us_ = false;
  std::array<std::uint8_t, record_header_size> header_{};
  std::size_t header_have_ = 0;
  std::size_t body_left_ = 0;

  // Last, so it is destroyed first: it points to this object's callbacks.
  std::unique_ptr<tls::Channel> tls_;
};

tls_channel::tls_channel(channel_role role, const node_identity& self,
                         std::array<std::uint8_t, 4> network_magic,
                         std::optional<static_public_key> pinned_peer,
                         Botan::RandomNumberGenerator& rng, tls_options opts)
    : impl_(std::make_unique<impl>(role, self, network_magic, pinned_peer, rng, opts)) {}

tls_channel::~tls_channel() = default;

transport_error tls_channel::start(bytes& out) {
  return impl_->start(out);
}

transport_error tls_channel::receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) {
  return impl_->receive(in, out, plain);
}

transport_error tls_channel::send(std::span<const std::uint8_t> plain, bytes& out) {
  return impl_->send(plain, out);
}

transport_error tls_channel::end_of_stream() {
  return impl_->end_of_stream();
}

transport_error tls_channel::close(bytes& out) {
  return impl_->close(out);
}

bool tls_channel::established() const {
  return impl_->established();
}

std::optional<static_public_key> tls_channel::remote_static() const {
  return impl_->remote_static_;
}

transport_error tls_channel::failure() const {
  return impl_->failure_;
}

bytes tls_channel::session_binding() const {
  return impl_->exporter("EXPORTER-qtc-quantumproof");
}

bool tls_channel::peer_closed() const {
  return impl_->peer_closed_;
}

std::string tls_channel::negotiated_group() const {
  return impl_->established_ ? impl_->group_ : std::string{};
}

std::string tls_channel::negotiated_cipher() const {
  return impl_->established_ ? impl_->cipher_ : std::string{};
}

std::string tls_channel::failure_detail() const {
  return impl_->failure_ == transport_error::none ? std::string{} : impl_->detail_;
}

bool tls_channel::post_quantum() const {
  return established() && negotiated_group().find("ML-KEM") != std::string::npos;
}

} // namespace qtc

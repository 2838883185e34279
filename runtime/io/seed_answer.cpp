#include "runtime/io/seed_answer.hpp"

namespace qtc {

namespace {

/// A host named by a SRV or TXT record: an address is used as it is, a name must be valid.
void add_host(const std::string& host, seed_target t, seed_targets& out) {
  t.host = host;
  t.ip = parse_ip(host);
  if (!t.ip && !is_valid_hostname(host)) {
    out.rejected.push_back({host, "not a valid host name"});
    return;
  }
  out.targets.push_back(std::move(t));
}

void add_entry(const network_address_entry& entry, seed_targets& out) {
  seed_target t;
  t.port = entry.port;
  t.pubkey_hex = entry.pubkey_hex;
  t.tls_only = entry.tls_only;
  add_host(entry.host, std::move(t), out);
}

/// One entry per whitespace-separated word of a TXT record.
void add_txt_entries(const std::string& text, seed_targets& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find_first_of(" \t", pos);
    if (end == std::string::npos)
      end = text.size();
    auto word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty())
      continue;
    std::string error;
    auto entry = parse_address_entry(word, error);
    if (!entry) {
      out.rejected.push_back({word, error});
      continue;
    }
    add_entry(*entry, out);
  }
}

} // namespace

seed_targets targets_of(const network_address_entry& entry) {
  seed_targets out;
  add_entry(entry, out);
  return out;
}

seed_targets targets_of(const dns_answer& answer, std::uint16_t default_port) {
  seed_targets out;
  if (answer.failure != dns_failure::none)
    return out;
  for (const auto& r : answer.records) {
    switch (answer.type) {
    case dns_type::a:
    case dns_type::aaaa: {
      seed_target t;
      t.ip = r.ip;
      t.host = format_ip(r.ip);
      t.port = default_port;
      out.targets.push_back(std::move(t));
      break;
    }
    case dns_type::srv: {
      seed_target t;
      t.port = r.port;
      add_host(r.target, std::move(t), out);
      break;
    }
    case dns_type::txt:
      add_txt_entries(r.text, out);
      break;
    }
  }
  return out;
}

} // namespace qtc

// bitcoind's result objects, built from what the node's components answer (their status
// reports, rendered as JSON by messages/json) and from stored blocks. Pure: the time is passed in.
#pragma once

#include "messages/block.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace qtc::rpc {

/// Difficulty as bitcoind reports it: the target of compact `bits` relative to 0x1d00ffff's.
double difficulty_of(std::uint32_t bits);

/// "20000000": a version as 8 hex digits (versionHex).
std::string version_hex(std::int32_t version);

/// getblockheader's object from the sync coordinator's header report.
nlohmann::json header_result(const nlohmann::json& header_report);

/// getblock's verbosity-1 object: the header's fields, the block's sizes and transaction ids.
nlohmann::json block_result(const nlohmann::json& header_report, const block& b,
                            std::size_t serialized_size);

/// getblockchaininfo's object from the sync status, the best stored block's header report and
/// the chain store's size.
nlohmann::json blockchain_info_result(const std::string& chain, const nlohmann::json& sync_status,
                                      const nlohmann::json& tip_header, std::uint64_t size_on_disk);

/// What getnetworkinfo reports besides the peer manager's counts.
struct node_facts {
  std::string user_agent; ///< "/qtcnode:0.1.0/"
  std::string version;    ///< "0.1.0"
  std::int32_t protocol_version = 0;
  std::uint64_t services = 1; ///< NODE_NETWORK
};

/// getnetworkinfo's object from the peer manager's status (info verbosity).
nlohmann::json network_info_result(const nlohmann::json& peers_status, const node_facts& facts);

/// getpeerinfo's array from the peer manager's detailed status.
nlohmann::json peer_info_result(const nlohmann::json& peers_status, std::int64_t now_unix);

/// getnettotals' object: the peer manager's byte totals, the sync coordinator's upload target.
nlohmann::json net_totals_result(const nlohmann::json& peers_status,
                                 const nlohmann::json& sync_status, std::int64_t now_ms);

/// listbanned's array from the security manager's ban list.
nlohmann::json banned_result(const nlohmann::json& bans, std::int64_t now_unix);

/// submitblock's answer to a refusal of the sync coordinator: "duplicate" for a block it has,
/// "inconclusive" for one that does not extend the tip, else "rejected: <reason>".
std::string submitblock_refusal(std::string_view reason);

/// bitcoind's version number (10000 * major + 100 * minor + patch) of "major.minor.patch".
std::int64_t version_number(std::string_view version);

} // namespace qtc::rpc

// The names of the metric families every node exports (as in the architecture spec). Components
// report to them through metrics_client; actors/metrics registers each family.
#pragma once

#include <array>

namespace qtc {

/// The metric families every node exports (names as in the architecture spec).
namespace metric_names {
constexpr const char* connections_total = "quantumcoin_connections_total";
constexpr const char* connections_active = "quantumcoin_connections_active";
constexpr const char* bytes_sent_total = "quantumcoin_bytes_sent_total";
constexpr const char* bytes_received_total = "quantumcoin_bytes_received_total";
constexpr const char* sync_progress = "quantumcoin_sync_progress";
constexpr const char* latency_avg = "quantumcoin_latency_avg";
constexpr const char* bandwidth_usage = "quantumcoin_bandwidth_usage";
constexpr const char* actor_restarts_total = "quantumcoin_actor_restarts_total";
constexpr const char* supervisor_escalations_total = "quantumcoin_supervisor_escalations_total";
constexpr const char* dns_failures_total = "quantumcoin_dns_failures_total";
constexpr const char* discovered_addresses_total = "quantumcoin_discovered_addresses_total";
constexpr const char* build_info = "quantumcoin_build_info";
constexpr const char* security_offences_total = "quantumcoin_security_offences_total";
constexpr const char* security_verdicts_total = "quantumcoin_security_verdicts_total";
constexpr const char* security_admissions_total = "quantumcoin_security_admissions_total";
constexpr const char* security_bans = "quantumcoin_security_bans";
constexpr const char* security_tracked_addresses = "quantumcoin_security_tracked_addresses";
constexpr const char* security_throttled_addresses = "quantumcoin_security_throttled_addresses";
constexpr const char* security_reputation_addresses = "quantumcoin_security_reputation_addresses";
constexpr const char* security_detections_total = "quantumcoin_security_detections_total";
constexpr const char* security_alerts_total = "quantumcoin_security_alerts_total";
constexpr const char* nat_info = "quantumcoin_nat_info";
constexpr const char* nat_reachable = "quantumcoin_nat_reachable";
constexpr const char* nat_mapping_expiry = "quantumcoin_nat_mapping_expiry_timestamp_seconds";
constexpr const char* nat_address_confirmations = "quantumcoin_nat_address_confirmations";
constexpr const char* nat_stun_failures_total = "quantumcoin_nat_stun_failures_total";
constexpr const char* nat_port_mappings_total = "quantumcoin_nat_port_mappings_total";
constexpr const char* quantumproofs_total = "quantumcoin_quantumproofs_total";
constexpr const char* pq_refusals_total = "quantumcoin_pq_refusals_total";
constexpr const char* dns_queries_total = "quantumcoin_dns_queries_total";
constexpr const char* connection_attempts_total = "quantumcoin_connection_attempts_total";
constexpr const char* sync_height = "quantumcoin_sync_height";
constexpr const char* sync_target_height = "quantumcoin_sync_target_height";
constexpr const char* headers_height = "quantumcoin_headers_height";
constexpr const char* health_check_status = "quantumcoin_health_check_status";
constexpr const char* ready = "quantumcoin_ready";
constexpr const char* peers = "quantumcoin_peers";
constexpr const char* handshake_failures_total = "quantumcoin_handshake_failures_total";
constexpr const char* security_bans_total = "quantumcoin_security_bans_total";
constexpr const char* headers_processing_seconds = "quantumcoin_headers_processing_seconds";
constexpr const char* block_processing_seconds = "quantumcoin_block_processing_seconds";
constexpr const char* messages_total = "quantumcoin_messages_total";
constexpr const char* message_bytes_total = "quantumcoin_message_bytes_total";
constexpr const char* actor_mailbox_depth = "quantumcoin_actor_mailbox_depth";
constexpr const char* inspector_refusals_total = "quantumcoin_inspector_refusals_total";

/// Every family above: actors/metrics registers each, and a test checks that it does.
inline constexpr std::array all{connections_total,
                                connections_active,
                                bytes_sent_total,
                                bytes_received_total,
                                sync_progress,
                                latency_avg,
                                bandwidth_usage,
                                actor_restarts_total,
                                supervisor_escalations_total,
                                dns_failures_total,
                                discovered_addresses_total,
                                build_info,
                                security_offences_total,
                                security_verdicts_total,
                                security_admissions_total,
                                security_bans,
                                security_tracked_addresses,
                                security_throttled_addresses,
                                security_reputation_addresses,
                                security_detections_total,
                                security_alerts_total,
                                nat_info,
                                nat_reachable,
                                nat_mapping_expiry,
                                nat_address_confirmations,
                                nat_stun_failures_total,
                                nat_port_mappings_total,
                                quantumproofs_total,
                                pq_refusals_total,
                                dns_queries_total,
                                connection_attempts_total,
                                sync_height,
                                sync_target_height,
                                headers_height,
                                health_check_status,
                                ready,
                                peers,
                                handshake_failures_total,
                                security_bans_total,
                                headers_processing_seconds,
                                block_processing_seconds,
                                messages_total,
                                message_bytes_total,
                                actor_mailbox_depth,
                                inspector_refusals_total};
} // namespace metric_names

} // namespace qtc

// qtc-inspect's text views: what the inspector's JSON answers look like to a person. Each takes
// the answer (converted to JSON) and returns the text, so the live view and the one-shot
// commands share them and tests can read them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace qtc::cli {

/// The order of the actor table: what `top` sorts by (keys m, r, s, n).
enum class actor_order { mailbox, rate, slowest, name };

/// The supervision tree: each child with its state, restarts and meter, and the sessions.
std::string render_tree(const nlohmann::json& tree);

/// The actor table of `top`: one line per actor, sorted, at most `rows` lines (0: all).
std::string render_actors(const nlohmann::json& actors, actor_order order, std::size_t rows);

/// The peers table: id, address, direction, transport, post-quantum, ping, bytes, best height,
/// score (useful headers and blocks delivered; misbehaviour violations), state.
std::string render_peers(const nlohmann::json& peers);

/// The bans in force.
std::string render_bans(const nlohmann::json& bans);

/// Sync progress in one line plus the counters that matter.
std::string render_sync(const nlohmann::json& sync);

/// "1.2 KiB", "3.4 MiB": bytes for people.
std::string human_bytes(double bytes);

} // namespace qtc::cli
